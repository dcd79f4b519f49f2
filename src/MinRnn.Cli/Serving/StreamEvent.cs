namespace MinRnn.Cli.Serving;

/// <summary>One character's log-probability and the most likely alternatives at its position (natural log).</summary>
/// <param name="Token">The character.</param>
/// <param name="Logprob">Its log-probability under the model (softmax of the logits, before temperature).</param>
/// <param name="Top">The most likely characters and their log-probabilities, most likely first; null at a text's first character.</param>
/// <param name="Offset">Its offset in the choice's text, in UTF-16 units.</param>
internal sealed record TokenLogprob(string Token, double? Logprob, IReadOnlyList<KeyValuePair<string, double>>? Top, int Offset);

/// <summary>What a stream hands to the response that reads it: text, perhaps with log-probabilities, then once a finish reason.</summary>
/// <param name="Choice">The choice the text belongs to.</param>
/// <param name="Text">Text to append (may be empty).</param>
/// <param name="Logprobs">Log-probabilities of the characters of <paramref name="Text"/> when they were asked for.</param>
/// <param name="FinishReason">"stop" or "length" on the stream's last event (<see cref="Failed"/> when the model failed), else null.</param>
internal sealed record StreamEvent(int Choice, string Text, IReadOnlyList<TokenLogprob>? Logprobs, string? FinishReason)
{
    /// <summary>The finish reason of a stream the model failed on: never sent to a client as such.</summary>
    public const string Failed = "failed";
}
