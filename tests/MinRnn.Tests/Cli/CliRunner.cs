using System.Diagnostics;

namespace MinRnn.Tests.Cli;

/// <summary>Runs the built <c>minrnn</c> tool as a separate process, as a user would.</summary>
internal static class CliRunner
{
    static readonly string Tool = Path.Combine(AppContext.BaseDirectory, "minrnn.dll");

    public sealed record Result(int ExitCode, string Output, string Error);

    public static Result Run(params string[] args)
    {
        using var process = Start(args);
        return Finish(process, process.StandardOutput.ReadToEndAsync(), process.StandardError.ReadToEndAsync());
    }

    /// <summary>Starts the tool with stdout and stderr redirected, for a test that signals or kills it while it runs.</summary>
    public static Process Start(params string[] args) => Start(Command(args));

    /// <summary>Starts <paramref name="start"/> (made by <see cref="Command"/>, perhaps changed) with its output redirected.</summary>
    public static Process Start(ProcessStartInfo start)
    {
        start.RedirectStandardOutput = start.RedirectStandardError = true;
        start.UseShellExecute = false;
        return Process.Start(start)!;
    }

    /// <summary>The command line that runs the tool with <paramref name="args"/>, without a download cache.</summary>
    public static ProcessStartInfo Command(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet");
        start.ArgumentList.Add(Tool);
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment["MINRNN_CACHE"] = Path.Combine(Path.GetTempPath(), "minrnn-test-cache-absent");
        return start;
    }

    /// <summary>
    /// Ends <paramref name="process"/> (and its children) when disposed if it is still running, so that a test that
    /// fails half-way leaves no tool behind: a server, say, that only a signal would stop.
    /// </summary>
    public static IDisposable KillWhenDone(Process process) => new Killer(process);

    sealed class Killer(Process process) : IDisposable
    {
        public void Dispose()
        {
            try
            {
                if (!process.HasExited) process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // It ended between the check and the kill.
            }
        }
    }

    /// <summary>Waits for a started tool to end and collects what it wrote.</summary>
    public static Result Finish(Process process, Task<string> output, Task<string> error)
    {
        if (!process.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail("minrnn did not finish in 3 minutes.");
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
