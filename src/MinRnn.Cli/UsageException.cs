namespace MinRnn.Cli;

/// <summary>The command line asked for something impossible; reported with exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);
