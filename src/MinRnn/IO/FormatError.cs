using System.Text;

namespace MinRnn.IO;

/// <summary>
/// Builds the <see cref="InvalidDataException"/> thrown for a malformed checkpoint, or one that does not match what the
/// caller expects. (<see cref="InvalidDataException"/> is sealed, so there is no subclass.) The message is one line: the
/// file's name, a colon, and the problem.
/// </summary>
internal static class FormatError
{
    /// <summary>Longest stretch of file-controlled text (a tensor name, a metadata key) quoted in a message.</summary>
    private const int MaxQuotedLength = 80;

    /// <summary>The exception for <paramref name="problem"/> in <paramref name="fileName"/>.</summary>
    public static InvalidDataException Create(string fileName, string problem, Exception? innerException = null) =>
        new(OneLine($"{fileName}: {problem}"), innerException);

    /// <summary>
    /// Quotes text taken from a file for use in a message, shortened so that a hostile megabyte-long name
    /// cannot flood a log line.
    /// </summary>
    public static string Quote(string text) =>
        text.Length <= MaxQuotedLength ? $"'{text}'" : $"'{text[..MaxQuotedLength]}...' ({text.Length} characters)";

    /// <summary>Escapes control characters, which may come from the file or from a parser's message, so the message stays on one line.</summary>
    private static string OneLine(string text)
    {
        if (!text.Any(char.IsControl)) return text;
        var builder = new StringBuilder(text.Length + 16);
        foreach (char c in text)
            if (char.IsControl(c)) builder.Append($"\\u{(int)c:X4}");
            else builder.Append(c);
        return builder.ToString();
    }
}
