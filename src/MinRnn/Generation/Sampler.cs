using MinRnn.Data;

namespace MinRnn.Generation;

/// <summary>
/// Draws a token from logits: greedy at temperature 0, else from softmax(logits / T) restricted to
/// the top-k and then the top-p (nucleus) set, renormalised. Randomness comes from a seeded
/// generator, so the same seed gives the same text.
/// </summary>
internal sealed class Sampler
{
    readonly SamplingOptions options;
    readonly int[] order;
    readonly float[] keys;
    readonly double[] probabilities;
    SplitMix64 random;

    /// <summary>A sampler for a vocabulary of <paramref name="vocabulary"/> tokens.</summary>
    public Sampler(SamplingOptions options, int vocabulary, ulong seed)
    {
        this.options = options.Validated();
        order = new int[vocabulary];
        keys = new float[vocabulary];
        probabilities = new double[vocabulary];
        random = new SplitMix64(seed);
    }

    /// <summary>The token drawn from <paramref name="logits"/> (one row of the vocabulary's size).</summary>
    public int Next(ReadOnlySpan<float> logits)
    {
        int v = order.Length;
        if (logits.Length != v) throw new ArgumentException($"Sampler.Next: logits have {logits.Length} entries, the vocabulary {v}.");
        if (options.Temperature == 0 || options.TopK == 1) return ArgMax(logits);

        int kept = options.TopK > 0 ? Math.Min(options.TopK, v) : v;
        bool truncated = kept < v || options.TopP < 1;
        // Most likely first when the set is truncated: sort the ids by -logit (no allocation; the order is
        // a pure function of the logits). The whole vocabulary is drawn from in id order, unsorted.
        for (int i = 0; i < v; i++) order[i] = i;
        if (truncated)
        {
            for (int i = 0; i < v; i++) keys[i] = -logits[i];
            Array.Sort(keys, order);
        }
        double max = truncated ? logits[order[0]] : Max(logits), sum = 0;
        for (int r = 0; r < kept; r++) sum += probabilities[r] = Math.Exp((logits[order[r]] - max) / options.Temperature);
        if (options.TopP < 1)
        {
            double cumulative = 0;
            for (int r = 0; r < kept; r++)
            {
                cumulative += probabilities[r] / sum;
                if (cumulative >= options.TopP) { kept = r + 1; break; }
            }
            sum = 0;
            for (int r = 0; r < kept; r++) sum += probabilities[r];
        }
        double u = NextUniform() * sum;
        for (int r = 0; r < kept - 1; r++)
        {
            u -= probabilities[r];
            if (u < 0) return order[r];
        }
        return order[kept - 1];
    }

    static float Max(ReadOnlySpan<float> logits)
    {
        float max = logits[0];
        foreach (float x in logits) max = Math.Max(max, x);
        return max;
    }

    static int ArgMax(ReadOnlySpan<float> logits)
    {
        int best = 0;
        for (int i = 1; i < logits.Length; i++) if (logits[i] > logits[best]) best = i;
        return best;
    }

    /// <summary>A uniform double in [0, 1): the top 53 random bits.</summary>
    double NextUniform() => (random.NextUInt64() >> 11) * (1.0 / (1UL << 53));
}
