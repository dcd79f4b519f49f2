using MinRnn.Cli.Bench;

namespace MinRnn.Tests.Cli;

public class MemoryBenchTests
{
    [Fact]
    public void EachPresetsRowReadsItsWeightsSizeAtBothThreadCounts()
    {
        var rows = ThreadCount.With(2, () => MemoryBench.Rows(new BenchRunner(threads: 2, repeat: 1)).ToList());

        Assert.Equal(["read the gpt-cpu preset's weights", "read the mamba preset's weights"], rows.Select(r => r.Name));
        foreach (var (row, preset) in rows.Zip(new[] { Preset.GptCpu, Preset.Mamba }))
        {
            double megabytes = (preset.Model with { VocabularySize = GenerationBench.ShakespeareCharacters.Length }).ParameterCount() * 4 / 1e6;
            Assert.StartsWith(megabytes.ToString("F1", System.Globalization.CultureInfo.InvariantCulture) + " MB", row.Shape);
            Assert.Equal("memory", row.Group);
            Assert.True(row.OneThread.Milliseconds > 0 && row.AllThreads.Milliseconds > 0);
            Assert.Equal(2, row.AllThreads.Threads);
        }
    }
}
