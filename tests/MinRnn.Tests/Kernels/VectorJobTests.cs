using MinRnn.Kernels;

namespace MinRnn.Tests.Kernels;

/// <summary>
/// Jobs posted to the team reuse one post per calling thread: a job's nested call of its own type, and two threads posting
/// the same type at once (one gets the team, the other runs inline), each still run their own job over every item.
/// </summary>
public class VectorJobTests
{
    /// <summary>Writes <c>value</c> to target[start..end), then, if given, fills <c>nested</c> with value + 1 by a nested call.</summary>
    readonly struct FillJob(int[] target, int value, int[]? nested) : IVectorJob
    {
        public void Run<TOps, TV>(int start, int end) where TOps : struct, ISimd<TV> where TV : struct
        {
            for (int i = start; i < end; i++) target[i] = value;
            if (nested is not null) VectorJob.For(nested.Length, 1 << 20, new FillJob(nested, value + 1, null));
        }
    }

    [Fact]
    public void ANestedCallOfTheSameJobTypeLeavesTheOuterJobIntact() => ThreadCount.With(2, () =>
    {
        var outer = new int[4096];
        var nested = new int[4096];
        for (int round = 1; round <= 200; round++)
        {
            VectorJob.For(outer.Length, 1 << 20, new FillJob(outer, 2 * round, nested));
            Assert.All(outer, v => Assert.Equal(2 * round, v));
            Assert.All(nested, v => Assert.Equal(2 * round + 1, v));
        }
        return 0;
    });

    [Fact]
    public void TwoThreadsPostingTheSameJobTypeEachGetTheirOwnResult() => ThreadCount.With(2, () =>
    {
        var failures = new int[2];
        var callers = Enumerable.Range(0, 2).Select(id => new Thread(() =>
        {
            var target = new int[4096];
            for (int round = 0; round < 2000; round++)
            {
                int value = 10 * round + id;
                VectorJob.For(target.Length, 1 << 20, new FillJob(target, value, null));
                if (target.Any(v => v != value)) failures[id]++;
            }
        })).ToArray();
        foreach (var caller in callers) caller.Start();
        foreach (var caller in callers) caller.Join();
        Assert.Equal([0, 0], failures);
        return 0;
    });
}
