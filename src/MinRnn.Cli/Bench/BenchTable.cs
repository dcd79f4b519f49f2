using System.Globalization;
using Spectre.Console;

namespace MinRnn.Cli.Bench;

/// <summary>Prints a <see cref="BenchReport"/> to stdout: the environment, then one table row per <see cref="BenchRow"/>.</summary>
internal static class BenchTable
{
    const int RedirectedWidth = 160; // Spectre assumes 80 columns when stdout is not a terminal

    public static void Write(BenchReport report)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Out) });
        if (Console.IsOutputRedirected) console.Profile.Width = RedirectedWidth;

        var env = report.Environment;
        var header = new Grid().AddColumn().AddColumn();
        header.AddRow("date", env.Date.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture));
        header.AddRow("cpu", Markup.Escape(env.Cpu));
        header.AddRow("threads", env.Threads.ToString(CultureInfo.InvariantCulture));
        header.AddRow("simd", $"{env.Simd} ({env.SimdLanes} floats)");
        header.AddRow(".net", Markup.Escape($"{env.DotNet}, {env.Os}"));
        header.AddRow("timing", $"median of {report.Repeat} runs after a warm-up");
        console.Write(header);

        string n = $"{env.Threads}t";
        var table = new Table().AddColumns(
            new TableColumn("group"), new TableColumn("kernel"), new TableColumn("M×N×K"),
            new TableColumn("GFLOP").RightAligned(),
            new TableColumn("1t ms").RightAligned(), new TableColumn("1t GFLOP/s").RightAligned(), new TableColumn("1t %peak").RightAligned(),
            new TableColumn($"{n} ms").RightAligned(), new TableColumn($"{n} GFLOP/s").RightAligned(), new TableColumn($"{n} %peak").RightAligned(),
            new TableColumn($"{n}/1t").RightAligned());

        string? group = null;
        foreach (var row in report.Rows)
        {
            table.AddRow(
                row.Group == group ? "" : Markup.Escape(row.Group), Markup.Escape(row.Name), Markup.Escape(row.Shape),
                Format(row.Gflop, "F2"),
                Format(row.OneThread.Milliseconds, "F1"), Format(row.OneThread.Gflops, "F1"), Format(row.OneThread.PercentOfPeak, "F0"),
                Format(row.AllThreads.Milliseconds, "F1"), Format(row.AllThreads.Gflops, "F1"), Format(row.AllThreads.PercentOfPeak, "F0"),
                Format(row.Speedup, "F2"));
            group = row.Group;
        }
        console.Write(table);
    }

    static string Format(double? value, string format) =>
        value is { } v ? v.ToString(format, CultureInfo.InvariantCulture) : "-";
}
