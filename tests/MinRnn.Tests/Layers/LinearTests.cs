using MinRnn.Kernels;
using MinRnn.Layers;

namespace MinRnn.Tests.Layers;

public class LinearTests
{
    public static TheoryData<SimdWidth> Widths => TestData.Widths();

    [Fact]
    public void ReferenceBackwardMatchesFiniteDifferences()
    {
        int rows = 7, inF = 13, outF = 11;
        var x = TestData.ToDouble(TestData.Uniform(rows * inF, 1));
        var w = TestData.ToDouble(TestData.Uniform(outF * inF, 2));
        var b = TestData.ToDouble(TestData.Uniform(outF, 3));
        var weights = TestData.ToDouble(TestData.Uniform(rows * outF, 4));
        double Loss()
        {
            var y = new double[rows * outF];
            LinearReference.Forward(x, w, b, y, rows, inF, outF);
            return FiniteDifference.WeightedSum(y, weights);
        }
        var dx = new double[x.Length]; var dw = new double[w.Length]; var db = new double[b.Length];
        LinearReference.Backward(x, w, weights, dx, dw, db, rows, inF, outF);
        FiniteDifference.AssertMatches(dx, FiniteDifference.Gradient(x, Loss), "dx");
        FiniteDifference.AssertMatches(dw, FiniteDifference.Gradient(w, Loss), "dW");
        FiniteDifference.AssertMatches(db, FiniteDifference.Gradient(b, Loss), "db");
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void FastMatchesReference(SimdWidth width)
    {
        using var _ = Simd.Force(width);
        foreach (var (rows, inF, outF) in new[] { (7, 13, 11), (33, 70, 45), (1, 1, 1) })
        foreach (bool accumulateDx in new[] { false, true })
        {
            string what = $"({rows}, {inF}, {outF}, accumulateDx={accumulateDx})";
            double atol = 2e-5 * Math.Sqrt(Math.Max(inF, rows));
            var x = TestData.Uniform(rows * inF, 1); var w = TestData.Uniform(outF * inF, 2); var b = TestData.Uniform(outF, 3);
            var y = new float[rows * outF]; var expectedY = new double[rows * outF];
            Linear.Forward(x, w, b, y, rows, inF, outF);
            LinearReference.Forward(TestData.ToDouble(x), TestData.ToDouble(w), TestData.ToDouble(b), expectedY, rows, inF, outF);
            TestData.AssertClose(expectedY, y, 1e-5, atol, "y" + what);

            var dy = TestData.Uniform(rows * outF, 4);
            var dx = TestData.Uniform(rows * inF, 5); var dw = TestData.Uniform(w.Length, 6); var db = TestData.Uniform(outF, 7);
            var expectedDx = TestData.ToDouble(dx); var expectedDw = TestData.ToDouble(dw); var expectedDb = TestData.ToDouble(db);
            Linear.Backward(x, w, dy, dx, dw, db, rows, inF, outF, accumulateDx);
            LinearReference.Backward(TestData.ToDouble(x), TestData.ToDouble(w), TestData.ToDouble(dy), expectedDx, expectedDw, expectedDb,
                rows, inF, outF, accumulateDx);
            TestData.AssertClose(expectedDx, dx, 1e-5, atol, "dx" + what);
            TestData.AssertClose(expectedDw, dw, 1e-5, atol, "dW" + what);
            TestData.AssertClose(expectedDb, db, 1e-5, atol, "db" + what);
        }
    }

    [Fact]
    public void EmptyDxSkipsTheInputGradient()
    {
        int rows = 5, inF = 6, outF = 7;
        var x = TestData.Uniform(rows * inF, 1); var w = TestData.Uniform(outF * inF, 2); var dy = TestData.Uniform(rows * outF, 3);
        var dw = new float[w.Length]; var db = new float[outF];
        var dwWithDx = new float[w.Length]; var dbWithDx = new float[outF];
        Linear.Backward(x, w, dy, [], dw, db, rows, inF, outF);
        Linear.Backward(x, w, dy, new float[rows * inF], dwWithDx, dbWithDx, rows, inF, outF);
        Assert.Equal(dwWithDx, dw);
        Assert.Equal(dbWithDx, db);
    }

    [Fact]
    public void BackwardDoesNotDependOnThreadCount()
    {
        int rows = 300, inF = 64, outF = 130;
        var x = TestData.Uniform(rows * inF, 1); var w = TestData.Uniform(outF * inF, 2); var dy = TestData.Uniform(rows * outF, 3);
        var (one, two) = ThreadCount.OneThenTwo(() =>
        {
            var dx = new float[x.Length]; var dw = new float[w.Length]; var db = new float[outF];
            Linear.Backward(x, w, dy, dx, dw, db, rows, inF, outF);
            return dx.Concat(dw).Concat(db).ToArray();
        });
        Assert.Equal(one, two);
    }

    [Fact]
    public void BadInputIsRefusedWithTheShapesNamed()
    {
        var x = new float[3 * 4]; var w = new float[2 * 4]; var b = new float[2]; var y = new float[3 * 2];
        var e = Assert.Throws<ArgumentException>(() => Linear.Forward(x.AsSpan(0, 10), w, b, y, 3, 4, 2));
        Assert.Contains("Linear.Forward: x has 10 elements, expected [3, 4] = 12", e.Message);
        e = Assert.Throws<ArgumentException>(() => Linear.Forward(x, w, new float[3], y, 3, 4, 2));
        Assert.Contains("bias", e.Message);
        e = Assert.Throws<ArgumentException>(() => Linear.Forward(x, w, b, y, 0, 4, 2));
        Assert.Contains("rows must be positive", e.Message);
        Assert.Throws<ArgumentException>(() => Linear.Forward(x, w, b, x.AsSpan(0, 6), 3, 4, 2));
        e = Assert.Throws<ArgumentException>(() => Linear.Backward(x, w, y, new float[5], new float[8], b, 3, 4, 2));
        Assert.Contains("Linear.Backward: dx has 5 elements", e.Message);
        e = Assert.Throws<ArgumentException>(() => Linear.Backward(x, w, y, [], new float[8], new float[1], 3, 4, 2));
        Assert.Contains("dBias has 1 elements", e.Message);
    }

    [Fact]
    public void WithoutABiasItIsTheProductAlone()
    {
        int rows = 5, inF = 7, outF = 3;
        var x = TestData.Uniform(rows * inF, 1); var w = TestData.Uniform(outF * inF, 2); var dy = TestData.Uniform(rows * outF, 3);
        var withZero = new float[rows * outF]; var without = new float[rows * outF];
        Linear.Forward(x, w, new float[outF], withZero, rows, inF, outF);
        Linear.Forward(x, w, [], without, rows, inF, outF);
        Assert.Equal(withZero, without);

        var dxZero = new float[x.Length]; var dwZero = new float[w.Length]; var dbZero = new float[outF];
        var dx = new float[x.Length]; var dw = new float[w.Length];
        Linear.Backward(x, w, dy, dxZero, dwZero, dbZero, rows, inF, outF);
        Linear.Backward(x, w, dy, dx, dw, [], rows, inF, outF);
        Assert.Equal(dxZero, dx);
        Assert.Equal(dwZero, dw);
    }
}
