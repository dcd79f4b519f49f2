using System.CommandLine;
using MinRnn.Cli;
using MinRnn.Cli.Commands;

var root = new RootCommand("minGRU and minLSTM character language models in pure .NET.");
root.Subcommands.Add(TrainCommand.Create());
root.Subcommands.Add(EvalCommand.Create());
root.Subcommands.Add(GenerateCommand.Create());
root.Subcommands.Add(ServeCommand.Create());
root.Subcommands.Add(BenchCommand.Create());
return TopLevel.Invoke(root, args);
