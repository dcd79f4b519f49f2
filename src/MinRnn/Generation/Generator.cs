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
public sealed class Generator
{
    readonly LanguageModel model;
    readonly Vocabulary vocabulary;
    readonly RecurrentState state;
    readonly Sampler[] samplers;
    readonly int[] next;
    readonly float[] logits;
    readonly Action<int, int> sampleRange;
    const int ParallelStreams = 8;
    StepWeights? weights;

    /// <summary>A generator of <paramref name="streams"/> streams; stream i samples with seed + i.</summary>
    public Generator(LanguageModel model, Vocabulary vocabulary, SamplingOptions sampling, ulong seed, int streams = 1)
    {
        if (vocabulary.Count != model.Config.VocabularySize)
            throw new ArgumentException($"Generator: the vocabulary has {vocabulary.Count} characters, the model {model.Config.VocabularySize}.");
        this.model = model;
        this.vocabulary = vocabulary;
        state = new RecurrentState(model.Config, streams);
        samplers = Enumerable.Range(0, streams).Select(i => new Sampler(sampling, vocabulary.Count, seed + (ulong)i)).ToArray();
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
        var tokens = vocabulary.Encode(prompt);
        if (tokens.Length == 0) throw new ArgumentException("Generator.Prefill: the prompt is empty.");
        int streams = state.Batch, t = tokens.Length, v = vocabulary.Count;
        state.Reset();
        var input = new int[streams * t];
        for (int s = 0; s < streams; s++) tokens.CopyTo(input, s * t);
        var promptLogits = model.Forward(input, streams, t, state: state);
        weights = model.PackForSteps();
        for (int s = 0; s < streams; s++) next[s] = samplers[s].Next(promptLogits.Slice(((s * t) + t - 1) * v, v));
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
