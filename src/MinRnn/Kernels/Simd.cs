using System.Runtime.Intrinsics;

namespace MinRnn.Kernels;

/// <summary>
/// Chooses the vector width at run time: the widest the processor accelerates, unless
/// <see cref="Force"/> pins a narrower one (tests use it to cover machines without AVX-512).
/// </summary>
internal static class Simd
{
    [ThreadStatic] static SimdWidth? forced;

    /// <summary>The widest width this processor runs in hardware.</summary>
    public static SimdWidth Best { get; } =
        Vector512.IsHardwareAccelerated ? SimdWidth.Bits512 :
        Vector256.IsHardwareAccelerated ? SimdWidth.Bits256 :
        Vector128.IsHardwareAccelerated ? SimdWidth.Bits128 : SimdWidth.Scalar;

    /// <summary>The width kernels called from this thread use now.</summary>
    public static SimdWidth Width => forced ?? Best;

    /// <summary>
    /// Pins the kernels called from this thread to <paramref name="width"/> until the returned handle
    /// is disposed. A width wider than the hardware supports is refused.
    /// </summary>
    public static IDisposable Force(SimdWidth width)
    {
        if ((int)width > (int)Best)
            throw new NotSupportedException($"Simd.Force: {width} is wider than this processor supports ({Best}).");
        var previous = forced;
        forced = width;
        return new Restore(previous);
    }

    sealed class Restore(SimdWidth? previous) : IDisposable
    {
        public void Dispose() => forced = previous;
    }
}
