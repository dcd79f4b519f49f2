using System.Runtime.Intrinsics;

namespace MinRnn.Kernels;

/// <summary>
/// A counter-based random number generator: every value is a pure function of (seed, index), a
/// SplitMix64 hash, so any element of a stream can be produced on its own, in any order, by any
/// thread, and a result never depends on how work was split. Seed 0 gives the plain SplitMix64
/// sequence; other seeds are mixed first so that nearby seeds give unrelated streams.
/// </summary>
internal static class CounterRandom
{
    internal const ulong Golden = 0x9E3779B97F4A7C15; // 2^64 / golden ratio, the SplitMix64 increment

    /// <summary>64 random bits for element <paramref name="index"/> of stream <paramref name="seed"/>.</summary>
    public static ulong Bits(ulong seed, long index) => Mix(Mix(seed) + ((ulong)index + 1) * Golden);

    /// <summary>A uniform float in [0, 1): the top 24 bits of <see cref="Bits"/> times 2^-24, so every value is exact.</summary>
    public static float Uniform(ulong seed, long index) => (Bits(seed, index) >> 40) * (1f / (1 << 24));

    /// <summary>
    /// A standard normal float by Box–Muller, z = sqrt(-2 ln u1) cos(2π u2), with u1 in (0, 1] and
    /// u2 in [0, 1) taken from the two 32-bit halves of <see cref="Bits"/> (|z| &lt;= 6.7).
    /// </summary>
    public static float Normal(ulong seed, long index)
    {
        ulong bits = Bits(seed, index);
        double u1 = ((bits >> 32) + 1) * (1.0 / 4294967296.0);
        double u2 = (uint)bits * (1.0 / 4294967296.0);
        return (float)(Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
    }

    /// <summary>destination[i] = low + (high - low) · <see cref="Uniform"/>(seed, i).</summary>
    public static void FillUniform(Span<float> destination, ulong seed, float low, float high)
    {
        for (int i = 0; i < destination.Length; i++) destination[i] = low + (high - low) * Uniform(seed, i);
    }

    /// <summary>destination[i] = mean + standardDeviation · <see cref="Normal"/>(seed, i).</summary>
    public static void FillNormal(Span<float> destination, ulong seed, float mean, float standardDeviation)
    {
        for (int i = 0; i < destination.Length; i++) destination[i] = mean + standardDeviation * Normal(seed, i);
    }

    const ulong Multiplier1 = 0xBF58476D1CE4E5B9, Multiplier2 = 0x94D049BB133111EB;

    /// <summary>The SplitMix64 finaliser (Stafford's Mix13): a bijection of 64-bit words.</summary>
    internal static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * Multiplier1;
        z = (z ^ (z >> 27)) * Multiplier2;
        return z ^ (z >> 31);
    }

    /// <summary><see cref="Mix(ulong)"/> on 8 lanes at once.</summary>
    internal static Vector512<ulong> Mix(Vector512<ulong> z)
    {
        z = (z ^ (z >>> 30)) * Vector512.Create(Multiplier1);
        z = (z ^ (z >>> 27)) * Vector512.Create(Multiplier2);
        return z ^ (z >>> 31);
    }
}
