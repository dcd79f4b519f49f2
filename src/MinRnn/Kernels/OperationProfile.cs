using System.Diagnostics;

namespace MinRnn.Kernels;

/// <summary>
/// Wall time per kernel while <see cref="Enabled"/>, for <c>minrnn bench train --breakdown</c> and <c>bench generate
/// --breakdown</c>: every <see cref="VectorJob"/> (named after its job type), every GEMM and product by packed weights (named
/// after its shape, with its exact 2·m·n·k FLOPs; a packed product also with the bytes of its weights and rows) and every
/// scan, each timed from the thread that called it, outermost calls only. It is per thread: a thread turns it on for the
/// kernels it calls, and other threads (another test, a server) are not counted. Off, it costs one test of a thread-static
/// field per kernel call.
/// </summary>
internal static class OperationProfile
{
    /// <summary>One kernel's totals: calls, seconds, floating-point operations (products) and bytes moved (memory-bound kernels).</summary>
    public sealed record Entry(string Name, int Calls, double Seconds, double Flops, double Bytes);

    [ThreadStatic] static Dictionary<string, (int Calls, long Ticks, double Flops, double Bytes)>? totals;
    [ThreadStatic] static int depth;
    [ThreadStatic] static bool enabled;

    /// <summary>Whether the kernels this thread calls are being timed (a benchmark turns it on around the steps it measures).</summary>
    public static bool Enabled
    {
        get => enabled;
        set => enabled = value;
    }

    /// <summary>
    /// Starts timing a call of <paramref name="name"/> that does <paramref name="flops"/> and reads and writes
    /// <paramref name="bytes"/> (either may be 0: not stated); dispose the result when the call returns.
    /// </summary>
    public static Scope Measure(string name, double flops = 0, double bytes = 0) => new(name, flops, bytes, depth++ == 0 ? Stopwatch.GetTimestamp() : 0);

    /// <summary>This thread's totals since the last call, largest first, and clears them.</summary>
    public static IReadOnlyList<Entry> Take()
    {
        if (totals is null) return [];
        var entries = totals.Select(t => new Entry(t.Key, t.Value.Calls, (double)t.Value.Ticks / Stopwatch.Frequency, t.Value.Flops, t.Value.Bytes))
            .OrderByDescending(e => e.Seconds).ToList();
        totals.Clear();
        return entries;
    }

    /// <summary>
    /// A timed call: records its time when disposed, if it is not nested inside another timed call. The default value
    /// times nothing.
    /// </summary>
    public readonly struct Scope(string? name, double flops, double bytes, long start) : IDisposable
    {
        public void Dispose()
        {
            if (name is null) return;
            depth--;
            if (start == 0) return;
            long ticks = Stopwatch.GetTimestamp() - start;
            totals ??= [];
            var (calls, sum, work, moved) = totals.GetValueOrDefault(name);
            totals[name] = (calls + 1, sum + ticks, work + flops, moved + bytes);
        }
    }

    /// <summary>A job type's name without its namespace: <c>LayerNorm.ForwardJob</c>.</summary>
    public static class NameOf<T>
    {
        public static readonly string Value = typeof(T).FullName![(typeof(T).Namespace!.Length + 1)..].Replace('+', '.');
    }
}
