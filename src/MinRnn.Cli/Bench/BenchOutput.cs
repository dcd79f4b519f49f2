using System.Text.Json;
using Spectre.Console;

namespace MinRnn.Cli.Bench;

/// <summary>What the table-or-JSON benchmark commands print the same way.</summary>
internal static class BenchOutput
{
    /// <summary>Writes a table to standard output, wide enough not to wrap when the output is redirected.</summary>
    public static void Write(Table table, int redirectedWidth)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Out) });
        if (Console.IsOutputRedirected) console.Profile.Width = redirectedWidth;
        console.Write(table);
    }

    /// <summary>Starts the one JSON object on standard output with the machine: date, cpu, threads and the FMA peak.</summary>
    public static Utf8JsonWriter StartJson(BenchEnvironment env, double peakGflops)
    {
        var writer = StartJson(env);
        writer.WriteNumber("fma_peak_gflops", peakGflops);
        return writer;
    }

    /// <summary>
    /// Starts the one JSON object on standard output with the machine: date, cpu and threads. The terminal type is
    /// forgotten first: where standard output is a terminal (mpirun hands its ranks one, and forwards it wherever its own
    /// output goes, a file included) the console's first write would otherwise send the terminal's keypad escape sequence
    /// ahead of the JSON.
    /// </summary>
    public static Utf8JsonWriter StartJson(BenchEnvironment env)
    {
        Environment.SetEnvironmentVariable("TERM", null);
        var writer = new Utf8JsonWriter(Console.OpenStandardOutput(), new JsonWriterOptions { Indented = true });
        writer.WriteStartObject();
        writer.WriteString("date", env.Date);
        writer.WriteString("cpu", env.Cpu);
        writer.WriteNumber("threads", env.Threads);
        return writer;
    }

    /// <summary>Closes the object started by <see cref="StartJson"/> and ends the line.</summary>
    public static void EndJson(Utf8JsonWriter writer)
    {
        writer.WriteEndObject();
        writer.Flush();
        writer.Dispose();
        Console.WriteLine();
    }
}
