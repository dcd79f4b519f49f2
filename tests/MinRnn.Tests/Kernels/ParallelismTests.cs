using MinRnn.Kernels;

namespace MinRnn.Tests.Kernels;

/// <summary>The team: every thread runs a job, its barrier orders their phases, and a failure neither hangs nor breaks it.</summary>
public class ParallelismTests
{
    [Fact]
    public void BarrierPhasesOrderTheThreadsJobAfterJob() => OnTwoThreads(() =>
    {
        var slots = new int[2];
        for (int job = 0; job < 200; job++)
        {
            bool ordered = true;
            Parallelism.Run(ctx =>
            {
                for (int phase = 1; phase <= 5; phase++)
                {
                    Volatile.Write(ref slots[ctx.Index], phase);
                    ctx.Sync();
                    // After the barrier every thread has written this phase, and none the next one yet.
                    if (Volatile.Read(ref slots[1 - ctx.Index]) != phase) ordered = false;
                    ctx.Sync();
                }
            });
            Assert.True(ordered, $"job {job}: a thread passed the barrier before the other reached it");
        }
    });

    [Fact]
    public void AFailedJobThrowsOnceAndTheTeamWorksAfterIt() => OnTwoThreads(() =>
    {
        // The worker fails before the barrier: the caller, waiting there, must not hang, and the failure is rethrown.
        var e = Assert.Throws<InvalidOperationException>(() => Parallelism.Run(ctx =>
        {
            if (ctx.Index == 1) throw new InvalidOperationException("worker failed");
            ctx.Sync();
        }));
        Assert.Equal("worker failed", e.Message);
        int passes = 0;
        Parallelism.Run(ctx =>
        {
            ctx.Sync();
            Interlocked.Increment(ref passes);
            ctx.Sync();
        });
        Assert.Equal(2, passes);
    });

    static void OnTwoThreads(Action body) => ThreadCount.With(2, () =>
    {
        body();
        return 0;
    });
}
