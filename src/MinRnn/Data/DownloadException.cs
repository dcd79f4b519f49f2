namespace MinRnn;

/// <summary>A dataset could not be fetched or failed verification; the message is one line, ready for the user.</summary>
/// <param name="message">What went wrong and what to do instead.</param>
/// <param name="inner">The underlying failure, if any.</param>
public sealed class DownloadException(string message, Exception? inner = null) : IOException(message, inner);
