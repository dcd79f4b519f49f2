using MinRnn.Kernels;

namespace MinRnn.Tests.Kernels;

public class CounterRandomTests
{
    [Fact]
    public void SeedZeroIsThePlainSplitMix64Sequence()
    {
        // First outputs of SplitMix64 started from state 0.
        Assert.Equal(0xE220A8397B1DCDAFUL, CounterRandom.Bits(0, 0));
        Assert.Equal(0x6E789E6AA1B965F4UL, CounterRandom.Bits(0, 1));
    }

    [Fact]
    public void ValuesArePureFunctionsOfSeedAndIndex()
    {
        Assert.Equal(CounterRandom.Uniform(42, 1_000_000_007), CounterRandom.Uniform(42, 1_000_000_007));
        Assert.NotEqual(CounterRandom.Bits(1, 5), CounterRandom.Bits(2, 5));
        Assert.NotEqual(CounterRandom.Bits(1, 5), CounterRandom.Bits(1, 6));
        // Nearby seeds are not shifted copies of one stream.
        int shared = 0;
        for (int i = 0; i < 1000; i++)
            if (CounterRandom.Bits(1, i) == CounterRandom.Bits(2, i + 1) || CounterRandom.Bits(1, i + 1) == CounterRandom.Bits(2, i)) shared++;
        Assert.Equal(0, shared);
    }

    [Fact]
    public void UniformIsInTheUnitIntervalWithTheRightMoments()
    {
        const int n = 200_000;
        double sum = 0, squares = 0;
        for (int i = 0; i < n; i++)
        {
            float u = CounterRandom.Uniform(7, i);
            Assert.InRange(u, 0f, 0.99999994f);
            sum += u; squares += u * u;
        }
        double mean = sum / n;
        Assert.Equal(0.5, mean, 0.005);
        Assert.Equal(1.0 / 12, squares / n - mean * mean, 0.002);
    }

    [Fact]
    public void NormalHasZeroMeanAndUnitVariance()
    {
        const int n = 200_000;
        double sum = 0, squares = 0;
        for (int i = 0; i < n; i++)
        {
            double z = CounterRandom.Normal(9, i);
            Assert.True(double.IsFinite(z) && Math.Abs(z) < 6.7);
            sum += z; squares += z * z;
        }
        Assert.Equal(0, sum / n, 0.01);
        Assert.Equal(1, squares / n, 0.02);
    }

    [Fact]
    public void FillsUseTheIndexedValues()
    {
        var u = new float[1001]; var z = new float[1001];
        CounterRandom.FillUniform(u, 3, -2f, 2f);
        CounterRandom.FillNormal(z, 3, 1f, 0.5f);
        for (int i = 0; i < u.Length; i++)
        {
            Assert.InRange(u[i], -2f, 2f);
            Assert.Equal(-2f + 4f * CounterRandom.Uniform(3, i), u[i]);
            Assert.Equal(1f + 0.5f * CounterRandom.Normal(3, i), z[i]);
        }
    }
}
