namespace MinRnn.Cli;

/// <summary>A command line that parsed but makes no sense (an invalid value, contradictory flags): exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);
