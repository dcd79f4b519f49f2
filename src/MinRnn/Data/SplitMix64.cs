using MinRnn.Kernels;

namespace MinRnn.Data;

/// <summary>
/// Steele, Lea and Flood's SplitMix64 (2014): a 64-bit counter advanced by the golden-ratio increment
/// and passed through the bijective finaliser of <see cref="CounterRandom"/>. Its whole state is one <see cref="ulong"/>, so saving
/// and restoring <see cref="State"/> resumes the exact sequence; every seed, 0 included, is valid.
/// </summary>
/// <param name="state">The initial state, usually the seed.</param>
internal struct SplitMix64(ulong state)
{
    /// <summary>The generator's complete state.</summary>
    public ulong State { readonly get; set; } = state;

    /// <summary>The next 64 random bits.</summary>
    public ulong NextUInt64() => CounterRandom.Mix(State += CounterRandom.Golden);

    /// <summary>
    /// A uniform integer in [0, <paramref name="bound"/>) by Lemire's multiply-and-reject (2019): the high
    /// word of x · bound, redrawing while the low word falls below 2^64 mod bound, which removes the bias.
    /// </summary>
    public int NextInt(int bound)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bound);
        ulong b = (ulong)bound;
        ulong high = Math.BigMul(NextUInt64(), b, out ulong low);
        if (low < b)
        {
            ulong threshold = (0 - b) % b; // 2^64 mod b
            while (low < threshold) high = Math.BigMul(NextUInt64(), b, out low);
        }
        return (int)high;
    }
}
