namespace MinRnn.Cli.Bench;

/// <summary>
/// One matrix product C [M, N] = op(A) · op(B) with op(A) [M, K] and op(B) [K, N], as
/// <see cref="MinRnn.Kernels.Gemm.Multiply"/> takes it.
/// </summary>
internal sealed record GemmShape(string Name, int M, int N, int K, bool TransposeA, bool TransposeB)
{
    /// <summary>Size of one product in GFLOP (one multiply and one add per term).</summary>
    public double Gflop => 2.0 * M * N * K / 1e9;

    /// <summary>"M×N×K" with the stored-transposed operands marked.</summary>
    public string Description => $"{M}×{N}×{K}{(TransposeA ? " Aᵀ" : "")}{(TransposeB ? " Bᵀ" : "")}";

    /// <summary>
    /// The three products of a linear map W [outWidth, inWidth] over <paramref name="rows"/> rows in
    /// training: forward y = x·Wᵀ, input gradient dx = dy·W and weight gradient dW = dyᵀ·x.
    /// </summary>
    public static GemmShape[] Linear(int rows, int inWidth, int outWidth) =>
    [
        new("forward y = x·Wᵀ", rows, outWidth, inWidth, TransposeA: false, TransposeB: true),
        new("input grad dx = dy·W", rows, inWidth, outWidth, TransposeA: false, TransposeB: false),
        new("weight grad dW = dyᵀ·x", outWidth, inWidth, rows, TransposeA: true, TransposeB: false),
    ];
}
