using MinRnn.Kernels;
using MinRnn.Layers;

namespace MinRnn.Tests.Layers;

public class MinRnnScanTests
{
    public static TheoryData<RecurrentCell, bool> CellsWithAndWithoutH0 => new()
    {
        { RecurrentCell.MinGru, false }, { RecurrentCell.MinGru, true }, { RecurrentCell.MinLstm, false }, { RecurrentCell.MinLstm, true },
    };

    public static TheoryData<SimdWidth, RecurrentCell> WidthsAndCells()
    {
        var data = new TheoryData<SimdWidth, RecurrentCell>();
        foreach (SimdWidth width in TestData.Widths())
            foreach (var cell in new[] { RecurrentCell.MinGru, RecurrentCell.MinLstm })
                data.Add(width, cell);
        return data;
    }

    [Theory]
    [MemberData(nameof(CellsWithAndWithoutH0))]
    public void ReferenceBackwardMatchesFiniteDifferences(RecurrentCell cell, bool withH0)
    {
        int batch = 2, time = 5, hidden = 3;
        var pre = TestData.ToDouble(TestData.Uniform(batch * time * cell.Gates() * hidden, 11, 2f));
        double[]? h0 = withH0 ? Positive(batch * hidden, 12) : null;
        var weights = TestData.ToDouble(TestData.Uniform(batch * time * hidden, 13));
        double Loss() => FiniteDifference.WeightedSum(MinRnnScanReference.ForwardSequential(cell, pre, h0, batch, time, hidden), weights);

        var (dPre, dh0) = MinRnnScanReference.Backward(cell, pre, h0, weights, batch, time, hidden);
        FiniteDifference.AssertMatches(dPre, FiniteDifference.Gradient(pre, Loss), "dPre");
        if (h0 is not null) FiniteDifference.AssertMatches(dh0, FiniteDifference.Gradient(h0, Loss), "dh0");
    }

    [Theory]
    [MemberData(nameof(CellsWithAndWithoutH0))]
    public void ReferenceLogSpaceEqualsReferenceSequential(RecurrentCell cell, bool withH0)
    {
        int batch = 2, time = 300, hidden = 4;
        var pre = TestData.ToDouble(TestData.Uniform(batch * time * cell.Gates() * hidden, 21, 4f));
        double[]? h0 = withH0 ? Positive(batch * hidden, 22) : null;
        var log = MinRnnScanReference.ForwardLogSpace(cell, pre, h0, batch, time, hidden);
        var seq = MinRnnScanReference.ForwardSequential(cell, pre, h0, batch, time, hidden);
        for (int i = 0; i < log.Length; i++) Assert.Equal(seq[i], log[i], 1e-9 * Math.Abs(seq[i]));
    }

    [Theory]
    [MemberData(nameof(WidthsAndCells))]
    public void ForwardAndBackwardMatchReferenceAtEveryWidth(SimdWidth width, RecurrentCell cell)
    {
        using var _ = Simd.Force(width);
        foreach (bool withH0 in new[] { false, true })
            CompareWithReference(cell, batch: 3, time: 17, hidden: 37, withH0, seed: 31 + (int)width);
    }

    [Theory]
    [InlineData(RecurrentCell.MinGru)]
    [InlineData(RecurrentCell.MinLstm)]
    public void LogSpaceSequentialAndNaiveLoopAgreeAtLength4096(RecurrentCell cell)
    {
        int batch = 2, time = 4096, hidden = 19;
        var pre = TestData.Uniform(batch * time * cell.Gates() * hidden, 41, 3f);
        var naive = MinRnnScanReference.ForwardSequential(cell, TestData.ToDouble(pre), null, batch, time, hidden);
        var log = new float[naive.Length]; var seq = new float[naive.Length];
        MinRnnScan.Forward(cell, ScanAlgorithm.LogSpace, pre, default, log, batch, time, hidden);
        MinRnnScan.Forward(cell, ScanAlgorithm.Sequential, pre, default, seq, batch, time, hidden);
        TestData.AssertClose(naive, log, 1e-5, 0, "log-space vs naive");
        TestData.AssertClose(naive, seq, 1e-5, 0, "sequential vs naive");
        TestData.AssertClose(log, seq, 1e-5, 0, "log-space vs sequential");
    }

    [Theory]
    [InlineData(RecurrentCell.MinGru)]
    [InlineData(RecurrentCell.MinLstm)]
    public void ExtremePreactivationsAtLength16384StayFinite(RecurrentCell cell)
    {
        int batch = 1, time = 16384, hidden = 21;
        var random = new Random(51);
        var pre = new float[batch * time * cell.Gates() * hidden];
        for (int i = 0; i < pre.Length; i++) pre[i] = random.Next(3) switch { 0 => -50f, 1 => 50f, _ => (float)(random.NextDouble() * 100 - 50) };
        var h0 = Array.ConvertAll(Positive(batch * hidden, 52), v => (float)v);
        var naive = MinRnnScanReference.ForwardSequential(cell, TestData.ToDouble(pre), TestData.ToDouble(h0), batch, time, hidden);
        foreach (var algorithm in new[] { ScanAlgorithm.LogSpace, ScanAlgorithm.Sequential })
        {
            var h = new float[batch * time * hidden];
            MinRnnScan.Forward(cell, algorithm, pre, h0, h, batch, time, hidden);
            Assert.All(h, v => Assert.True(float.IsFinite(v) && v > 0, $"{algorithm}: h = {v}"));
            TestData.AssertClose(naive, h, 1e-4, 0, $"{algorithm} at ±50");
        }
        var hSeq = new float[batch * time * hidden];
        MinRnnScan.Forward(cell, ScanAlgorithm.Sequential, pre, h0, hSeq, batch, time, hidden);
        var dPre = new float[pre.Length]; var dh0 = new float[h0.Length];
        MinRnnScan.Backward(cell, pre, h0, hSeq, TestData.Uniform(hSeq.Length, 53), dPre, dh0, batch, time, hidden);
        Assert.All(dPre, v => Assert.True(float.IsFinite(v)));
        Assert.All(dh0, v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void BadInputIsRefusedWithTheOperationAndShapesNamed()
    {
        var pre = new float[2 * 3 * 2 * 4]; var h = new float[2 * 3 * 4];
        var e = Assert.Throws<ArgumentException>(() => MinRnnScan.Forward(RecurrentCell.MinGru, ScanAlgorithm.Sequential, pre, default, h.AsSpan(1), 2, 3, 4));
        Assert.Contains("MinRnnScan.Forward", e.Message);
        Assert.Contains("[2, 3, 4]", e.Message);
        Assert.Throws<ArgumentException>(() => MinRnnScan.Forward(RecurrentCell.MinLstm, ScanAlgorithm.Sequential, pre, default, h, 2, 3, 4));
        Assert.Throws<ArgumentException>(() => MinRnnScan.Forward(RecurrentCell.MinGru, ScanAlgorithm.Sequential, [], default, [], 0, 3, 4));
        Assert.Throws<ArgumentException>(() => MinRnnScan.Forward(RecurrentCell.MinGru, ScanAlgorithm.LogSpace, pre, new float[] { 1, 1, 1, -1, 1, 1, 1, 1 }, h, 2, 3, 4));
        pre[7] = float.NaN;
        e = Assert.Throws<ArgumentException>(() => MinRnnScan.Forward(RecurrentCell.MinGru, ScanAlgorithm.LogSpace, pre, default, h, 2, 3, 4));
        Assert.Contains("NaN", e.Message);
        pre[7] = 0;
        var dh = new float[h.Length]; dh[5] = float.PositiveInfinity;
        Assert.Throws<ArgumentException>(() => MinRnnScan.Backward(RecurrentCell.MinGru, pre, default, h, dh, new float[pre.Length], default, 2, 3, 4));
    }

    /// <summary>
    /// The minLSTM gate's scaled exponentials: pre-activations far beyond where e^±x overflows or underflows in
    /// float32 still give the reference's h and gradients.
    /// </summary>
    [Fact]
    public void MinLstmGateHoldsAtOverflowingPreactivations()
    {
        var cell = RecurrentCell.MinLstm;
        int batch = 2, time = 9, hidden = 23;
        float[] extremes = [-200f, -120f, -90f, -60f, -3f, 0f, 3f, 60f, 90f, 120f, 200f];
        var random = new Random(61);
        var pre = new float[batch * time * cell.Gates() * hidden];
        for (int i = 0; i < pre.Length; i++) pre[i] = extremes[random.Next(extremes.Length)];
        var dh = TestData.Uniform(batch * time * hidden, 62);
        var expected = MinRnnScanReference.ForwardSequential(cell, TestData.ToDouble(pre), null, batch, time, hidden);
        var (dPreExpected, _) = MinRnnScanReference.Backward(cell, TestData.ToDouble(pre), null, TestData.ToDouble(dh), batch, time, hidden);
        var h = new float[expected.Length];
        MinRnnScan.Forward(cell, ScanAlgorithm.Sequential, pre, default, h, batch, time, hidden);
        TestData.AssertClose(expected, h, 1e-5, 1e-7, "h");
        var dPre = new float[pre.Length];
        MinRnnScan.Backward(cell, pre, default, h, dh, dPre, default, batch, time, hidden);
        TestData.AssertClose(dPreExpected, dPre, 1e-4, 1e-6, "dPre");
    }

    static void CompareWithReference(RecurrentCell cell, int batch, int time, int hidden, bool withH0, int seed)
    {
        var pre = TestData.Uniform(batch * time * cell.Gates() * hidden, seed, 4f);
        float[] h0 = withH0 ? Array.ConvertAll(Positive(batch * hidden, seed + 1), v => (float)v) : [];
        double[]? h0d = withH0 ? TestData.ToDouble(h0) : null;
        var dh = TestData.Uniform(batch * time * hidden, seed + 2);
        var expected = MinRnnScanReference.ForwardSequential(cell, TestData.ToDouble(pre), h0d, batch, time, hidden);
        var (dPreExpected, dh0Expected) = MinRnnScanReference.Backward(cell, TestData.ToDouble(pre), h0d, TestData.ToDouble(dh), batch, time, hidden);

        foreach (var algorithm in new[] { ScanAlgorithm.LogSpace, ScanAlgorithm.Sequential })
        {
            var h = new float[expected.Length];
            MinRnnScan.Forward(cell, algorithm, pre, h0, h, batch, time, hidden);
            TestData.AssertClose(expected, h, 1e-5, 1e-7, $"{cell} {algorithm} h");
        }
        var hOut = new float[expected.Length];
        MinRnnScan.Forward(cell, ScanAlgorithm.Sequential, pre, h0, hOut, batch, time, hidden);
        var dPre = new float[pre.Length]; var dh0 = new float[withH0 ? h0.Length : 0];
        MinRnnScan.Backward(cell, pre, h0, hOut, dh, dPre, dh0, batch, time, hidden);
        TestData.AssertClose(dPreExpected, dPre, 1e-4, 1e-6, $"{cell} dPre");
        if (withH0) TestData.AssertClose(dh0Expected, dh0, 1e-4, 1e-6, $"{cell} dh0");
    }

    static double[] Positive(int length, int seed)
    {
        var random = new Random(seed);
        var x = new double[length];
        for (int i = 0; i < length; i++) x[i] = 0.1 + random.NextDouble() * 2;
        return x;
    }
}
