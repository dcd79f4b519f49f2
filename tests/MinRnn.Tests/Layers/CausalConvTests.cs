using MinRnn.Kernels;
using MinRnn.Layers;

namespace MinRnn.Tests.Layers;

public class CausalConvTests
{
    public static TheoryData<SimdWidth> Widths => TestData.Widths();

    [Theory]
    [InlineData(2, 7, 5, 3)]
    [InlineData(1, 3, 4, 4)] // kernel longer than the sequence
    [InlineData(2, 4, 3, 1)]
    public void ReferenceBackwardMatchesFiniteDifferences(int batch, int time, int dim, int kernel)
    {
        var x = TestData.ToDouble(TestData.Uniform(batch * time * dim, 1));
        var w = TestData.ToDouble(TestData.Uniform(dim * kernel, 2));
        var b = TestData.ToDouble(TestData.Uniform(dim, 3));
        var weights = TestData.ToDouble(TestData.Uniform(x.Length, 4));
        double Loss()
        {
            var y = new double[x.Length];
            CausalConvReference.Forward(x, w, b, y, batch, time, dim, kernel);
            return FiniteDifference.WeightedSum(y, weights);
        }
        var dx = new double[x.Length]; var dw = new double[w.Length]; var db = new double[dim];
        CausalConvReference.Backward(x, w, weights, dx, dw, db, batch, time, dim, kernel);
        FiniteDifference.AssertMatches(dx, FiniteDifference.Gradient(x, Loss), "dx");
        FiniteDifference.AssertMatches(dw, FiniteDifference.Gradient(w, Loss), "dWeight");
        FiniteDifference.AssertMatches(db, FiniteDifference.Gradient(b, Loss), "dBias");
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void FastMatchesReference(SimdWidth width)
    {
        using var _ = Simd.Force(width);
        foreach (var (batch, time, dim, kernel) in new[] { (2, 7, 13, 3), (3, 20, 37, 4), (1, 2, 19, 4), (2, 5, 1, 1), (2, 150, 21, 4) }) // the last: rows in tiles of 64, one part-filled
        foreach (bool accumulateDx in new[] { false, true })
        {
            string what = $"({batch}, {time}, {dim}, {kernel}, accumulateDx={accumulateDx})";
            var x = TestData.Uniform(batch * time * dim, 1); var w = TestData.Uniform(dim * kernel, 2); var b = TestData.Uniform(dim, 3);
            var y = new float[x.Length]; var expectedY = new double[x.Length];
            CausalConv.Forward(x, w, b, y, batch, time, dim, kernel);
            CausalConvReference.Forward(TestData.ToDouble(x), TestData.ToDouble(w), TestData.ToDouble(b), expectedY, batch, time, dim, kernel);
            TestData.AssertClose(expectedY, y, 1e-5, 1e-6, "y" + what);

            var dy = TestData.Uniform(x.Length, 4);
            var dx = TestData.Uniform(x.Length, 5); var dw = TestData.Uniform(w.Length, 6); var db = TestData.Uniform(dim, 7);
            var expectedDx = TestData.ToDouble(dx); var expectedDw = TestData.ToDouble(dw); var expectedDb = TestData.ToDouble(db);
            CausalConv.Backward(x, w, dy, dx, dw, db, batch, time, dim, kernel, accumulateDx);
            CausalConvReference.Backward(TestData.ToDouble(x), TestData.ToDouble(w), TestData.ToDouble(dy), expectedDx, expectedDw, expectedDb,
                batch, time, dim, kernel, accumulateDx);
            TestData.AssertClose(expectedDx, dx, 1e-5, 1e-6, "dx" + what);
            TestData.AssertClose(expectedDw, dw, 1e-5, 1e-5, "dWeight" + what);
            TestData.AssertClose(expectedDb, db, 1e-5, 1e-5, "dBias" + what);
        }
    }

    /// <summary>
    /// Reading a text in pieces (shorter and longer than the kernel) with the history carried gives the output of reading
    /// it whole bit for bit, and leaves the history at the text's last K - 1 inputs; from the weight laid out by tap as well.
    /// </summary>
    [Theory]
    [MemberData(nameof(Widths))]
    public void PiecesWithAHistoryEqualOneForwardExactly(SimdWidth width)
    {
        using var _ = Simd.Force(width);
        int batch = 2, time = 16, dim = 37, kernel = 4;
        var x = TestData.Uniform(batch * time * dim, 1); var w = TestData.Uniform(dim * kernel, 2); var b = TestData.Uniform(dim, 3);
        var whole = new float[x.Length];
        CausalConv.Forward(x, w, b, whole, batch, time, dim, kernel);
        var byTap = new float[w.Length];
        CausalConv.ByTap(w, byTap, dim, kernel);
        foreach (bool tabulated in new[] { false, true })
        {
            var history = new float[batch * (kernel - 1) * dim];
            int start = 0;
            foreach (int piece in new[] { 1, 2, 1, 5, 3, 4 })
            {
                var input = new float[batch * piece * dim]; var y = new float[input.Length];
                for (int s = 0; s < batch; s++) Array.Copy(x, (s * time + start) * dim, input, s * piece * dim, piece * dim);
                if (tabulated) CausalConv.ForwardByTap(input, byTap, b, y, batch, piece, dim, kernel, history);
                else CausalConv.Forward(input, w, b, y, batch, piece, dim, kernel, history);
                for (int s = 0; s < batch; s++)
                    Assert.Equal(whole.AsSpan((s * time + start) * dim, piece * dim), y.AsSpan(s * piece * dim, piece * dim));
                start += piece;
            }
            Assert.Equal(time, start);
            for (int s = 0; s < batch; s++)
                Assert.Equal(x.AsSpan((s * time + time - kernel + 1) * dim, (kernel - 1) * dim), history.AsSpan(s * (kernel - 1) * dim, (kernel - 1) * dim));
        }
    }

    /// <summary>Steps taken in channel shares (a team's) give the output and the history of whole steps, bit for bit.</summary>
    [Theory]
    [MemberData(nameof(Widths))]
    public void StepsInChannelSharesEqualWholeSteps(SimdWidth width)
    {
        using var _ = Simd.Force(width);
        int dim = 37, kernel = 4, steps = 6;
        var x = TestData.Uniform(steps * dim, 1); var w = TestData.Uniform(dim * kernel, 2); var b = TestData.Uniform(dim, 3);
        var byTap = new float[w.Length];
        CausalConv.ByTap(w, byTap, dim, kernel);
        var whole = TestData.Uniform((kernel - 1) * dim, 4); var shared = (float[])whole.Clone();
        var y = new float[dim]; var yShared = new float[dim];
        for (int t = 0; t < steps; t++)
        {
            var input = x.AsSpan(t * dim, dim);
            CausalConv.ForwardByTap(input, byTap, b, y, 1, 1, dim, kernel, whole);
            foreach (var (first, end) in new[] { (0, 16), (16, 16), (16, 32), (32, dim) })
                CausalConv.StepChannels(input, byTap, b, yShared, dim, kernel, shared, first, end);
            Assert.Equal(y, yShared);
            Assert.Equal(whole, shared);
        }
    }

    [Fact]
    public void EmptyDxSkipsTheInputGradient()
    {
        int batch = 2, time = 6, dim = 5, kernel = 3;
        var x = TestData.Uniform(batch * time * dim, 1); var w = TestData.Uniform(dim * kernel, 2); var dy = TestData.Uniform(x.Length, 3);
        var dw = new float[w.Length]; var db = new float[dim];
        var dwWithDx = new float[w.Length]; var dbWithDx = new float[dim];
        CausalConv.Backward(x, w, dy, [], dw, db, batch, time, dim, kernel);
        CausalConv.Backward(x, w, dy, new float[x.Length], dwWithDx, dbWithDx, batch, time, dim, kernel);
        Assert.Equal(dwWithDx, dw);
        Assert.Equal(dbWithDx, db);
    }

    [Fact]
    public void ResultsDoNotDependOnThreadCount()
    {
        int batch = 4, time = 100, dim = 67, kernel = 4;
        var x = TestData.Uniform(batch * time * dim, 1); var w = TestData.Uniform(dim * kernel, 2);
        var b = TestData.Uniform(dim, 3); var dy = TestData.Uniform(x.Length, 4);
        var (one, two) = ThreadCount.OneThenTwo(() =>
        {
            var y = new float[x.Length]; var dx = new float[x.Length]; var dw = new float[w.Length]; var db = new float[dim];
            CausalConv.Forward(x, w, b, y, batch, time, dim, kernel);
            CausalConv.Backward(x, w, dy, dx, dw, db, batch, time, dim, kernel);
            return y.Concat(dx).Concat(dw).Concat(db).ToArray();
        });
        Assert.Equal(one, two);
    }

    [Fact]
    public void BadInputIsRefusedWithTheShapesNamed()
    {
        var x = new float[2 * 3 * 4]; var w = new float[4 * 2]; var b = new float[4]; var y = new float[x.Length];
        var e = Assert.Throws<ArgumentException>(() => CausalConv.Forward(x, w.AsSpan(0, 7), b, y, 2, 3, 4, 2));
        Assert.Contains("CausalConv.Forward: weight has 7 elements, expected [4, 1, 2] = 8", e.Message);
        e = Assert.Throws<ArgumentException>(() => CausalConv.Forward(x, w, b, y, 2, 3, 4, 0));
        Assert.Contains("kernel must be positive", e.Message);
        Assert.Throws<ArgumentException>(() => CausalConv.Forward(x, w, b, x, 2, 3, 4, 2));
        Assert.Throws<ArgumentException>(() => CausalConv.Forward([], w, b, [], 0, 3, 4, 2));
        e = Assert.Throws<ArgumentException>(() => CausalConv.Forward(x, w, b, y, 2, 3, 4, 2, history: new float[7]));
        Assert.Contains("CausalConv.Forward: history has 7 elements, expected [2, 1, 4] = 8", e.Message);
        e = Assert.Throws<ArgumentException>(() => CausalConv.ForwardByTap(x, w.AsSpan(0, 6), b, y, 2, 3, 4, 2));
        Assert.Contains("CausalConv.ForwardByTap: weight has 6 elements", e.Message);
        e = Assert.Throws<ArgumentException>(() => CausalConv.StepChannels(b, w, b, new float[4], 4, 2, new float[4], 3, 5));
        Assert.Contains("CausalConv.StepChannels: channels [3, 5) are not a range of the 4", e.Message);
        e = Assert.Throws<ArgumentException>(() => CausalConv.Backward(x, w, y, new float[x.Length], w, new float[3], 2, 3, 4, 2));
        Assert.Contains("CausalConv.Backward: dBias has 3 elements", e.Message);
        Assert.Throws<ArgumentException>(() => CausalConv.Backward(x, w, y, y, w, b, 2, 3, 4, 2));
    }
}
