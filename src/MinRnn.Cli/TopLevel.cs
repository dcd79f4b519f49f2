using System.CommandLine;
using System.CommandLine.Invocation;

namespace MinRnn.Cli;

/// <summary>
/// Runs the parsed command line and turns every failure into one line on stderr,
/// <c>minrnn: error: message</c>, without a stack trace: exit code 2 for usage errors (anything the
/// parser or an option's validator rejects, and <see cref="UsageException"/>), 1 for an exception while a command runs.
/// </summary>
internal static class TopLevel
{
    public const int UsageError = 2;
    public const int RuntimeError = 1;

    public static int Invoke(RootCommand root, string[] args)
    {
        try
        {
            var parsed = root.Parse(args);
            if (parsed.Action is ParseErrorAction)
                return Fail($"{string.Join(' ', parsed.Errors.Select(e => e.Message))} See 'minrnn --help'.", UsageError);
            var configuration = new InvocationConfiguration { EnableDefaultExceptionHandler = false };
            // Training handles SIGINT and SIGTERM itself (StopSignal) and needs as long as its last save takes;
            // System.CommandLine would end the process two seconds after the signal, perhaps in the middle of it.
            // serve stops through the host's own handling of the same signals.
            if (parsed.CommandResult.Command.Name is "train" or "serve") configuration.ProcessTerminationTimeout = null;
            return parsed.Invoke(configuration);
        }
        catch (Exception e)
        {
            return Report(e);
        }
    }

    /// <summary>Writes <paramref name="e"/> as the one error line and returns its exit code.</summary>
    public static int Report(Exception e) =>
        e is UsageException ? Fail($"{e.Message} See 'minrnn --help'.", UsageError) : Fail(e.Message, RuntimeError);

    static int Fail(string message, int exitCode)
    {
        string oneLine = string.Join(' ', message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Console.Error.WriteLine($"minrnn: error: {oneLine}");
        return exitCode;
    }
}
