using MinRnn.Kernels;

namespace MinRnn.Tests.Kernels;

public class PackedMatrixTests
{
    public static TheoryData<SimdWidth> Widths => TestData.Widths();

    /// <summary>Every row count (the one-row kernel, partial and full register tiles) and edge panels, at every width.</summary>
    [Theory]
    [MemberData(nameof(Widths))]
    public void ProductsMatchTheReference(SimdWidth width)
    {
        using var _ = Simd.Force(width);
        foreach (var (n, k) in new[] { (1, 1), (65, 384), (96, 7), (128, 33), (773, 300) })
        {
            var weight = TestData.Uniform(n * k, n + k);
            var packed = PackedMatrix.Pack(weight, n, k, oneRowOnTeam: true);
            foreach (int rows in new[] { 1, 2, 5, 8, 16, 17 })
            foreach (bool withBias in new[] { false, true })
            {
                var x = TestData.Uniform(rows * k, rows); var bias = withBias ? TestData.Uniform(n, 3) : [];
                var expected = new float[rows * n]; var actual = TestData.Uniform(rows * n, 4);
                GemmReference.Multiply(x, weight, expected, rows, n, k, transposeB: true, bias: bias);
                packed.Multiply(x, bias, actual, rows);
                TestData.AssertClose(expected, actual, 1e-4, 1e-4 * Math.Sqrt(k), $"{width}: [{rows}, {k}] x [{n}, {k}]ᵀ, bias {withBias}");
            }
        }
    }

    /// <summary>One row on one thread, or (packed for it) split between the team's threads; several rows on the GEMM tile.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ResultDoesNotDependOnThreadCount(bool oneRowOnTeam)
    {
        int n = 777, k = 512;
        var packed = PackedMatrix.Pack(TestData.Uniform(n * k, 1), n, k, oneRowOnTeam: oneRowOnTeam);
        foreach (int rows in new[] { 1, 16 })
        {
            var x = TestData.Uniform(rows * k, 2); var bias = TestData.Uniform(n, 3);
            var (one, two) = ThreadCount.OneThenTwo(() =>
            {
                var y = new float[rows * n];
                packed.Multiply(x, bias, y, rows);
                return y;
            });
            Assert.Equal(one, two);
        }
    }

    /// <summary>Shares of the panels, computed apart, make up the whole one-row product bit for bit, at every width.</summary>
    [Theory]
    [MemberData(nameof(Widths))]
    public void PanelSharesMakeUpTheProduct(SimdWidth width)
    {
        using var _ = Simd.Force(width);
        int n = 777, k = 129;
        var packed = PackedMatrix.Pack(TestData.Uniform(n * k, 1), n, k, oneRowOnTeam: true);
        var x = TestData.Uniform(k, 2);
        var whole = new float[n];
        ThreadCount.One(() => { packed.Multiply(x, default, whole, 1); return 0; });
        foreach (int shares in new[] { 1, 2, 3, 7 })
        {
            var y = TestData.Uniform(n, 3);
            int covered = 0;
            for (int s = 0; s < shares; s++)
            {
                int first = packed.PanelCount * s / shares, end = packed.PanelCount * (s + 1) / shares;
                packed.MultiplyPanels(x, y, first, end);
                var (start, stop) = packed.PanelColumns(first, end);
                Assert.Equal(covered, start);
                covered = stop;
            }
            Assert.Equal(n, covered);
            Assert.Equal(whole, y);
        }
    }

    [Fact]
    public void BadShapesAreRefusedWithTheShapesNamed()
    {
        var e = Assert.Throws<ArgumentException>(() => PackedMatrix.Pack(new float[5], 2, 3));
        Assert.Contains("PackedMatrix.Pack", e.Message);
        var packed = PackedMatrix.Pack(new float[6], 2, 3);
        e = Assert.Throws<ArgumentException>(() => packed.Multiply(new float[4], default, new float[2], 1));
        Assert.Contains("x", e.Message);
        Assert.Throws<ArgumentException>(() => packed.Multiply(new float[3], new float[3], new float[2], 1));
        var shared = new float[8];
        Assert.Throws<ArgumentException>(() => packed.Multiply(shared.AsSpan(0, 3), default, shared.AsSpan(2, 2), 1));
        e = Assert.Throws<ArgumentException>(() => packed.MultiplyPanels(new float[3], new float[2], 0, packed.PanelCount + 1));
        Assert.Contains("PackedMatrix.MultiplyPanels: panels [0, 2) are not a range of the 1 panels", e.Message);
        e = Assert.Throws<ArgumentException>(() => packed.MultiplyPanels(new float[3], new float[3], 0, 1));
        Assert.Contains("y has 3 elements", e.Message);
    }
}
