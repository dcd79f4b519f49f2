using System.Globalization;
using System.Text.RegularExpressions;

namespace MinRnn.Tests.Cli;

/// <summary><c>minrnn bench generate --context</c>: one stream at a given context, and the state each stream holds there.</summary>
public sealed class BenchGenerateCommandTests
{
    [Fact]
    public void AtAContextTheTransformersCacheGrowsWithItAndTheRecurrentStateDoesNot()
    {
        long Bytes(string output, int context)
        {
            var match = Regex.Match(output, $@"context {context.ToString("N0", CultureInfo.InvariantCulture)}: 1 stream on 1 thread: ([\d,]+) characters/s, state per stream ([\d.]+) (kB|MB)");
            Assert.True(match.Success, output);
            Assert.True(double.Parse(match.Groups[1].Value, NumberStyles.AllowThousands, CultureInfo.InvariantCulture) > 0);
            return (long)(double.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture) * (match.Groups[3].Value == "MB" ? 1e6 : 1e3));
        }

        var transformer = CliRunner.Run("bench", "generate", "--preset", "gpt-cpu", "--context", "300", "--context", "600");
        Assert.True(transformer.ExitCode == 0, transformer.Error);
        // Keys and values of 4 layers x 128 for every position of the block (the context): about 2 · 4 · 128 · 4 bytes each.
        Assert.InRange(Bytes(transformer.Output, 300), 300 * 4096 * 0.95, 300 * 4096 * 1.2);
        Assert.InRange(Bytes(transformer.Output, 600), 600 * 4096 * 0.95, 600 * 4096 * 1.2);

        var recurrent = CliRunner.Run("bench", "generate", "--preset", "seed", "--context", "300", "--context", "600");
        Assert.True(recurrent.ExitCode == 0, recurrent.Error);
        Assert.Equal(Bytes(recurrent.Output, 300), Bytes(recurrent.Output, 600));
    }

    [Fact]
    public void TheBreakdownListsTheKernelsOfACharacterWithTheProductsByPackedWeights()
    {
        var run = CliRunner.Run("bench", "generate", "--preset", "mamba", "--context", "64", "--breakdown");
        Assert.True(run.ExitCode == 0, run.Error);
        Assert.Matches(@"kernels per character, over 32 profiled characters \(median [\d.]+ µs\)", run.Output);
        // Per character: six blocks of in_proj (1536 x 384, its GFLOP/s and GB/s given) and one selective scan step each.
        Assert.Matches(@"packed product 1×1536×384 +│ 6 +│ [\d.]+ +│ [\d.]+% +│ \d+ +│ [\d.]+ +│", run.Output);
        Assert.Matches(@"SelectiveScan\.ForwardJob +│ 6 +│", run.Output);
        Assert.Contains("outside the kernels", run.Output);
    }

    [Fact]
    public void TheBreakdownNeedsAContext() =>
        CliRunner.AssertOneLineError(CliRunner.Run("bench", "generate", "--breakdown"), 2, "--breakdown times the one-stream runs of --context");

    [Theory]
    [InlineData("--context", "1", "--context must be at least 2 characters")]
    [InlineData("--preset", "nope", "unknown preset 'nope'")]
    public void BadInputIsOneLine(string flag, string value, string fragment) =>
        CliRunner.AssertOneLineError(CliRunner.Run("bench", "generate", flag, value), 2, fragment);
}
