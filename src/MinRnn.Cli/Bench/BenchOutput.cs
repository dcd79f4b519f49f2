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

    /// <summary>Starts the one JSON object on standard output with the machine: date, cpu and threads.</summary>
    public static Utf8JsonWriter StartJson(BenchEnvironment env)
    {
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
