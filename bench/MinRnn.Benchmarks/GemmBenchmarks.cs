using BenchmarkDotNet.Attributes;
using MinRnn.Kernels;

namespace MinRnn.Benchmarks;

/// <summary>
/// Gemm.Multiply at the products of one minGRU (2H = 768) or minLSTM (3H = 1152) layer in training:
/// batch 64 × context 256 = 16384 rows, D = H = 384; at one thread and at all processors.
/// </summary>
public class GemmBenchmarks
{
    const int Rows = 64 * 256, Width = 384;

    /// <summary>The three products of the layer's linear map W [gates, D].</summary>
    public enum Product
    {
        /// <summary>y = x·Wᵀ: M = rows, N = gates, K = D, B stored transposed.</summary>
        Forward,
        /// <summary>dx = dy·W: M = rows, N = D, K = gates.</summary>
        InputGrad,
        /// <summary>dW = dyᵀ·x: M = gates, N = D, K = rows, A stored transposed.</summary>
        WeightGrad,
    }

    float[] a = [], b = [], c = [];
    int m, n, k;
    bool transposeA, transposeB;

    [ParamsAllValues]
    public Product Kind { get; set; }

    /// <summary>Output width of the layer's linear map: 768 for minGRU, 1152 for minLSTM.</summary>
    [Params(768, 1152)]
    public int Gates { get; set; }

    [ParamsSource(nameof(ThreadCounts))]
    public int Threads { get; set; }

    public static IEnumerable<int> ThreadCounts => new[] { 1, Environment.ProcessorCount }.Distinct();

    [GlobalSetup]
    public void Setup()
    {
        Parallelism.Threads = Threads;
        (m, n, k, transposeA, transposeB) = Kind switch
        {
            Product.Forward => (Rows, Gates, Width, false, true),
            Product.InputGrad => (Rows, Width, Gates, false, false),
            _ => (Gates, Width, Rows, true, false),
        };
        var random = new Random(1);
        a = Fill(new float[m * k], random);
        b = Fill(new float[k * n], random);
        c = new float[m * n];
    }

    [Benchmark]
    public void Multiply() => Gemm.Multiply(a, b, c, m, n, k, transposeA, transposeB);

    static float[] Fill(float[] x, Random random)
    {
        for (int i = 0; i < x.Length; i++) x[i] = random.NextSingle() * 2 - 1;
        return x;
    }
}
