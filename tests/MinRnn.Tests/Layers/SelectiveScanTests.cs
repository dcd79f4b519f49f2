using MinRnn.Kernels;
using MinRnn.Layers;

namespace MinRnn.Tests.Layers;

public class SelectiveScanTests
{
    public static TheoryData<SimdWidth> Widths => TestData.Widths();

    /// <summary>Random inputs of a scan, in float, with B|C and z placed in wider rows (as Mamba's x_proj and in_proj outputs hold them).</summary>
    sealed class Case
    {
        public readonly SelectiveScanShape Shape;
        public readonly float[] X, Delta, ALog, B, C, D, Z, H0;
        public const int BCOffset = 3, ZOffset = 2; // columns before B and before z in the wide rows
        public int BCStride => 2 * Shape.State + 5;
        public int ZStride => Shape.Channels + 4;

        public Case(SelectiveScanShape shape, int seed, bool withH0)
        {
            Shape = shape;
            int rows = shape.Rows, channels = shape.Channels, n = shape.State;
            X = TestData.Uniform(rows * channels, seed, 1.5f);
            Delta = Shift(TestData.Uniform(rows * channels, seed + 1, 2f), -1f); // Δ = softplus(-3 .. 1): 0.05 .. 1.3
            ALog = Shift(TestData.Uniform(channels * n, seed + 2, 1.5f), 0.5f);  // A = -exp(-1 .. 2)
            B = TestData.Uniform(rows * n, seed + 3);
            C = TestData.Uniform(rows * n, seed + 4);
            D = TestData.Uniform(channels, seed + 5);
            Z = TestData.Uniform(rows * channels, seed + 6, 3f);
            H0 = withH0 ? TestData.Uniform(shape.StateLength, seed + 7) : [];
        }

        static float[] Shift(float[] x, float by)
        {
            for (int i = 0; i < x.Length; i++) x[i] += by;
            return x;
        }

        public SelectiveScanReference.Inputs Reference() => new(TestData.ToDouble(X), TestData.ToDouble(Delta), TestData.ToDouble(ALog),
            TestData.ToDouble(B), TestData.ToDouble(C), TestData.ToDouble(D), TestData.ToDouble(Z), H0.Length == 0 ? null : TestData.ToDouble(H0));

        /// <summary>[rows, BCStride] with B at BCOffset and C right after it.</summary>
        public float[] WideBC()
        {
            int n = Shape.State;
            var wide = new float[Shape.Rows * BCStride];
            for (int r = 0; r < Shape.Rows; r++)
            {
                Array.Copy(B, r * n, wide, r * BCStride + BCOffset, n);
                Array.Copy(C, r * n, wide, r * BCStride + BCOffset + n, n);
            }
            return wide;
        }

        public float[] WideZ()
        {
            var wide = new float[Shape.Rows * ZStride];
            for (int r = 0; r < Shape.Rows; r++) Array.Copy(Z, r * Shape.Channels, wide, r * ZStride + ZOffset, Shape.Channels);
            return wide;
        }

        public float[] Rates()
        {
            var rates = new float[Shape.State * Shape.Channels];
            SelectiveScan.Rates(ALog, rates, Shape.Channels, Shape.State);
            return rates;
        }

        public SelectiveScanInputs Inputs(float[] wideBC, float[] wideZ) =>
            new(X, Delta, Rates(), wideBC.AsSpan(BCOffset), BCStride, D, wideZ.AsSpan(ZOffset), ZStride);

        /// <summary>The fast forward: y, the final state and the chunk states.</summary>
        public (float[] Y, float[] State, float[] ChunkStates) Forward()
        {
            var y = new float[X.Length];
            var state = H0.Length == 0 ? new float[Shape.StateLength] : (float[])H0.Clone();
            var chunkStates = new float[Shape.ChunkStatesLength];
            var bc = WideBC(); var z = WideZ();
            SelectiveScan.Forward(Inputs(bc, z), Shape, y, chunkStates, state);
            return (y, state, chunkStates);
        }

        /// <summary>The fast backward, unpacked to the reference's layout (d aLog and dD start from zero).</summary>
        public SelectiveScanReference.Gradients Backward(float[] dy)
        {
            var (_, _, chunkStates) = Forward();
            var bc = WideBC(); var z = WideZ();
            var dBC = new float[bc.Length]; var dZ = new float[z.Length];
            var dx = new float[X.Length]; var dDelta = new float[Delta.Length]; var dALog = new float[ALog.Length]; var dD = new float[D.Length];
            SelectiveScan.Backward(Inputs(bc, z), Shape, chunkStates, dy,
                new SelectiveScanGradients(dx, dDelta, dALog, dBC.AsSpan(BCOffset), dD, dZ.AsSpan(ZOffset)));
            int n = Shape.State, rows = Shape.Rows;
            var dB = new double[rows * n]; var dC = new double[rows * n]; var dz = new double[Z.Length];
            for (int r = 0; r < rows; r++)
            {
                for (int s = 0; s < n; s++)
                {
                    dB[r * n + s] = dBC[r * BCStride + BCOffset + s];
                    dC[r * n + s] = dBC[r * BCStride + BCOffset + n + s];
                }
                for (int c = 0; c < Shape.Channels; c++) dz[r * Shape.Channels + c] = dZ[r * ZStride + ZOffset + c];
            }
            return new(TestData.ToDouble(dx), TestData.ToDouble(dDelta), TestData.ToDouble(dALog), dB, dC, TestData.ToDouble(dD), dz);
        }
    }

    static IEnumerable<(string Name, double[] Input, double[] Gradient)> Pairs(SelectiveScanReference.Inputs inputs, SelectiveScanReference.Gradients g) =>
    [
        ("x", inputs.X, g.X), ("delta", inputs.Delta, g.Delta), ("aLog", inputs.ALog, g.ALog), ("B", inputs.B, g.B),
        ("C", inputs.C, g.C), ("D", inputs.D, g.D), ("z", inputs.Z, g.Z),
    ];

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ReferenceBackwardMatchesFiniteDifferencesForEveryInput(bool withH0)
    {
        var shape = new SelectiveScanShape(Batch: 2, Time: 5, Channels: 3, State: 4);
        var inputs = new Case(shape, 11, withH0).Reference();
        var weights = TestData.ToDouble(TestData.Uniform(shape.Rows * shape.Channels, 19));
        double Loss() => FiniteDifference.WeightedSum(SelectiveScanReference.Forward(inputs, shape).Y, weights);
        var gradients = SelectiveScanReference.Backward(inputs, weights, shape);
        foreach (var (name, input, gradient) in Pairs(inputs, gradients))
            FiniteDifference.AssertMatches(gradient, FiniteDifference.Gradient(input, Loss), name);
    }

    [Fact]
    public void ReferenceCarriesItsStateFromOneStretchToTheNext()
    {
        var shape = new SelectiveScanShape(Batch: 2, Time: 9, Channels: 3, State: 4);
        var whole = new Case(shape, 23, withH0: false).Reference();
        var (y, final) = SelectiveScanReference.Forward(whole, shape);
        int cut = 4;
        var (first, state) = SelectiveScanReference.Forward(Slice(whole, shape, 0, cut, null), shape with { Time = cut });
        var (second, end) = SelectiveScanReference.Forward(Slice(whole, shape, cut, shape.Time - cut, state), shape with { Time = shape.Time - cut });
        for (int b = 0; b < shape.Batch; b++)
        for (int t = 0; t < shape.Time; t++)
        for (int c = 0; c < shape.Channels; c++)
        {
            double part = t < cut ? first[(b * cut + t) * shape.Channels + c] : second[(b * (shape.Time - cut) + t - cut) * shape.Channels + c];
            Assert.Equal(y[(b * shape.Time + t) * shape.Channels + c], part, 1e-12);
        }
        for (int i = 0; i < final.Length; i++) Assert.Equal(final[i], end[i], 1e-12);
    }

    /// <summary>Steps [start, start + length) of every sequence, from state <paramref name="h0"/>.</summary>
    static SelectiveScanReference.Inputs Slice(SelectiveScanReference.Inputs inputs, SelectiveScanShape shape, int start, int length, double[]? h0)
    {
        double[] Rows(double[] a, int width)
        {
            var part = new double[shape.Batch * length * width];
            for (int b = 0; b < shape.Batch; b++) Array.Copy(a, (b * shape.Time + start) * width, part, b * length * width, length * width);
            return part;
        }
        int c = shape.Channels, n = shape.State;
        return new(Rows(inputs.X, c), Rows(inputs.Delta, c), inputs.ALog, Rows(inputs.B, n), Rows(inputs.C, n), inputs.D, Rows(inputs.Z, c), h0);
    }

    /// <summary>Odd shapes: channels that fill no vector, a state that is not a power of two, a time that ends inside a chunk, and a batch of one (channel groups).</summary>
    public static TheoryData<SimdWidth, int, int, int, int, bool> WidthsAndShapes()
    {
        var data = new TheoryData<SimdWidth, int, int, int, int, bool>();
        foreach (SimdWidth width in TestData.Widths())
        {
            data.Add(width, 3, 45, 37, 5, false);
            data.Add(width, 1, 70, 53, 3, true);
            data.Add(width, 2, 1, 16, 16, true);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(WidthsAndShapes))]
    public void FastForwardAndBackwardMatchTheReference(SimdWidth width, int batch, int time, int channels, int state, bool withH0)
    {
        using var _ = Simd.Force(width);
        var shape = new SelectiveScanShape(batch, time, channels, state);
        var scan = new Case(shape, 31 + time, withH0);
        var reference = scan.Reference();
        var (expectedY, expectedState) = SelectiveScanReference.Forward(reference, shape);
        var (y, final, _) = scan.Forward();
        TestData.AssertClose(expectedY, y, 1e-4, 1e-5, "y");
        TestData.AssertClose(expectedState, final, 1e-4, 1e-5, "final state");

        var dy = TestData.Uniform(y.Length, 37);
        var expected = SelectiveScanReference.Backward(reference, TestData.ToDouble(dy), shape);
        var actual = scan.Backward(dy);
        foreach (var ((name, _, e), (_, _, a)) in Pairs(reference, expected).Zip(Pairs(reference, actual)))
            AssertClose(e, a, 2e-4, name);
    }

    /// <summary>
    /// Over 4,097 steps (129 chunks) the fast kernel's gradient of every input, at sampled coordinates early, in the middle
    /// and at the end, equals central differences of the double-precision loss.
    /// </summary>
    [Fact]
    public void FastBackwardMatchesFiniteDifferencesOverMoreThan4096Steps()
    {
        var shape = new SelectiveScanShape(Batch: 1, Time: 4097, Channels: 3, State: 2);
        var scan = new Case(shape, 41, withH0: false);
        var weights = TestData.Uniform(shape.Rows * shape.Channels, 43);
        var analytic = scan.Backward(weights);
        var inputs = scan.Reference();
        var w = TestData.ToDouble(weights);
        double Loss() => FiniteDifference.WeightedSum(SelectiveScanReference.Forward(inputs, shape).Y, w);
        var random = new Random(47);
        foreach (var (name, input, gradient) in Pairs(inputs, analytic))
        {
            var picks = new[] { 0, input.Length / 2, input.Length - 1, random.Next(input.Length) };
            foreach (int i in picks)
            {
                double saved = input[i], step = 1e-5;
                input[i] = saved + step; double plus = Loss();
                input[i] = saved - step; double minus = Loss();
                input[i] = saved;
                double numeric = (plus - minus) / (2 * step);
                Assert.True(Math.Abs(numeric - gradient[i]) <= 1e-3 * Math.Abs(numeric) + 2e-4,
                    $"{name}[{i}]: analytic {gradient[i]:G6}, finite difference {numeric:G6}");
            }
        }
    }

    [Fact]
    public void ResultsDoNotDependOnTheThreadCount()
    {
        var shape = new SelectiveScanShape(Batch: 3, Time: 40, Channels: 70, State: 6);
        var scan = new Case(shape, 53, withH0: true);
        var dy = TestData.Uniform(shape.Rows * shape.Channels, 59);
        var (one, two) = ThreadCount.OneThenTwo(() => (scan.Forward().Y, scan.Backward(dy)));
        Assert.Equal(one.Item1, two.Item1);
        foreach (var ((name, _, a), (_, _, b)) in Pairs(scan.Reference(), one.Item2).Zip(Pairs(scan.Reference(), two.Item2)))
            Assert.True(a.AsSpan().SequenceEqual(b), name);
    }

    /// <summary>
    /// Step by step from a carried state (generation's single steps, which take their own path) and in one forward over the
    /// whole: the same outputs and final state bit for bit, at every width, with channels that leave the last block of the
    /// state's table part-filled.
    /// </summary>
    [Theory]
    [MemberData(nameof(TestData.Widths), MemberType = typeof(TestData))]
    public void ACarriedStateContinuesTheScanExactlyAsOneForwardOverTheWhole(SimdWidth width)
    {
        using var _ = Simd.Force(width);
        var shape = new SelectiveScanShape(Batch: 2, Time: 50, Channels: 37, State: 5);
        var scan = new Case(shape, 61, withH0: false);
        var (whole, wholeState, _) = scan.Forward();
        var bc = scan.WideBC(); var z = scan.WideZ();
        var state = new float[shape.StateLength];
        var y = new float[whole.Length];
        var rates = scan.Rates();
        // One sequence at a time, one step at a time, as generation reads it.
        for (int b = 0; b < shape.Batch; b++)
        {
            var stream = new float[shape.State * shape.Channels];
            for (int t = 0; t < shape.Time; t++)
            {
                int row = b * shape.Time + t, c = shape.Channels;
                var step = new SelectiveScanInputs(scan.X.AsSpan(row * c, c), scan.Delta.AsSpan(row * c, c), rates,
                    bc.AsSpan(row * scan.BCStride + Case.BCOffset, 2 * shape.State), scan.BCStride, scan.D,
                    z.AsSpan(row * scan.ZStride + Case.ZOffset, c), scan.ZStride);
                SelectiveScan.Forward(step, shape with { Batch = 1, Time = 1 }, y.AsSpan(row * c, c), default, stream);
            }
            stream.CopyTo(state, b * stream.Length);
        }
        Assert.Equal(whole, y);
        Assert.Equal(wholeState, state);
    }

    /// <summary>
    /// The rates' and the state's table: blocks of 16 channels, each [N, 16], the last narrower; every (state, channel)
    /// has its own place, and channels [c0, c1) at block boundaries are the elements [c0·N, c1·N), laid out as a table
    /// of their own.
    /// </summary>
    [Fact]
    public void TheTableKeepsEachBlockOfChannelsTogether()
    {
        var shape = new SelectiveScanShape(Batch: 2, Time: 1, Channels: 37, State: 3);
        Assert.Equal(0, shape.TableIndex(0, 0));
        Assert.Equal(16, shape.TableIndex(1, 0));
        Assert.Equal(15, shape.TableIndex(0, 15));
        Assert.Equal(48, shape.TableIndex(0, 16));
        Assert.Equal(32 * 3 + 1 * 5 + 1, shape.TableIndex(1, 33));
        Assert.Equal(5, shape.TableStride(36));
        Assert.Equal(37 * 3 + 32 * 3 + 2 * 5 + 4, shape.StateIndex(1, 2, 36));
        var places = Enumerable.Range(0, 3).SelectMany(s => Enumerable.Range(0, 37).Select(c => shape.TableIndex(s, c))).ToHashSet();
        Assert.Equal(Enumerable.Range(0, 3 * 37).Select(i => (long)i).ToHashSet(), places);
        var part = shape with { Channels = 37 - 16 };
        for (int s = 0; s < 3; s++)
        for (int c = 16; c < 37; c++) Assert.Equal(shape.TableIndex(s, c) - 16 * 3, part.TableIndex(s, c - 16));
    }

    [Fact]
    public void BadInputIsRefusedWithTheOperationAndShapesNamed()
    {
        var shape = new SelectiveScanShape(2, 3, 4, 2);
        var scan = new Case(shape, 71, withH0: false);
        var bc = scan.WideBC(); var z = scan.WideZ();
        var e = Assert.Throws<ArgumentException>(() => SelectiveScan.Forward(scan.Inputs(bc, z), shape, new float[5], default, default));
        Assert.Contains("SelectiveScan.Forward: y has 5 elements, expected [2, 3, 4] = 24", e.Message);
        e = Assert.Throws<ArgumentException>(() => SelectiveScan.Forward(scan.Inputs(bc, z), shape with { State = 0 }, new float[24], default, default));
        Assert.Contains("state must be positive", e.Message);
        e = Assert.Throws<ArgumentException>(() => SelectiveScan.Forward(
            new SelectiveScanInputs(scan.X, scan.Delta, scan.Rates(), bc.AsSpan(0, 10), scan.BCStride, scan.D, z, scan.ZStride), shape, new float[24], default, default));
        Assert.Contains("bc has 10 elements, expected at least", e.Message);
        e = Assert.Throws<ArgumentException>(() => SelectiveScan.Forward(scan.Inputs(bc, z), shape, new float[24], new float[3], default));
        Assert.Contains("chunkStates has 3 elements", e.Message);
        e = Assert.Throws<ArgumentException>(() => SelectiveScan.Backward(scan.Inputs(bc, z), shape, new float[shape.ChunkStatesLength], new float[24],
            new SelectiveScanGradients(new float[24], new float[24], new float[8], new float[bc.Length], new float[3], new float[z.Length])));
        Assert.Contains("SelectiveScan.Backward: dD has 3 elements", e.Message);
    }

    static void AssertClose(double[] expected, double[] actual, double tolerance, string what)
    {
        double scale = expected.Max(Math.Abs);
        for (int i = 0; i < expected.Length; i++)
            if (!(Math.Abs(actual[i] - expected[i]) <= tolerance * (Math.Abs(expected[i]) + 0.01 * scale)))
                Assert.Fail($"{what}[{i}]: expected {expected[i]:R}, got {actual[i]:R}");
    }
}
