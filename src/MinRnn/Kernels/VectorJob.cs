using System.Runtime.Intrinsics;

namespace MinRnn.Kernels;

/// <summary>
/// A kernel over the items [start, end) of some index space (rows, columns, chunks), written once
/// and specialised by the JIT for each vector width. Bodies that do not vectorise ignore the type
/// arguments.
/// </summary>
internal interface IVectorJob
{
    /// <summary>Processes items [start, end) with vectors of <typeparamref name="TOps"/>.</summary>
    void Run<TOps, TV>(int start, int end) where TOps : struct, ISimd<TV> where TV : struct;

    /// <summary>
    /// The bytes a run over all <paramref name="count"/> items reads and writes, each array counted once (what it cannot
    /// avoid moving), for the GB/s of <c>bench train --breakdown</c>; 0 where a job does not say (compute-bound kernels).
    /// </summary>
    long BytesMoved(int count) => 0;
}

/// <summary>
/// Runs an <see cref="IVectorJob"/> at the calling thread's <see cref="Simd.Width"/> (read here,
/// since a forced width is per thread), split into contiguous per-thread ranges of the team when the
/// work is large enough to pay for waking it. A job must give the same result for any split.
/// </summary>
internal static class VectorJob
{
    /// <summary>Below this much work (items x cost per item, roughly flops) one thread is faster than the team.</summary>
    const long SerialWork = 1L << 15;

    /// <summary>Runs <paramref name="job"/> over [0, <paramref name="count"/>); <paramref name="costPerItem"/> sizes the work.</summary>
    public static void For<TJob>(int count, long costPerItem, TJob job) where TJob : struct, IVectorJob
    {
        if (OperationProfile.Enabled)
        {
            using var _ = OperationProfile.Measure(OperationProfile.NameOf<TJob>.Value, bytes: job.BytesMoved(count));
            AtWidth(count, costPerItem, job);
        }
        else AtWidth(count, costPerItem, job);
    }

    /// <summary>
    /// Runs items [<paramref name="start"/>, <paramref name="end"/>) of <paramref name="job"/> on the calling thread at its
    /// width: a thread's share of work that a team job divides itself.
    /// </summary>
    internal static void Share<TJob>(int start, int end, TJob job) where TJob : struct, IVectorJob
    {
        if (start >= end) return;
        switch (Simd.Width)
        {
            case SimdWidth.Bits512: job.Run<Simd512, Vector512<float>>(start, end); break;
            case SimdWidth.Bits256: job.Run<Simd256, Vector256<float>>(start, end); break;
            case SimdWidth.Bits128: job.Run<Simd128, Vector128<float>>(start, end); break;
            default: job.Run<SimdScalar, float>(start, end); break;
        }
    }

    static void AtWidth<TJob>(int count, long costPerItem, TJob job) where TJob : struct, IVectorJob
    {
        switch (Simd.Width)
        {
            case SimdWidth.Bits512: For<TJob, Simd512, Vector512<float>>(count, costPerItem, job); break;
            case SimdWidth.Bits256: For<TJob, Simd256, Vector256<float>>(count, costPerItem, job); break;
            case SimdWidth.Bits128: For<TJob, Simd128, Vector128<float>>(count, costPerItem, job); break;
            default: For<TJob, SimdScalar, float>(count, costPerItem, job); break;
        }
    }

    static void For<TJob, TOps, TV>(int count, long costPerItem, TJob job)
        where TJob : struct, IVectorJob where TOps : struct, ISimd<TV> where TV : struct
    {
        if (count <= 0) return;
        if (count * costPerItem < SerialWork || Parallelism.Threads == 1) job.Run<TOps, TV>(0, count);
        else OnTeam<TJob, TOps, TV>(count, job);
    }

    /// <summary>
    /// Runs <paramref name="job"/> over [0, <paramref name="count"/>) split between the team's threads, allocating nothing
    /// (a generated character posts some twenty small jobs); inside another job it runs inline, on the calling thread.
    /// </summary>
    internal static void OnTeam<TJob, TOps, TV>(int count, TJob job)
        where TJob : struct, IVectorJob where TOps : struct, ISimd<TV> where TV : struct
    {
        if (count <= 0) return;
        if (count == 1 || Parallelism.Threads == 1 || WorkerTeam.InsideJob) job.Run<TOps, TV>(0, count);
        else TeamPost<TJob, TOps, TV>.Run(count, job);
    }

    /// <summary>
    /// The calling thread's reusable post of one job type: the job and its count in fields, the team's body a delegate made
    /// once. One per thread, and never in use twice at once, since a job's own nested calls run inline (see
    /// <see cref="OnTeam{TJob, TOps, TV}"/>) and the team waits for every share before <see cref="Run"/> returns.
    /// </summary>
    sealed class TeamPost<TJob, TOps, TV> where TJob : struct, IVectorJob where TOps : struct, ISimd<TV> where TV : struct
    {
        [ThreadStatic] static TeamPost<TJob, TOps, TV>? mine;

        readonly Action<WorkerContext> body;
        TJob job;
        int count;

        TeamPost() => body = RunShare;

        public static void Run(int count, TJob job)
        {
            var post = mine ??= new TeamPost<TJob, TOps, TV>();
            post.job = job;
            post.count = count;
            Parallelism.Run(post.body);
        }

        void RunShare(WorkerContext context)
        {
            var (start, end) = context.Range(count);
            if (start < end) job.Run<TOps, TV>(start, end);
        }
    }
}
