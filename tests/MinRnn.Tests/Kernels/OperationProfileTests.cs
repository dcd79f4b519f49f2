using MinRnn.Kernels;
using MinRnn.Layers;

namespace MinRnn.Tests.Kernels;

/// <summary>The kernel timer behind <c>bench train --breakdown</c> (per thread, so other tests do not disturb it).</summary>
public sealed class OperationProfileTests
{
    [Fact]
    public void OnItTimesEachOutermostKernelWithTheProductsFlopsAndTheBytesMovedAndOffNothing()
    {
        var a = TestData.Uniform(64 * 32, 1); var b = TestData.Uniform(32 * 48, 2); var c = new float[64 * 48];
        OperationProfile.Take();
        Gemm.Multiply(a, b, c, 64, 48, 32);
        Assert.Empty(OperationProfile.Take());

        OperationProfile.Enabled = true;
        try
        {
            Gemm.Multiply(a, b, c, 64, 48, 32);
            Gemm.Multiply(a, b, c, 64, 48, 32);
            using (OperationProfile.Measure("outer"))
                Gemm.Multiply(a, b, c, 64, 48, 32); // nested: counted in "outer" only
            Residual.Add(c, c, c);
        }
        finally { OperationProfile.Enabled = false; }
        var entries = OperationProfile.Take().ToDictionary(e => e.Name);
        var gemm = entries["GEMM 64×48×32"];
        Assert.Equal(2, gemm.Calls);
        Assert.Equal(2 * 2.0 * 64 * 48 * 32, gemm.Flops);
        Assert.True(gemm.Seconds > 0);
        Assert.Equal(1, entries["outer"].Calls);
        Assert.Equal(0, gemm.Bytes);
        // c += c over 64 x 48 floats: c and the branch read, c written.
        var add = Assert.Single(entries.Values, e => e.Name.StartsWith("Residual.", StringComparison.Ordinal));
        Assert.Equal(3.0 * 4 * 64 * 48, add.Bytes);
        Assert.Equal(3, entries.Count);
        Assert.Empty(OperationProfile.Take());
    }
}
