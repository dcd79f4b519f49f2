using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace MinRnn.Kernels;

/// <summary>
/// Measures the floating-point peak this machine reaches in practice: 12 independent chains of
/// fused multiply-adds at the kernels' vector width (<see cref="Simd.Width"/>), registers only, no
/// memory traffic. Enough chains to cover the FMA latency on every port, so the result is the
/// ceiling a compute-bound kernel such as <see cref="Gemm"/> can be compared against.
/// </summary>
internal static class FmaPeak
{
    const int Chains = 12;
    const int IterationsPerCheck = 4096; // FMAs between two looks at the clock: a few microseconds

    /// <summary>
    /// Runs the FMA chains on <paramref name="threads"/> threads of the team at once for about
    /// <paramref name="duration"/> and returns the GFLOP/s of all of them together
    /// (2 flops per lane per FMA, each thread's rate summed).
    /// </summary>
    /// <param name="threads">How many threads run the loop; at most <see cref="Parallelism.Threads"/>.</param>
    /// <param name="duration">How long each thread runs; longer gives a steadier number.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="threads"/> is not between 1 and
    /// <see cref="Parallelism.Threads"/>, or <paramref name="duration"/> is not positive.</exception>
    public static double MeasureGflops(int threads, TimeSpan duration)
    {
        if (threads < 1 || threads > Parallelism.Threads)
            throw new ArgumentOutOfRangeException(nameof(threads), threads,
                $"FmaPeak: the thread count must be between 1 and Parallelism.Threads ({Parallelism.Threads}).");
        if (duration <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(duration), duration, "FmaPeak: the duration must be positive.");

        var width = Simd.Width;
        long ticks = (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var rates = new double[threads];
        Action<WorkerContext> body = ctx =>
        {
            if (ctx.Index >= threads) return;
            rates[ctx.Index] = width switch
            {
                SimdWidth.Bits512 => Run<Simd512, Vector512<float>>(ticks),
                SimdWidth.Bits256 => Run<Simd256, Vector256<float>>(ticks),
                SimdWidth.Bits128 => Run<Simd128, Vector128<float>>(ticks),
                _ => Run<SimdScalar, float>(ticks),
            };
        };
        if (threads == 1) body(new WorkerContext(0, 1, null));
        else Parallelism.Run(body);
        return rates.Sum();
    }

    /// <summary>One thread's loop: returns its GFLOP/s over about <paramref name="ticks"/> stopwatch ticks.</summary>
    static double Run<TOps, TV>(long ticks) where TOps : struct, ISimd<TV> where TV : struct
    {
        var chains = new TV[Chains];
        for (int i = 0; i < Chains; i++) chains[i] = TOps.Broadcast(0.5f + 0.01f * i);
        long iterations = 0;
        long start = Stopwatch.GetTimestamp(), now;
        do
        {
            Burst<TOps, TV>(chains);
            iterations += IterationsPerCheck;
            now = Stopwatch.GetTimestamp();
        } while (now - start < ticks);
        double seconds = (double)(now - start) / Stopwatch.Frequency;

        // Keep the chains observable so that the loop cannot be removed.
        TV sum = TOps.Zero;
        foreach (var chain in chains) sum = TOps.Add(sum, chain);
        if (!float.IsFinite(TOps.Sum(sum))) throw new InvalidOperationException("FmaPeak: the chains diverged.");

        return 2.0 * TOps.Count * Chains * iterations / seconds / 1e9;
    }

    /// <summary>
    /// <see cref="IterationsPerCheck"/> rounds of one FMA on each chain. A method of its own, with no
    /// call inside, so that the chains stay in registers (a call would make the JIT keep them in memory).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    static void Burst<TOps, TV>(TV[] chains) where TOps : struct, ISimd<TV> where TV : struct
    {
        // x -> x * m + c converges to c / (1 - m) = 1 without overflow or denormals.
        TV m = TOps.Broadcast(0.999f), c = TOps.Broadcast(0.001f);
        TV a0 = chains[0], a1 = chains[1], a2 = chains[2], a3 = chains[3], a4 = chains[4], a5 = chains[5];
        TV a6 = chains[6], a7 = chains[7], a8 = chains[8], a9 = chains[9], a10 = chains[10], a11 = chains[11];
        for (int i = 0; i < IterationsPerCheck; i++)
        {
            a0 = TOps.Fma(a0, m, c); a1 = TOps.Fma(a1, m, c); a2 = TOps.Fma(a2, m, c); a3 = TOps.Fma(a3, m, c);
            a4 = TOps.Fma(a4, m, c); a5 = TOps.Fma(a5, m, c); a6 = TOps.Fma(a6, m, c); a7 = TOps.Fma(a7, m, c);
            a8 = TOps.Fma(a8, m, c); a9 = TOps.Fma(a9, m, c); a10 = TOps.Fma(a10, m, c); a11 = TOps.Fma(a11, m, c);
        }
        chains[0] = a0; chains[1] = a1; chains[2] = a2; chains[3] = a3; chains[4] = a4; chains[5] = a5;
        chains[6] = a6; chains[7] = a7; chains[8] = a8; chains[9] = a9; chains[10] = a10; chains[11] = a11;
    }
}
