using MinRnn.Kernels;
using MinRnn.Layers;

namespace MinRnn.Tests.Layers;

public class ClassicRnnTests
{
    public static TheoryData<RecurrentCell, SimdWidth> CellsAndWidths()
    {
        var data = new TheoryData<RecurrentCell, SimdWidth>();
        foreach (var cell in new[] { RecurrentCell.Gru, RecurrentCell.Lstm })
        foreach (var width in new[] { SimdWidth.Scalar, SimdWidth.Bits128, SimdWidth.Bits256, SimdWidth.Bits512 })
            if ((int)width <= (int)Simd.Best) data.Add(cell, width);
        return data;
    }

    [Theory]
    [InlineData(RecurrentCell.Gru)]
    [InlineData(RecurrentCell.Lstm)]
    public void ReferenceBackwardMatchesFiniteDifferences(RecurrentCell cell)
    {
        int batch = 2, time = 4, hidden = 5, n = cell.Gates() * hidden;
        var xp = TestData.ToDouble(TestData.Uniform(batch * time * n, 1, 1.5f));
        var w = TestData.ToDouble(TestData.Uniform(n * hidden, 2, 0.8f));
        var b = TestData.ToDouble(TestData.Uniform(n, 3));
        var weights = TestData.ToDouble(TestData.Uniform(batch * time * hidden, 4));
        double Loss()
        {
            var h = new double[batch * time * hidden];
            ClassicRnnReference.Forward(cell, xp, w, b, h, batch, time, hidden);
            return FiniteDifference.WeightedSum(h, weights);
        }
        var dxp = new double[xp.Length]; var dw = new double[w.Length]; var db = new double[b.Length];
        ClassicRnnReference.Backward(cell, xp, w, b, weights, dxp, dw, db, batch, time, hidden);
        FiniteDifference.AssertMatches(dxp, FiniteDifference.Gradient(xp, Loss), "dxp");
        FiniteDifference.AssertMatches(dw, FiniteDifference.Gradient(w, Loss), "dW_hh");
        FiniteDifference.AssertMatches(db, FiniteDifference.Gradient(b, Loss), "db_hh");
    }

    [Theory]
    [MemberData(nameof(CellsAndWidths))]
    public void FastMatchesReference(RecurrentCell cell, SimdWidth width)
    {
        using var _ = Simd.Force(width);
        foreach (var (batch, time, hidden) in new[] { (3, 6, 19), (2, 9, 40), (1, 1, 1) })
        {
            string what = $"{cell} B={batch} T={time} H={hidden}";
            int n = cell.Gates() * hidden;
            var xp = TestData.Uniform(batch * time * n, 1, 1.5f); var w = TestData.Uniform(n * hidden, 2, 0.5f); var b = TestData.Uniform(n, 3);
            var activations = new ClassicRnnActivations();
            var h = new float[batch * time * hidden];
            ClassicRnn.Forward(cell, xp, PackedMatrix.Pack(w, n, hidden), b, default, default, h, activations, batch, time, hidden);
            var expectedH = new double[h.Length];
            ClassicRnnReference.Forward(cell, TestData.ToDouble(xp), TestData.ToDouble(w), TestData.ToDouble(b), expectedH, batch, time, hidden);
            TestData.AssertClose(expectedH, h, 1e-4, 1e-5, "h " + what);

            var dh = TestData.Uniform(h.Length, 4);
            var dxp = new float[xp.Length]; var dw = TestData.Uniform(w.Length, 5); var db = TestData.Uniform(n, 6);
            var expectedDxp = new double[xp.Length]; var expectedDw = TestData.ToDouble(dw); var expectedDb = TestData.ToDouble(db);
            ClassicRnn.Backward(cell, w, dh, dxp, dw, db, activations, batch, time, hidden);
            ClassicRnnReference.Backward(cell, TestData.ToDouble(xp), TestData.ToDouble(w), TestData.ToDouble(b), TestData.ToDouble(dh),
                expectedDxp, expectedDw, expectedDb, batch, time, hidden);
            TestData.AssertClose(expectedDxp, dxp, 1e-4, 1e-5, "dxp " + what);
            TestData.AssertClose(expectedDw, dw, 1e-4, 1e-5 * Math.Sqrt(batch * time), "dW_hh " + what);
            TestData.AssertClose(expectedDb, db, 1e-4, 1e-5 * Math.Sqrt(batch * time), "db_hh " + what);
        }
    }

    [Theory]
    [InlineData(RecurrentCell.Gru)]
    [InlineData(RecurrentCell.Lstm)]
    public void ResultsDoNotDependOnThreadCount(RecurrentCell cell)
    {
        int batch = 16, time = 12, hidden = 96, n = cell.Gates() * hidden;
        var xp = TestData.Uniform(batch * time * n, 1); var w = TestData.Uniform(n * hidden, 2, 0.3f); var b = TestData.Uniform(n, 3);
        var dh = TestData.Uniform(batch * time * hidden, 4);
        var (one, two) = ThreadCount.OneThenTwo(() =>
        {
            var activations = new ClassicRnnActivations();
            var h = new float[batch * time * hidden]; var dxp = new float[xp.Length]; var dw = new float[w.Length]; var db = new float[n];
            ClassicRnn.Forward(cell, xp, PackedMatrix.Pack(w, n, hidden), b, default, default, h, activations, batch, time, hidden);
            ClassicRnn.Backward(cell, w, dh, dxp, dw, db, activations, batch, time, hidden);
            return h.Concat(dxp).Concat(dw).Concat(db).ToArray();
        });
        Assert.Equal(one, two);
    }

    [Fact]
    public void MinimalCellsAreRefused()
    {
        var e = Assert.Throws<ArgumentException>(() => ClassicRnn.Forward(RecurrentCell.MinGru, new float[4], PackedMatrix.Pack(new float[2], 2, 1), new float[2],
            default, default, new float[2], new ClassicRnnActivations(), 1, 2, 1));
        Assert.Contains("GRU and LSTM", e.Message);
    }
}
