using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MinRnn.Kernels;

/// <summary>dst[j * dstStride + i] = src[i * srcStride + j] for an 8 x 8 block: the core of GEMM packing.</summary>
internal static unsafe class Transpose8x8
{
    /// <summary>Whether <see cref="Run(float*, long, float*, long)"/> takes the AVX path on this thread (at a forced narrower width it does not).</summary>
    public static bool Vectorised => Avx.IsSupported && Simd.Width >= SimdWidth.Bits256;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Run(float* src, long srcStride, float* dst, long dstStride) => Run(src, srcStride, dst, dstStride, Vectorised);

    /// <summary>The transpose with the choice of path made by the caller, once for many blocks: <paramref name="vectorised"/> is <see cref="Vectorised"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Run(float* src, long srcStride, float* dst, long dstStride, bool vectorised)
    {
        if (vectorised && Avx.IsSupported)
        {
            // Interleave pairs of rows, then pairs of pairs, then swap the 128-bit halves.
            Vector256<float> r0 = Avx.LoadVector256(src), r1 = Avx.LoadVector256(src + srcStride),
                r2 = Avx.LoadVector256(src + 2 * srcStride), r3 = Avx.LoadVector256(src + 3 * srcStride),
                r4 = Avx.LoadVector256(src + 4 * srcStride), r5 = Avx.LoadVector256(src + 5 * srcStride),
                r6 = Avx.LoadVector256(src + 6 * srcStride), r7 = Avx.LoadVector256(src + 7 * srcStride);
            Vector256<float> t0 = Avx.UnpackLow(r0, r1), t1 = Avx.UnpackHigh(r0, r1), t2 = Avx.UnpackLow(r2, r3), t3 = Avx.UnpackHigh(r2, r3),
                t4 = Avx.UnpackLow(r4, r5), t5 = Avx.UnpackHigh(r4, r5), t6 = Avx.UnpackLow(r6, r7), t7 = Avx.UnpackHigh(r6, r7);
            Vector256<float> s0 = Avx.Shuffle(t0, t2, 0x44), s1 = Avx.Shuffle(t0, t2, 0xEE), s2 = Avx.Shuffle(t1, t3, 0x44), s3 = Avx.Shuffle(t1, t3, 0xEE),
                s4 = Avx.Shuffle(t4, t6, 0x44), s5 = Avx.Shuffle(t4, t6, 0xEE), s6 = Avx.Shuffle(t5, t7, 0x44), s7 = Avx.Shuffle(t5, t7, 0xEE);
            Avx.Store(dst, Avx.Permute2x128(s0, s4, 0x20));
            Avx.Store(dst + dstStride, Avx.Permute2x128(s1, s5, 0x20));
            Avx.Store(dst + 2 * dstStride, Avx.Permute2x128(s2, s6, 0x20));
            Avx.Store(dst + 3 * dstStride, Avx.Permute2x128(s3, s7, 0x20));
            Avx.Store(dst + 4 * dstStride, Avx.Permute2x128(s0, s4, 0x31));
            Avx.Store(dst + 5 * dstStride, Avx.Permute2x128(s1, s5, 0x31));
            Avx.Store(dst + 6 * dstStride, Avx.Permute2x128(s2, s6, 0x31));
            Avx.Store(dst + 7 * dstStride, Avx.Permute2x128(s3, s7, 0x31));
            return;
        }
        for (int i = 0; i < 8; i++)
        for (int j = 0; j < 8; j++)
            dst[j * dstStride + i] = src[i * srcStride + j];
    }
}
