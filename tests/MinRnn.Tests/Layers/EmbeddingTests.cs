using MinRnn.Kernels;
using MinRnn.Layers;

namespace MinRnn.Tests.Layers;

public class EmbeddingTests
{
    public static TheoryData<SimdWidth> Widths => TestData.Widths();

    static int[] Tokens(int count, int vocab, int seed)
    {
        var random = new Random(seed);
        var tokens = new int[count];
        for (int i = 0; i < count; i++) tokens[i] = random.Next(vocab);
        return tokens;
    }

    [Fact]
    public void ReferenceBackwardMatchesFiniteDifferences()
    {
        int count = 7, vocab = 11, dim = 13;
        int[] tokens = [3, 0, 3, 10, 5, 3, 0];
        Assert.Equal(count, tokens.Length);
        var table = TestData.ToDouble(TestData.Uniform(vocab * dim, 1));
        var weights = TestData.ToDouble(TestData.Uniform(count * dim, 2));
        double Loss()
        {
            var output = new double[count * dim];
            EmbeddingReference.Forward(tokens, table, output, vocab, dim);
            return FiniteDifference.WeightedSum(output, weights);
        }
        var dTable = new double[vocab * dim];
        EmbeddingReference.Backward(tokens, weights, dTable, vocab, dim);
        FiniteDifference.AssertMatches(dTable, FiniteDifference.Gradient(table, Loss), "dTable");
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void FastMatchesReference(SimdWidth width)
    {
        using var _ = Simd.Force(width);
        foreach (var (count, vocab, dim) in new[] { (7, 11, 13), (300, 65, 37), (1, 1, 1) })
        {
            var tokens = Tokens(count, vocab, count);
            var table = TestData.Uniform(vocab * dim, 3);
            var output = new float[count * dim];
            var expected = new double[count * dim];
            Embedding.Forward(tokens, table, output, vocab, dim);
            EmbeddingReference.Forward(tokens, TestData.ToDouble(table), expected, vocab, dim);
            TestData.AssertClose(expected, output, 0, 0, $"output ({count}, {vocab}, {dim})");

            var dOutput = TestData.Uniform(count * dim, 4);
            var dTable = TestData.Uniform(vocab * dim, 5);
            var expectedDTable = TestData.ToDouble(dTable);
            Embedding.Backward(tokens, dOutput, dTable, vocab, dim);
            EmbeddingReference.Backward(tokens, TestData.ToDouble(dOutput), expectedDTable, vocab, dim);
            TestData.AssertClose(expectedDTable, dTable, 1e-5, 1e-5, $"dTable ({count}, {vocab}, {dim})");
        }
    }

    [Fact]
    public void BackwardDoesNotDependOnThreadCount()
    {
        int count = 2000, vocab = 5, dim = 100;
        var tokens = Tokens(count, vocab, 6);
        var dOutput = TestData.Uniform(count * dim, 7);
        var (one, two) = ThreadCount.OneThenTwo(() =>
        {
            var dTable = new float[vocab * dim];
            Embedding.Backward(tokens, dOutput, dTable, vocab, dim);
            return dTable;
        });
        Assert.Equal(one, two);
    }

    [Fact]
    public void BadInputIsRefusedWithTheShapesNamed()
    {
        var table = new float[4 * 3];
        var output = new float[2 * 3];
        var e = Assert.Throws<ArgumentException>(() => Embedding.Forward([1, 4], table, output, 4, 3));
        Assert.Contains("Embedding.Forward", e.Message);
        Assert.Contains("tokens[1] = 4", e.Message);
        Assert.Throws<ArgumentException>(() => Embedding.Forward([-1, 0], table, output, 4, 3));
        e = Assert.Throws<ArgumentException>(() => Embedding.Forward([0, 1], table, new float[5], 4, 3));
        Assert.Contains("output has 5 elements, expected [2, 3] = 6", e.Message);
        e = Assert.Throws<ArgumentException>(() => Embedding.Backward([0, 1], output, new float[11], 4, 3));
        Assert.Contains("Embedding.Backward: dTable has 11 elements", e.Message);
        Assert.Throws<ArgumentException>(() => Embedding.Forward([], table, [], 4, 3));
        Assert.Throws<ArgumentException>(() => Embedding.Forward([0], [], [], 0, 3));
        Assert.Throws<ArgumentException>(() => Embedding.Backward([0, 9], output, table, 4, 3));
    }
}
