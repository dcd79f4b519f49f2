using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace MinRnn.Kernels;

/// <summary>The GEMM register tile: an 8 x (2 vectors) block of C kept in 16 accumulators.</summary>
internal static unsafe class GemmMicroKernel
{
    /// <summary>Rows of C per tile (the packed A micro-panel height).</summary>
    public const int Rows = 8;

    /// <summary>Columns of C per tile for a vector width: two vectors.</summary>
    public static int Columns<TOps, TV>() where TOps : struct, ISimd<TV> where TV : struct => 2 * TOps.Count;

    /// <summary>
    /// C[0..8, 0..2W] = init + sum over p &lt; kc of A[p][0..8] (x) B[p][0..2W], where A is a packed
    /// micro-panel (8 floats per p), B a packed panel (2W floats per p), and row r of init starts at
    /// init + r·initStride (C itself to accumulate, a bias row with stride 0, or null for zero).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run<TOps, TV>(int kc, float* a, float* b, float* c, int ldc, float* init, int initStride)
        where TOps : struct, ISimd<TV> where TV : struct
    {
        int w = TOps.Count;
        if (init == c && Sse.IsSupported)
        {
            // Accumulating into C (every K block after the first): its 8 rows, rarely still in cache after a
            // whole K block, start on their way while the loop runs instead of stalling the stores at the end.
            for (int r = 0; r < Rows; r++)
            {
                Sse.Prefetch0(c + (long)r * ldc);
                Sse.Prefetch0(c + (long)r * ldc + 2 * w - 1);
            }
        }
        TV c00 = TOps.Zero, c01 = TOps.Zero;
        TV c10 = TOps.Zero, c11 = TOps.Zero;
        TV c20 = TOps.Zero, c21 = TOps.Zero;
        TV c30 = TOps.Zero, c31 = TOps.Zero;
        TV c40 = TOps.Zero, c41 = TOps.Zero;
        TV c50 = TOps.Zero, c51 = TOps.Zero;
        TV c60 = TOps.Zero, c61 = TOps.Zero;
        TV c70 = TOps.Zero, c71 = TOps.Zero;
        for (int p = 0; p < kc; p++)
        {
            TV b0 = TOps.Load(b), b1 = TOps.Load(b + w), x;
            x = TOps.Broadcast(a[0]); c00 = TOps.Fma(x, b0, c00); c01 = TOps.Fma(x, b1, c01);
            x = TOps.Broadcast(a[1]); c10 = TOps.Fma(x, b0, c10); c11 = TOps.Fma(x, b1, c11);
            x = TOps.Broadcast(a[2]); c20 = TOps.Fma(x, b0, c20); c21 = TOps.Fma(x, b1, c21);
            x = TOps.Broadcast(a[3]); c30 = TOps.Fma(x, b0, c30); c31 = TOps.Fma(x, b1, c31);
            x = TOps.Broadcast(a[4]); c40 = TOps.Fma(x, b0, c40); c41 = TOps.Fma(x, b1, c41);
            x = TOps.Broadcast(a[5]); c50 = TOps.Fma(x, b0, c50); c51 = TOps.Fma(x, b1, c51);
            x = TOps.Broadcast(a[6]); c60 = TOps.Fma(x, b0, c60); c61 = TOps.Fma(x, b1, c61);
            x = TOps.Broadcast(a[7]); c70 = TOps.Fma(x, b0, c70); c71 = TOps.Fma(x, b1, c71);
            a += Rows;
            b += 2 * w;
        }
        StoreRow<TOps, TV>(c + 0 * ldc, c00, c01, init == null ? null : init + 0 * initStride);
        StoreRow<TOps, TV>(c + 1 * ldc, c10, c11, init == null ? null : init + 1 * initStride);
        StoreRow<TOps, TV>(c + 2 * ldc, c20, c21, init == null ? null : init + 2 * initStride);
        StoreRow<TOps, TV>(c + 3 * ldc, c30, c31, init == null ? null : init + 3 * initStride);
        StoreRow<TOps, TV>(c + 4 * ldc, c40, c41, init == null ? null : init + 4 * initStride);
        StoreRow<TOps, TV>(c + 5 * ldc, c50, c51, init == null ? null : init + 5 * initStride);
        StoreRow<TOps, TV>(c + 6 * ldc, c60, c61, init == null ? null : init + 6 * initStride);
        StoreRow<TOps, TV>(c + 7 * ldc, c70, c71, init == null ? null : init + 7 * initStride);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void StoreRow<TOps, TV>(float* c, TV v0, TV v1, float* init) where TOps : struct, ISimd<TV> where TV : struct
    {
        int w = TOps.Count;
        if (init != null)
        {
            v0 = TOps.Add(v0, TOps.Load(init));
            v1 = TOps.Add(v1, TOps.Load(init + w));
        }
        TOps.Store(c, v0);
        TOps.Store(c + w, v1);
    }
}
