using System.Text.Json;

namespace MinRnn.Tests.Cli;

/// <summary><c>minrnn bench train</c>: throughput, MFU and the per-kernel breakdown, as JSON.</summary>
public sealed class BenchTrainCommandTests
{
    [Fact]
    public void TheBreakdownListsTheKernelsOfAStepWithSharesThatAddUpToIt()
    {
        var run = CliRunner.Run("bench", "train", "--preset", "quick", "--steps", "1", "--threads", "1", "--breakdown", "--json");
        Assert.True(run.ExitCode == 0, run.Error);
        using var json = JsonDocument.Parse(run.Output);
        var results = json.RootElement.GetProperty("results").EnumerateArray().ToArray();
        Assert.Equal(["minGRU", "minLSTM"], results.Select(r => r.GetProperty("cell").GetString()));
        foreach (var result in results)
        {
            Assert.True(result.GetProperty("tokens_per_s").GetDouble() > 0);
            var rows = result.GetProperty("breakdown").EnumerateArray().ToArray();
            Assert.Equal(100, rows.Sum(r => r.GetProperty("share_percent").GetDouble()), 6);
            Assert.Equal("outside the kernels", rows[^1].GetProperty("operation").GetString());
            var kernels = rows[..^1];
            Assert.Equal(kernels.Select(r => r.GetProperty("ms_per_step").GetDouble()).OrderDescending(), kernels.Select(r => r.GetProperty("ms_per_step").GetDouble()));
            // The residual block's products (16384 rows of 64 x 256) carry GFLOP/s, and its scan, norm and conv are there.
            Assert.Contains(kernels, r => r.GetProperty("operation").GetString()!.StartsWith("GEMM 16384×", StringComparison.Ordinal) && r.GetProperty("gflops").GetDouble() > 0);
            // The memory-bound kernels around them carry GB/s.
            foreach (string kernel in new[] { "MinRnnScan.", "RmsNorm.ForwardJob", "CausalConv.", "AdamW.Job" })
                Assert.Contains(kernels, r => r.GetProperty("operation").GetString()!.StartsWith(kernel, StringComparison.Ordinal)
                    && r.GetProperty("gb_per_s").GetDouble() > 0);
        }
    }
}
