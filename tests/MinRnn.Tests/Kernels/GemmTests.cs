using MinRnn.Kernels;

namespace MinRnn.Tests.Kernels;

public class GemmTests
{
    public static TheoryData<SimdWidth> Widths => TestData.Widths();

    public static TheoryData<int, int, int> Shapes => new()
    {
        { 1, 1, 1 }, { 3, 5, 7 }, { 8, 32, 256 }, { 17, 33, 257 }, { 129, 70, 300 }, { 64, 768, 384 }, { 260, 45, 513 }, { 1, 200, 600 },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void AllTransposesAndAccumulateMatchReference(int m, int n, int k)
    {
        foreach (bool ta in new[] { false, true })
        foreach (bool tb in new[] { false, true })
        foreach (bool acc in new[] { false, true })
            CheckAgainstReference(m, n, k, ta, tb, acc, seed: m * 31 + n * 7 + k);
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void EveryVectorWidthMatchesReference(SimdWidth width)
    {
        using var _ = Simd.Force(width);
        foreach (var (m, n, k) in new[] { (19, 37, 41), (130, 65, 300), (3, 70, 77), (4, 9, 130) })
        foreach (bool tb in new[] { false, true })
            CheckAgainstReference(m, n, k, transposeA: !tb, tb, accumulate: tb, seed: k);
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void BiasRowIsAddedToEveryRow(SimdWidth width)
    {
        using var _ = Simd.Force(width);
        foreach (var (m, n, k) in new[] { (3, 70, 77), (19, 37, 41), (130, 65, 300) })
        {
            var a = TestData.Uniform(m * k, k); var b = TestData.Uniform(k * n, n); var bias = TestData.Uniform(n, m);
            var expected = new float[m * n]; var actual = TestData.Uniform(m * n, 5);
            GemmReference.Multiply(a, b, expected, m, n, k, transposeB: true, bias: bias);
            Gemm.Multiply(a, b, actual, m, n, k, transposeB: true, bias: bias);
            TestData.AssertClose(expected, actual, 1e-4, 1e-4 * Math.Sqrt(k), $"C({m}x{n}x{k}) + bias");
        }
        Assert.Throws<ArgumentException>(() => Gemm.Multiply(new float[4], new float[4], new float[4], 2, 2, 2, accumulate: true, bias: new float[2]));
        Assert.Throws<ArgumentException>(() => Gemm.Multiply(new float[4], new float[4], new float[4], 2, 2, 2, bias: new float[3]));
    }

    [Fact]
    public void ResultDoesNotDependOnThreadCount()
    {
        int m = 300, n = 100, k = 700;
        var a = TestData.Uniform(m * k, 1); var b = TestData.Uniform(k * n, 2);
        var one = new float[m * n]; var two = new float[m * n];
        lock (GlobalState.Lock)
        {
            int saved = Parallelism.Threads;
            try
            {
                Parallelism.Threads = 1; Gemm.Multiply(a, b, one, m, n, k);
                Parallelism.Threads = 2; Gemm.Multiply(a, b, two, m, n, k);
            }
            finally { Parallelism.Threads = saved; }
        }
        Assert.Equal(one, two);
    }

    /// <summary>
    /// Deep products (K in several blocks, the team meeting twice per block), weight-gradient style, accumulating, on 1,
    /// 2 and 3 threads: bit for bit the same and close to the reference, with one row block (its panels split in groups
    /// between the threads), three, and eighteen.
    /// </summary>
    [Theory]
    [InlineData(65, 100, 4000)]
    [InlineData(300, 70, 3500)]
    [InlineData(2304, 40, 1700)]
    public void DeepProductsDoNotDependOnThreadCount(int m, int n, int k)
    {
        var a = TestData.Uniform(m * k, 3); var b = TestData.Uniform(k * n, 4); var start = TestData.Uniform(m * n, 5);
        var results = new[] { 1, 2, 3 }.Select(threads => ThreadCount.With(threads, () =>
        {
            var c = (float[])start.Clone();
            Gemm.Multiply(a, b, c, m, n, k, transposeA: true, accumulate: true);
            return c;
        })).ToArray();
        Assert.Equal(results[0], results[1]);
        Assert.Equal(results[0], results[2]);
        var expected = (float[])start.Clone();
        GemmReference.Multiply(a, b, expected, m, n, k, transposeA: true, accumulate: true);
        TestData.AssertClose(expected, results[1], 1e-4, 1e-4 * Math.Sqrt(k), "C");
    }

    [Fact]
    public void RowSumsOfATakenWhilePackingAreColumnSumsBitForBit()
    {
        // Odd shapes (edge micro-panels, a K past several blocks) on 1, 2 and 3 threads: the sums the product takes of
        // op(A) = dyᵀ as it packs dy are those ColumnSums forms over dy's rows, to the bit, and the product is unchanged.
        foreach (var (m, n, k) in new[] { (3, 5, 7), (37, 70, 300), (129, 33, 1700), (300, 100, 2000) })
        foreach (int threads in new[] { 1, 2, 3 })
        {
            var dy = TestData.Uniform(k * m, m + k); var x = TestData.Uniform(k * n, n);
            var expectedSums = TestData.Uniform(m, 9); var sums = (float[])expectedSums.Clone();
            var expected = TestData.Uniform(m * n, 4); var actual = (float[])expected.Clone();
            lock (GlobalState.Lock)
            {
                int saved = Parallelism.Threads;
                try
                {
                    Parallelism.Threads = threads;
                    Gemm.Multiply(dy, x, expected, m, n, k, transposeA: true, accumulate: true);
                    unsafe { fixed (float* g = dy) fixed (float* s = expectedSums) ColumnSums.Accumulate(g, s, k, m); }
                    Gemm.Multiply(dy, x, actual, m, n, k, transposeA: true, accumulate: true, rowSumsOfA: sums);
                }
                finally { Parallelism.Threads = saved; }
            }
            Assert.Equal(expectedSums, sums);
            Assert.Equal(expected, actual);
        }
        Assert.Throws<ArgumentException>(() => Gemm.Multiply(new float[4], new float[4], new float[4], 2, 2, 2, rowSumsOfA: new float[2]));
        Assert.Throws<ArgumentException>(() => Gemm.Multiply(new float[4], new float[4], new float[4], 2, 2, 2, transposeA: true, rowSumsOfA: new float[3]));
    }

    [Fact]
    public void BadShapesAreRefusedWithTheShapesNamed()
    {
        var a = new float[6]; var b = new float[6]; var c = new float[4];
        var e = Assert.Throws<ArgumentException>(() => Gemm.Multiply(a, b, c, 2, 2, 4));
        Assert.Contains("Gemm", e.Message);
        Assert.Contains("[2, 4]", e.Message);
        Assert.Throws<ArgumentException>(() => Gemm.Multiply(a, b, c, 0, 2, 3));
        Assert.Throws<ArgumentException>(() => Gemm.Multiply(a, b, a.AsSpan(0, 4), 2, 2, 3));
    }

    static void CheckAgainstReference(int m, int n, int k, bool transposeA, bool transposeB, bool accumulate, int seed)
    {
        var a = TestData.Uniform(m * k, seed); var b = TestData.Uniform(k * n, seed + 1);
        var expected = TestData.Uniform(m * n, seed + 2); var actual = (float[])expected.Clone();
        GemmReference.Multiply(a, b, expected, m, n, k, transposeA, transposeB, accumulate);
        Gemm.Multiply(a, b, actual, m, n, k, transposeA, transposeB, accumulate);
        TestData.AssertClose(expected, actual, 1e-4, 1e-4 * Math.Sqrt(k), $"C({m}x{n}x{k}, tA={transposeA}, tB={transposeB}, acc={accumulate})");
    }
}
