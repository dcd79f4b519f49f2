using System.Text.Json;

namespace MinRnn.Tests.Cli;

/// <summary><c>minrnn bench scaling</c> end to end at a tiny size, and its refusals.</summary>
public sealed class BenchScalingCommandTests : IDisposable
{
    readonly string directory = Directory.CreateTempSubdirectory("minrnn-scaling").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    [Fact]
    public void MeasuresEveryCellAtEveryLengthAndWritesThePlot()
    {
        string plot = Path.Combine(directory, "scaling.png");
        var run = CliRunner.Run("bench", "scaling", "--lengths", "4,8", "--dim", "8", "--layers", "1", "--batch", "2", "--threads", "1",
            "--plot", plot, "--json");
        Assert.True(run.ExitCode == 0, run.Error);
        using var json = JsonDocument.Parse(run.Output);
        var results = json.RootElement.GetProperty("results").EnumerateArray().ToArray();
        Assert.Equal(["mingru", "minlstm", "gru", "lstm", "mingru", "minlstm", "gru", "lstm"], results.Select(r => r.GetProperty("cell").GetString()));
        Assert.Equal([4, 4, 4, 4, 8, 8, 8, 8], results.Select(r => r.GetProperty("length").GetInt32()));
        Assert.All(results, r => Assert.True(r.GetProperty("step_ms").GetDouble() > 0 && r.GetProperty("memory_bytes").GetInt64() > 0));
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], File.ReadAllBytes(plot)[..4]);
    }

    [Theory]
    [InlineData("--cell", "rwkv", "unknown cell 'rwkv'")]
    [InlineData("--lengths", "64,x", "--lengths")]
    [InlineData("--lengths", "2000000000", "available")]
    [InlineData("--dim", "60000", "available")]
    public void BadInputIsOneLineBeforeAnyMeasurement(string flag, string value, string fragment)
    {
        string plot = Path.Combine(directory, "refused.png");
        CliRunner.AssertOneLineError(CliRunner.Run("bench", "scaling", flag, value, "--plot", plot), 2, fragment);
        Assert.False(File.Exists(plot));
    }
}
