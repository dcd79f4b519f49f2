using System.Diagnostics;

namespace MinRnn.Tests.Cli;

/// <summary>Runs the built <c>minrnn</c> tool as a separate process, as a user would.</summary>
internal static class CliRunner
{
    static readonly string Tool = Path.Combine(AppContext.BaseDirectory, "minrnn.dll");

    public sealed record Result(int ExitCode, string Output, string Error);

    public static Result Run(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Tool);
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment["MINRNN_CACHE"] = Path.Combine(Path.GetTempPath(), "minrnn-test-cache-absent");
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"minrnn {string.Join(' ', args)} did not finish in 3 minutes.");
        }
        return new Result(process.ExitCode, output.Result, error.Result);
    }

    /// <summary>Asserts a failure reported as exactly one "minrnn: error:" line on stderr containing <paramref name="fragment"/>.</summary>
    public static void AssertOneLineError(Result result, int exitCode, string fragment)
    {
        var lines = result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(result.ExitCode == exitCode, $"exit code {result.ExitCode}, expected {exitCode}; stderr: {result.Error}");
        Assert.True(lines.Length == 1, $"expected one line on stderr, got: {result.Error}");
        Assert.StartsWith("minrnn: error: ", lines[0]);
        Assert.Contains(fragment, lines[0]);
    }
}
