using MinRnn.Kernels;
using MinRnn.Layers;

namespace MinRnn.Tests.Layers;

public class SoftmaxCrossEntropyTests
{
    public static TheoryData<SimdWidth> Widths => TestData.Widths();

    static int[] Targets(int rows, int vocab, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, rows).Select(_ => random.Next(vocab)).ToArray();
    }

    [Fact]
    public void ReferenceGradientMatchesFiniteDifferences()
    {
        int rows = 7, vocab = 11;
        var logits = TestData.ToDouble(TestData.Uniform(rows * vocab, 1, 3f));
        var targets = Targets(rows, vocab, 2);
        var dLogits = new double[logits.Length];
        double loss = SoftmaxCrossEntropyReference.ForwardBackward(logits, targets, dLogits, rows, vocab);
        Assert.Equal(SoftmaxCrossEntropyReference.Forward(logits, targets, rows, vocab), loss);
        FiniteDifference.AssertMatches(dLogits,
            FiniteDifference.Gradient(logits, () => SoftmaxCrossEntropyReference.Forward(logits, targets, rows, vocab)), "dLogits");
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void FastMatchesReference(SimdWidth width)
    {
        using var _ = Simd.Force(width);
        foreach (var (rows, vocab) in new[] { (7, 11), (50, 65), (3, 200), (1, 1) })
        foreach (float? scale in new float?[] { null, 0.5f })
        {
            string what = $"({rows}, {vocab}, scale={scale})";
            var logits = TestData.Uniform(rows * vocab, rows, 5f);
            var targets = Targets(rows, vocab, vocab);
            var dLogits = new float[logits.Length]; var expectedD = new double[logits.Length];
            double loss = SoftmaxCrossEntropy.ForwardBackward(logits, targets, dLogits, rows, vocab, scale);
            double expected = SoftmaxCrossEntropyReference.ForwardBackward(TestData.ToDouble(logits), targets, expectedD, rows, vocab, scale);
            Assert.Equal(expected, loss, 1e-5 * Math.Max(1, expected));
            Assert.Equal(loss, SoftmaxCrossEntropy.Forward(logits, targets, rows, vocab));
            TestData.AssertClose(expectedD, dLogits, 1e-5, 1e-7, "dLogits" + what);
        }
    }

    [Fact]
    public void LargeLogitsStayFinite()
    {
        float[] logits = [1000f, -1000f, 999f, 0f, 80f, 88f];
        int[] targets = [1, 2];
        var d = new float[6];
        double loss = SoftmaxCrossEntropy.ForwardBackward(logits, targets, d, 2, 3);
        double expected = SoftmaxCrossEntropyReference.Forward(TestData.ToDouble(logits), targets, 2, 3);
        Assert.Equal(expected, loss, 1e-4);
        Assert.All(d, v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void ResultsDoNotDependOnThreadCount()
    {
        int rows = 1000, vocab = 65;
        var logits = TestData.Uniform(rows * vocab, 1, 4f);
        var targets = Targets(rows, vocab, 2);
        var (one, two) = ThreadCount.OneThenTwo(() =>
        {
            var d = new float[logits.Length];
            double loss = SoftmaxCrossEntropy.ForwardBackward(logits, targets, d, rows, vocab);
            return (loss, d);
        });
        Assert.Equal(one.loss, two.loss);
        Assert.Equal(one.d, two.d);
    }

    [Theory]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    [InlineData(float.NegativeInfinity)]
    public void NonFiniteLogitsAreReportedWithTheRow(float bad)
    {
        int rows = 100, vocab = 37;
        var logits = TestData.Uniform(rows * vocab, 1);
        var targets = Targets(rows, vocab, 2);
        logits[57 * vocab + 36] = bad;
        logits[90 * vocab] = bad;
        var e = Assert.Throws<NotFiniteNumberException>(() => SoftmaxCrossEntropy.ForwardBackward(logits, targets, new float[logits.Length], rows, vocab));
        Assert.Contains("SoftmaxCrossEntropy.ForwardBackward: row 57", e.Message);
        e = Assert.Throws<NotFiniteNumberException>(() => SoftmaxCrossEntropy.Forward(logits, targets, rows, vocab));
        Assert.Contains("SoftmaxCrossEntropy.Forward: row 57", e.Message);
    }

    [Fact]
    public void BadInputIsRefusedWithTheShapesNamed()
    {
        var logits = new float[3 * 4];
        var e = Assert.Throws<ArgumentException>(() => SoftmaxCrossEntropy.Forward(logits, [0, 4, 1], 3, 4));
        Assert.Contains("SoftmaxCrossEntropy.Forward: targets[1] = 4 is outside [0, 4)", e.Message);
        e = Assert.Throws<ArgumentException>(() => SoftmaxCrossEntropy.Forward(logits, [0, 1], 3, 4));
        Assert.Contains("targets has 2 elements, expected [3] = 3", e.Message);
        e = Assert.Throws<ArgumentException>(() => SoftmaxCrossEntropy.ForwardBackward(logits, [0, 1, 2], new float[11], 3, 4));
        Assert.Contains("dLogits has 11 elements", e.Message);
        Assert.Throws<ArgumentException>(() => SoftmaxCrossEntropy.ForwardBackward(logits, [0, 1, 2], logits, 3, 4));
        Assert.Throws<ArgumentException>(() => SoftmaxCrossEntropy.ForwardBackward(logits, [0, 1, 2], new float[12], 3, 4, float.NaN));
        Assert.Throws<ArgumentException>(() => SoftmaxCrossEntropy.Forward([], [], 0, 4));
    }
}
