namespace MinRnn.Cli.Serving;

/// <summary>
/// Holds back generated text that could still become a stop sequence, so that a stop sequence never reaches the client
/// (OpenAI's semantics: the text ends before it). Feed it each character; it says what may be sent and whether a stop
/// sequence has just been completed.
/// </summary>
internal sealed class StopSequences(IReadOnlyList<string> stops)
{
    readonly System.Text.StringBuilder pending = new();

    /// <summary>
    /// Appends <paramref name="text"/> and returns the text that can be released now. When the pending text ends with a
    /// stop sequence, <paramref name="stopped"/> is set and what precedes the sequence is released.
    /// </summary>
    public string Append(string text, out bool stopped)
    {
        pending.Append(text);
        string current = pending.ToString();
        foreach (string stop in stops)
        {
            int at = current.IndexOf(stop, StringComparison.Ordinal);
            if (at < 0) continue;
            stopped = true;
            pending.Clear();
            return current[..at];
        }
        stopped = false;
        int held = LongestHeldSuffix(current);
        pending.Remove(0, current.Length - held);
        return current[..^held];
    }

    /// <summary>The text still held back (released when the stream ends for another reason).</summary>
    public string Flush()
    {
        string rest = pending.ToString();
        pending.Clear();
        return rest;
    }

    /// <summary>The length of the longest suffix of <paramref name="text"/> that is a proper prefix of a stop sequence.</summary>
    int LongestHeldSuffix(string text)
    {
        int longest = 0;
        foreach (string stop in stops)
            for (int length = Math.Min(stop.Length - 1, text.Length); length > longest; length--)
                if (text.AsSpan(text.Length - length).SequenceEqual(stop.AsSpan(0, length))) { longest = length; break; }
        return longest;
    }
}
