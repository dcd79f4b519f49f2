using System.Collections.Concurrent;
using MinRnn.Kernels;
using MinRnn.Layers;

namespace MinRnn.Tests.Layers;

public class CausalAttentionTests
{
    public static TheoryData<SimdWidth> Widths => TestData.Widths();

    /// <summary>
    /// (batch, time, heads, dim): T = 1; T shorter than a tile with an odd head size (7); T = 37, not a
    /// multiple of any tile, head size 17; head size 1 across two key blocks (T = 70); head size 24, a
    /// multiple of 8 but not of every tile width; T = 256 with head size 64.
    /// </summary>
    static readonly (int Batch, int Time, int Heads, int Dim)[] Shapes =
        [(2, 1, 2, 8), (1, 5, 3, 21), (2, 37, 2, 34), (1, 70, 4, 4), (1, 40, 2, 48), (1, 256, 2, 128)];

    static readonly float[] Dropouts = [0f, 0.2f];

    /// <summary>The reference results, computed once per (shape, dropout) and shared by every width.</summary>
    static readonly ConcurrentDictionary<(int, int, int, int, float), Expected> references = new();

    sealed record Expected(float[] Qkv, float[] Dy, double[] Y, double[] Lse, double[] DQkv);

    [Theory]
    [InlineData(0f)]
    [InlineData(0.3f)]
    public void ReferenceBackwardMatchesFiniteDifferences(float dropout)
    {
        int batch = 2, time = 7, heads = 3, dim = 15;
        var qkv = TestData.ToDouble(TestData.Uniform(batch * time * 3 * dim, 1, 1.5f));
        var weights = TestData.ToDouble(TestData.Uniform(batch * time * dim, 2));
        double Loss()
        {
            var y = new double[batch * time * dim];
            CausalAttentionReference.Forward(qkv, y, new double[batch * heads * time], batch, time, heads, dim, dropout, 5);
            return FiniteDifference.WeightedSum(y, weights);
        }
        var dQkv = new double[qkv.Length];
        CausalAttentionReference.Backward(qkv, weights, dQkv, batch, time, heads, dim, dropout, 5);
        FiniteDifference.AssertMatches(dQkv, FiniteDifference.Gradient(qkv, Loss), "dQkv");
    }

    /// <summary>
    /// Tolerances against the double-precision reference, with qkv in [-2, 2] and dy in [-1, 1]
    /// (|y| &lt;= 2.5, |L| &lt;= 10, |dQkv| &lt;= 3.5): y and L within 4e-6 + 2e-5 relative, float32 sums of up
    /// to 256 terms, each score a chain of 64 products, an exp within 2 ulp; dQkv within 1e-5 + 1e-4
    /// relative, since dS = P (dP - D) subtracts sums of similar size and dq, dk add up to 256 such
    /// terms. The largest absolute errors seen on these shapes are 8e-7 (y), 1e-6 (L) and 2.4e-6 (dQkv).
    /// </summary>
    [Theory]
    [MemberData(nameof(Widths))]
    public void FastMatchesReference(SimdWidth width)
    {
        using var _ = Simd.Force(width);
        foreach (var (batch, time, heads, dim) in Shapes)
        foreach (float dropout in Dropouts)
        {
            string what = $"(B {batch}, T {time}, heads {heads}, D {dim}, dropout {dropout}, {width})";
            var expected = Reference(batch, time, heads, dim, dropout);
            var y = new float[batch * time * dim]; var lse = new float[batch * heads * time];
            CausalAttention.Forward(expected.Qkv, y, lse, batch, time, heads, dim, dropout, 9);
            TestData.AssertClose(expected.Y, y, 2e-5, 4e-6, "y " + what);
            TestData.AssertClose(expected.Lse, lse, 2e-5, 4e-6, "logSumExp " + what);

            var dQkv = new float[expected.Qkv.Length];
            dQkv.AsSpan().Fill(float.NaN); // overwritten, not accumulated
            CausalAttention.Backward(expected.Qkv, y, lse, expected.Dy, dQkv, batch, time, heads, dim, dropout, 9);
            TestData.AssertClose(expected.DQkv, dQkv, 1e-4, 1e-5, "dQkv " + what);
        }
    }

    /// <summary>Every score, sum and output value is the same chain of operations at every width, so the forward gives the same bits.</summary>
    [Fact]
    public void ForwardIsTheSameAtEveryWidth()
    {
        int batch = 2, time = 70, heads = 3, dim = 15;
        var qkv = TestData.Uniform(batch * time * 3 * dim, 7, 2f);
        float[]? first = null;
        foreach (SimdWidth width in TestData.Widths())
        {
            using var _ = Simd.Force(width);
            var y = new float[batch * time * dim]; var lse = new float[batch * heads * time];
            CausalAttention.Forward(qkv, y, lse, batch, time, heads, dim, 0.2f, 4);
            var both = y.Concat(lse).ToArray();
            first ??= both;
            Assert.Equal(first, both);
        }
    }

    [Fact]
    public void DropoutDropsAboutPOfTheWeightsAndDependsOnTheSeed()
    {
        int batch = 1, time = 64, heads = 2, dim = 16;
        var qkv = TestData.Uniform(batch * time * 3 * dim, 3, 2f);
        float[] Run(float dropout, ulong seed)
        {
            var y = new float[batch * time * dim];
            CausalAttention.Forward(qkv, y, new float[batch * heads * time], batch, time, heads, dim, dropout, seed);
            return y;
        }
        var plain = Run(0f, 1);
        Assert.Equal(plain, Run(0f, 2));
        Assert.NotEqual(plain, Run(0.5f, 1));
        Assert.NotEqual(Run(0.5f, 1), Run(0.5f, 2));
        int kept = 0, total = 0;
        for (int h = 0; h < heads; h++)
        for (int i = 0; i < time; i++)
        for (int j = 0; j <= i; j++, total++)
            if (Dropout.Keeps(1, CausalAttention.MaskIndex(0, h, i, j, heads, time), 0.5f)) kept++;
        Assert.InRange(kept / (double)total, 0.45, 0.55);
    }

    /// <summary>
    /// Sequences given with their index in a larger batch draw that batch's masks: the second sequence alone, as sequence 1,
    /// gives the second half of the two-sequence forward and backward, bit for bit (each (sequence, head) is computed alone).
    /// </summary>
    [Fact]
    public void ASequenceAtItsIndexInTheBatchDrawsTheBatchsMask()
    {
        int batch = 2, time = 40, heads = 2, dim = 16;
        var qkv = TestData.Uniform(batch * time * 3 * dim, 4, 2f);
        var dy = TestData.Uniform(batch * time * dim, 5);
        var y = new float[batch * time * dim]; var lse = new float[batch * heads * time]; var dQkv = new float[qkv.Length];
        CausalAttention.Forward(qkv, y, lse, batch, time, heads, dim, 0.3f, 7);
        CausalAttention.Backward(qkv, y, lse, dy, dQkv, batch, time, heads, dim, 0.3f, 7);
        int half = time * 3 * dim;
        var y1 = new float[time * dim]; var lse1 = new float[heads * time]; var dQkv1 = new float[half];
        CausalAttention.Forward(qkv.AsSpan(half), y1, lse1, 1, time, heads, dim, 0.3f, 7, firstSequence: 1);
        CausalAttention.Backward(qkv.AsSpan(half), y1, lse1, dy.AsSpan(time * dim), dQkv1, 1, time, heads, dim, 0.3f, 7, firstSequence: 1);
        Assert.Equal(y[(time * dim)..], y1);
        Assert.Equal(dQkv[half..], dQkv1);
        CausalAttention.Forward(qkv.AsSpan(half), y1, lse1, 1, time, heads, dim, 0.3f, 7);
        Assert.NotEqual(y[(time * dim)..], y1);
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void DecodeEqualsForwardLastRowForEveryPrefix(SimdWidth width)
    {
        using var _ = Simd.Force(width);
        int batch = 2, time = 70, heads = 3, dim = 15, capacity = 75;
        var qkv = TestData.Uniform(batch * time * 3 * dim, 4, 2f);
        int stride = CausalAttention.KeyCacheStride(capacity);
        // Stale keys past the positions read must not matter: the cache starts full of noise.
        var keys = TestData.Uniform(batch * dim * stride, 9, 2f); var values = TestData.Uniform(batch * capacity * dim, 10, 2f);
        for (int b = 0; b < batch; b++)
        for (int t = 0; t < time; t++)
        {
            for (int c = 0; c < dim; c++) keys[(b * dim + c) * stride + t] = qkv[(b * time + t) * 3 * dim + dim + c];
            qkv.AsSpan((b * time + t) * 3 * dim + 2 * dim, dim).CopyTo(values.AsSpan((b * capacity + t) * dim));
        }
        for (int length = 1; length <= time; length++)
        {
            var prefix = new float[batch * length * 3 * dim];
            var q = new float[batch * dim];
            for (int b = 0; b < batch; b++)
            {
                qkv.AsSpan(b * time * 3 * dim, length * 3 * dim).CopyTo(prefix.AsSpan(b * length * 3 * dim));
                qkv.AsSpan((b * time + length - 1) * 3 * dim, dim).CopyTo(q.AsSpan(b * dim));
            }
            var y = new float[batch * length * dim];
            CausalAttention.Forward(prefix, y, new float[batch * heads * length], batch, length, heads, dim);
            var lastRows = new float[batch * dim];
            for (int b = 0; b < batch; b++) y.AsSpan((b * length + length - 1) * dim, dim).CopyTo(lastRows.AsSpan(b * dim));

            var decoded = new float[batch * dim];
            CausalAttention.Decode(q, keys, values, decoded, batch, heads, dim, length, capacity);
            Assert.Equal(lastRows, decoded); // bit for bit

            // Each head on its own (as team threads share them): the same, for each sequence.
            for (int b = 0; b < batch; b++)
            {
                var byHeads = new float[dim];
                for (int h = 0; h < heads; h++)
                    CausalAttention.DecodeHeads(q.AsSpan(b * dim, dim), keys.AsSpan(b * dim * stride, dim * stride),
                        values.AsSpan(b * capacity * dim, capacity * dim), byHeads, heads, dim, length, capacity, h, h + 1);
                Assert.Equal(lastRows.AsSpan(b * dim, dim).ToArray(), byHeads);
            }
        }
    }

    [Fact]
    public void ResultsDoNotDependOnThreadCount()
    {
        int batch = 4, time = 100, heads = 3, dim = 48;
        var qkv = TestData.Uniform(batch * time * 3 * dim, 5, 2f);
        var dy = TestData.Uniform(batch * time * dim, 6);
        var (one, two) = ThreadCount.OneThenTwo(() =>
        {
            var y = new float[batch * time * dim]; var lse = new float[batch * heads * time]; var dQkv = new float[qkv.Length];
            CausalAttention.Forward(qkv, y, lse, batch, time, heads, dim, 0.1f, 3);
            CausalAttention.Backward(qkv, y, lse, dy, dQkv, batch, time, heads, dim, 0.1f, 3);
            return y.Concat(lse).Concat(dQkv).ToArray();
        });
        Assert.Equal(one, two);
    }

    [Fact]
    public void BadInputIsRefusedWithOneLine()
    {
        int batch = 2, time = 3, heads = 2, dim = 4;
        var qkv = new float[batch * time * 3 * dim]; var y = new float[batch * time * dim]; var lse = new float[batch * heads * time];
        var dQkv = new float[qkv.Length];

        void Refused(Action call, string expected)
        {
            var e = Assert.Throws<ArgumentException>(call);
            Assert.Contains(expected, e.Message);
            Assert.DoesNotContain('\n', e.Message);
        }

        Refused(() => CausalAttention.Forward(new float[batch * time * 3 * 5], new float[batch * time * 5], lse, batch, time, heads, 5),
            "CausalAttention.Forward: heads (2) must divide dim (5)");
        Refused(() => CausalAttention.Forward(qkv.AsSpan(1), y, lse, batch, time, heads, dim), "CausalAttention.Forward: qkv has 71 elements, expected [2, 3, 12]");
        Refused(() => CausalAttention.Forward(qkv, y.AsSpan(1), lse, batch, time, heads, dim), "y has 23 elements");
        Refused(() => CausalAttention.Forward(qkv, y, lse.AsSpan(1), batch, time, heads, dim), "logSumExp has 11 elements, expected [2, 2, 3]");
        Refused(() => CausalAttention.Forward(qkv, y, lse, batch, 0, heads, dim), "time must be positive");
        Refused(() => CausalAttention.Forward(qkv, qkv.AsSpan(0, y.Length), lse, batch, time, heads, dim), "overlaps qkv");
        foreach (float p in new[] { 1f, -0.1f, float.NaN })
            Refused(() => CausalAttention.Forward(qkv, y, lse, batch, time, heads, dim, p), "dropout probability must be in [0, 1)");

        Refused(() => CausalAttention.Backward(qkv, y, lse, y, dQkv.AsSpan(2), batch, time, heads, dim), "CausalAttention.Backward: dQkv has 70 elements");
        Refused(() => CausalAttention.Backward(qkv, y, lse, y.AsSpan(1), dQkv, batch, time, heads, dim), "dy has 23 elements");
        Refused(() => CausalAttention.Backward(qkv, y, lse, y, dQkv, batch, time, 3, dim), "heads (3) must divide dim (4)");

        var q = new float[batch * dim]; var keys = new float[batch * dim * 16]; var values = new float[batch * 5 * dim]; var decoded = new float[batch * dim];
        Refused(() => CausalAttention.Decode(q, keys, values, decoded, batch, heads, dim, 6, 5), "CausalAttention.Decode: length 6 exceeds the cache capacity 5");
        Refused(() => CausalAttention.Decode(q, keys, values, decoded, batch, heads, dim, 0, 5), "length must be positive");
        Refused(() => CausalAttention.Decode(q, keys.AsSpan(1), values, decoded, batch, heads, dim, 3, 5), "keys has 127 elements, expected [2, 4, 16]");
        Refused(() => CausalAttention.Decode(q, keys, values.AsSpan(1), decoded, batch, heads, dim, 3, 5), "values has 39 elements, expected [2, 5, 4]");
        Refused(() => CausalAttention.Decode(q, keys, values, decoded, batch, 3, dim, 3, 5), "heads (3) must divide dim (4)");
        var oneKeys = new float[dim * 16]; var oneValues = new float[5 * dim];
        Refused(() => CausalAttention.DecodeHeads(q.AsSpan(0, dim), oneKeys, oneValues, decoded.AsSpan(0, dim), heads, dim, 3, 5, 1, 3),
            "CausalAttention.DecodeHeads: heads [1, 3) are not a range of the 2 heads");
        Refused(() => CausalAttention.DecodeHeads(q.AsSpan(0, dim), oneKeys, oneValues, decoded.AsSpan(0, dim), heads, dim, 6, 5, 0, 1),
            "length 6 exceeds the cache capacity 5");
    }

    static Expected Reference(int batch, int time, int heads, int dim, float dropout) =>
        references.GetOrAdd((batch, time, heads, dim, dropout), _ =>
        {
            var qkv = TestData.Uniform(batch * time * 3 * dim, time * 31 + dim, 2f);
            var dy = TestData.Uniform(batch * time * dim, time * 31 + dim + 1);
            var y = new double[batch * time * dim]; var lse = new double[batch * heads * time]; var dQkv = new double[qkv.Length];
            CausalAttentionReference.Forward(TestData.ToDouble(qkv), y, lse, batch, time, heads, dim, dropout, 9);
            CausalAttentionReference.Backward(TestData.ToDouble(qkv), TestData.ToDouble(dy), dQkv, batch, time, heads, dim, dropout, 9);
            return new Expected(qkv, dy, y, lse, dQkv);
        });
}
