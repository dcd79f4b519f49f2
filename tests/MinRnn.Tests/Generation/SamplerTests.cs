using MinRnn.Generation;

namespace MinRnn.Tests.Generation;

public class SamplerTests
{
    static readonly float[] Logits = [1.0f, 2.5f, -0.5f, 2.0f, 0.3f];

    [Fact]
    public void TemperatureZeroAndTopKOneAreGreedy()
    {
        Assert.Equal(1, new Sampler(new SamplingOptions { Temperature = 0 }, 5, 1).Next(Logits));
        var topOne = new Sampler(new SamplingOptions { TopK = 1, Temperature = 1.5 }, 5, 2);
        for (int i = 0; i < 100; i++) Assert.Equal(1, topOne.Next(Logits));
    }

    [Theory]
    [InlineData(1.0, 0, 1.0)]
    [InlineData(0.7, 0, 1.0)]
    [InlineData(1.0, 2, 1.0)]
    [InlineData(1.0, 0, 0.8)]
    public void FrequenciesMatchTheRestrictedSoftmax(double temperature, int topK, double topP)
    {
        var expected = Expected(temperature, topK, topP);
        var sampler = new Sampler(new SamplingOptions { Temperature = temperature, TopK = topK, TopP = topP }, 5, 42);
        const int n = 200_000;
        var counts = new int[5];
        for (int i = 0; i < n; i++) counts[sampler.Next(Logits)]++;
        double chiSquare = 0;
        for (int i = 0; i < 5; i++)
        {
            if (expected[i] == 0) { Assert.Equal(0, counts[i]); continue; }
            double e = expected[i] * n;
            chiSquare += (counts[i] - e) * (counts[i] - e) / e;
        }
        // At most 4 degrees of freedom: chi-square above 18.47 has probability 0.001 if the sampler is right.
        Assert.True(chiSquare < 18.47, $"chi-square {chiSquare:F2}; counts {string.Join(",", counts)}; expected {string.Join(",", expected.Select(p => (p * n).ToString("F0")))}");
    }

    [Fact]
    public void SameSeedSameDraws()
    {
        var a = new Sampler(new SamplingOptions(), 5, 9);
        var b = new Sampler(new SamplingOptions(), 5, 9);
        for (int i = 0; i < 1000; i++) Assert.Equal(a.Next(Logits), b.Next(Logits));
    }

    [Theory]
    [InlineData(-1.0, 0, 1.0, "--temperature")]
    [InlineData(1.0, -1, 1.0, "--top-k")]
    [InlineData(1.0, 0, 0.0, "--top-p")]
    [InlineData(1.0, 0, 1.5, "--top-p")]
    public void InvalidOptionsAreRefused(double temperature, int topK, double topP, string name)
    {
        var e = Assert.Throws<ArgumentException>(() => new SamplingOptions { Temperature = temperature, TopK = topK, TopP = topP }.Validated());
        Assert.Contains(name, e.Message);
    }

    /// <summary>softmax(logits / T) kept to the top-k, then to the smallest top set reaching p, renormalised.</summary>
    static double[] Expected(double temperature, int topK, double topP)
    {
        var ids = Enumerable.Range(0, 5).OrderByDescending(i => Logits[i]).ToArray();
        int kept = topK > 0 ? topK : 5;
        var weights = ids.Take(kept).Select(i => Math.Exp(Logits[i] / temperature)).ToArray();
        double sum = weights.Sum(), cumulative = 0;
        for (int r = 0; r < kept; r++)
        {
            cumulative += weights[r] / sum;
            if (cumulative >= topP) { kept = r + 1; break; }
        }
        var p = new double[5];
        double keptSum = weights.Take(kept).Sum();
        for (int r = 0; r < kept; r++) p[ids[r]] = weights[r] / keptSum;
        return p;
    }
}
