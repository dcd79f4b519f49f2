using System.Runtime.InteropServices;

namespace MinRnn.Cli.Training;

/// <summary>
/// Turns the first Ctrl+C (SIGINT) or SIGTERM into a request that the training loop polls between steps, so that the
/// step under way finishes and the run is saved before the process exits. A second signal is left to its default
/// action and ends the process at once, for someone who does not want to wait for the save.
/// </summary>
internal sealed class StopSignal : IDisposable
{
    readonly PosixSignalRegistration[] registrations;
    volatile string? requested;
    int exitCode;

    public StopSignal() =>
        registrations = [PosixSignalRegistration.Create(PosixSignal.SIGINT, Handle), PosixSignalRegistration.Create(PosixSignal.SIGTERM, Handle)];

    /// <summary>The name of the signal that asked the run to stop ("SIGINT", "SIGTERM"), or null while none has.</summary>
    public string? Requested => requested;

    /// <summary>The exit code of a process ended by that signal, 128 + its number, as shells report it.</summary>
    public int ExitCode => exitCode;

    void Handle(PosixSignalContext context)
    {
        if (requested is not null) return;
        context.Cancel = true;
        exitCode = context.Signal == PosixSignal.SIGINT ? 128 + 2 : 128 + 15;
        requested = context.Signal == PosixSignal.SIGINT ? "SIGINT" : "SIGTERM";
    }

    public void Dispose()
    {
        foreach (var registration in registrations) registration.Dispose();
    }
}
