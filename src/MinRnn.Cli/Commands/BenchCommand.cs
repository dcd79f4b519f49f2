using System.CommandLine;

namespace MinRnn.Cli.Commands;

/// <summary><c>minrnn bench</c>: the group of performance measurements.</summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var command = new Command("bench", "Measure the speed of the engine on this machine.");
        command.Subcommands.Add(BenchKernelsCommand.Create());
        command.Subcommands.Add(BenchTrainCommand.Create());
        command.Subcommands.Add(BenchGenerateCommand.Create());
        command.Subcommands.Add(BenchScalingCommand.Create());
        command.Subcommands.Add(BenchServeCommand.Create());
        command.Subcommands.Add(BenchAllReduceCommand.Create());
        return command;
    }
}
