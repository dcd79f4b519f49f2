using MinRnn.Data;
using MinRnn.Kernels;
using MinRnn.Model;

namespace MinRnn.Generation;

/// <summary>
/// Generates text from a model with O(1) state per character: the prompt is read in one parallel
/// forward (prefill), then each new character is one forward step of length 1 from the carried
/// <see cref="RecurrentState"/>, with the weights packed at the prefill for products of one row per
/// stream. Several independent streams run as one batch.
/// </summary>
internal sealed class Generator
{
    readonly LanguageModel model;
    readonly Vocabulary vocabulary;
    readonly RecurrentState state;
    readonly Sampler[] samplers;
    readonly int[] next;
    readonly float[] logits;
    readonly Action<int, int> sampleRange;
    const int ParallelStreams = 8;
    readonly bool oneRowOnTeam;
    StepWeights? weights;

    /// <summary>
    /// A generator of <paramref name="streams"/> streams; stream i samples with <see cref="SamplingOptions.Seed"/> + i.
    /// <paramref name="oneRowOnTeam"/>: a step of one stream splits its products between the team's threads (see
    /// <see cref="LanguageModel.PackForSteps"/>); give false where the cores also serve other work. The text is the same either way.
    /// </summary>
    public Generator(LanguageModel model, Vocabulary vocabulary, SamplingOptions sampling, int streams = 1, bool oneRowOnTeam = true)
    {
        if (vocabulary.Count != model.Config.VocabularySize)
            throw new ArgumentException($"Generator: the vocabulary has {vocabulary.Count} characters, the model {model.Config.VocabularySize}.");
        this.model = model;
        this.vocabulary = vocabulary;
        this.oneRowOnTeam = oneRowOnTeam;
        state = new RecurrentState(model.Config, streams);
        samplers = Enumerable.Range(0, streams).Select(i => new Sampler(sampling, vocabulary.Count, sampling.Seed + (ulong)i)).ToArray();
        next = new int[streams];
        logits = new float[streams * vocabulary.Count];
        sampleRange = SampleRange;
    }

    /// <summary>The recurrent state: its size does not change as text is generated.</summary>
    public RecurrentState State => state;

    /// <summary>
    /// Reads <paramref name="prompt"/> (the same prompt for every stream; at least one character) and
    /// samples each stream's first character. Takes the model's weights as they are now: steps use them
    /// until the next prefill.
    /// </summary>
    /// <exception cref="ArgumentException">The prompt is empty or has characters outside the vocabulary (named).</exception>
    public void Prefill(string prompt)
    {
        var tokens = Encode(prompt);
        int streams = state.Batch, t = tokens.Length, v = vocabulary.Count;
        state.Reset();
        var input = new int[streams * t];
        for (int s = 0; s < streams; s++) tokens.CopyTo(input, s * t);
        var promptLogits = model.Forward(input, streams, t, state: state);
        weights = model.PackForSteps(oneRowOnTeam);
        for (int s = 0; s < streams; s++) next[s] = samplers[s].Next(promptLogits.Slice(((s * t) + t - 1) * v, v));
    }

    /// <summary>
    /// Reads one prompt per stream (each of at least one character), each in a forward of its own since their
    /// lengths differ, and samples each stream's first character. Equal prompts take <see cref="Prefill(string)"/>'s one batched forward.
    /// </summary>
    /// <exception cref="ArgumentException">There is not one prompt per stream, or a prompt is empty or has characters
    /// outside the vocabulary (named, with the prompt's index).</exception>
    public void Prefill(IReadOnlyList<string> prompts)
    {
        if (prompts.Count != state.Batch) throw new ArgumentException($"Generator.Prefill: {prompts.Count} prompts for {state.Batch} streams.");
        if (prompts.All(p => p == prompts[0]))
        {
            Prefill(prompts[0]);
            return;
        }
        var encoded = prompts.Select((p, i) => Encode(p, $"prompt {i}: ")).ToArray();
        var single = new RecurrentState(model.Config, 1);
        int v = vocabulary.Count;
        for (int s = 0; s < encoded.Length; s++)
        {
            single.Reset();
            int t = encoded[s].Length;
            var promptLogits = model.Forward(encoded[s], 1, t, state: single);
            next[s] = samplers[s].Next(promptLogits.Slice((t - 1) * v, v));
            state.CopyStream(s, single);
        }
        weights = model.PackForSteps(oneRowOnTeam);
    }

    int[] Encode(string prompt, string which = "")
    {
        var tokens = vocabulary.Encode(prompt);
        if (tokens.Length == 0) throw new ArgumentException($"Generator.Prefill: {which}the prompt is empty.");
        return tokens;
    }

    /// <summary>
    /// Emits the characters sampled last (one per stream, into <paramref name="characters"/>), then
    /// advances every stream by one step and samples the next ones.
    /// </summary>
    /// <exception cref="InvalidOperationException">No prompt has been read yet.</exception>
    public void Step(Span<string> characters)
    {
        if (weights is null) throw new InvalidOperationException("Generator.Step: call Prefill first.");
        for (int s = 0; s < next.Length; s++) characters[s] = vocabulary[next[s]].ToString();
        model.Step(next, state, weights).CopyTo(logits);
        // Each stream draws from its own sampler, so the streams can be split between threads.
        if (next.Length >= ParallelStreams) Parallelism.For(next.Length, sampleRange);
        else SampleRange(0, next.Length);
    }

    void SampleRange(int first, int end)
    {
        int v = vocabulary.Count;
        for (int s = first; s < end; s++) next[s] = samplers[s].Next(logits.AsSpan(s * v, v));
    }

    /// <summary>Streams <paramref name="length"/> characters of stream 0 after <paramref name="prompt"/>, as they are produced.</summary>
    public IEnumerable<string> Generate(string prompt, int length, CancellationToken cancellation = default)
    {
        if (length < 0) throw new ArgumentException($"--length must be 0 or more, got {length}.");
        if (length == 0) yield break;
        Prefill(prompt);
        var characters = new string[state.Batch];
        for (int i = 0; i < length; i++)
        {
            cancellation.ThrowIfCancellationRequested();
            Step(characters);
            yield return characters[0];
        }
    }
}
