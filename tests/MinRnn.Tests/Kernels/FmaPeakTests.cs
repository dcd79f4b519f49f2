using MinRnn.Kernels;

namespace MinRnn.Tests.Kernels;

public class FmaPeakTests
{
    public static TheoryData<SimdWidth> Widths => TestData.Widths();

    [Theory]
    [MemberData(nameof(Widths))]
    public void EveryVectorWidthGivesAPositiveFiniteRate(SimdWidth width)
    {
        using var _ = Simd.Force(width);
        double gflops = FmaPeak.MeasureGflops(1, TimeSpan.FromMilliseconds(5));
        Assert.True(double.IsFinite(gflops) && gflops > 0, $"{width}: {gflops} GFLOP/s");
    }

    [Fact]
    public void AllThreadsOfTheTeamCanRunTogether()
    {
        lock (GlobalState.Lock)
        {
            double gflops = FmaPeak.MeasureGflops(Parallelism.Threads, TimeSpan.FromMilliseconds(5));
            Assert.True(double.IsFinite(gflops) && gflops > 0, $"{gflops} GFLOP/s");
        }
    }

    [Fact]
    public void BadArgumentsAreRefused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => FmaPeak.MeasureGflops(0, TimeSpan.FromMilliseconds(1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => FmaPeak.MeasureGflops(1, TimeSpan.Zero));
        lock (GlobalState.Lock)
            Assert.Throws<ArgumentOutOfRangeException>(() => FmaPeak.MeasureGflops(Parallelism.Threads + 1, TimeSpan.FromMilliseconds(1)));
    }
}
