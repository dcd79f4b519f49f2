namespace MinRnn.Cli.Serving;

/// <summary>
/// A validated request for text: what <c>/v1/completions</c> and <c>/v1/chat/completions</c> both come down to.
/// Prompt i, sample j is choice i·N + j, sampled with seed Seed + i·N + j.
/// </summary>
/// <param name="Model">The model that serves it.</param>
/// <param name="Prompts">The prompts as text (for echo) and as token ids.</param>
/// <param name="N">Samples per prompt.</param>
/// <param name="MaxTokens">Characters to generate at most per sample.</param>
/// <param name="Sampling">Temperature, top-k, top-p and the seed of choice 0.</param>
/// <param name="Stops">Sequences that end a sample; they are not part of its text.</param>
/// <param name="Logprobs">How many of the most likely characters to report with their log-probabilities (0: none).</param>
/// <param name="Echo">Whether each choice's text starts with its prompt.</param>
internal sealed record GenerationRequest(ServedModel Model, IReadOnlyList<(string Text, int[] Tokens)> Prompts, int N, int MaxTokens,
    SamplingOptions Sampling, IReadOnlyList<string> Stops, int Logprobs, bool Echo)
{
    /// <summary>How many streams the request runs: one per prompt and sample.</summary>
    public int Streams => Prompts.Count * N;

    /// <summary>Characters of the prompts, as usage counts them.</summary>
    public int PromptTokens => Prompts.Sum(p => p.Tokens.Length);
}
