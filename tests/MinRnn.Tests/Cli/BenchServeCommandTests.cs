using System.Text.Json;
using MinRnn.Data;
using MinRnn.Layers;
using MinRnn.Model;

namespace MinRnn.Tests.Cli;

/// <summary><c>minrnn bench serve</c> end to end on a tiny model and short runs, and its refusals.</summary>
public sealed class BenchServeCommandTests : IDisposable
{
    readonly string directory = Directory.CreateTempSubdirectory("minrnn-bench-serve").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    [Fact]
    public void MeasuresEveryClientCountAndTheInProcessRatesAndPrintsTheTargetsItCanCheck()
    {
        var vocabulary = Vocabulary.FromText("abc d.\n");
        var model = LanguageModel.Create(new ModelConfig(Architecture.Plain, RecurrentCell.MinGru, vocabulary.Count, Dim: 16, Layers: 1));
        model.Initialize(1);
        string checkpoint = Path.Combine(directory, "tiny.safetensors");
        Checkpoint.Save(checkpoint, model, vocabulary);

        var run = CliRunner.Run("bench", "serve", "--checkpoint", checkpoint, "--threads", "1", "--characters", "200", "--clients", "1,4",
            "--seconds", "0.3", "--json");
        Assert.True(run.ExitCode == 0, run.Error);
        using var json = JsonDocument.Parse(run.Output);
        var root = json.RootElement;
        Assert.Equal(1, root.GetProperty("threads").GetInt32());
        Assert.Equal(200, root.GetProperty("characters_per_client").GetInt32());
        var inProcess = root.GetProperty("in_process");
        Assert.True(inProcess.GetProperty("one_stream_characters_per_s").GetDouble() > 0);
        Assert.True(inProcess.GetProperty("sixteen_streams_characters_per_s").GetDouble() > 0);

        var results = root.GetProperty("results").EnumerateArray().ToArray();
        Assert.Equal([1, 4], results.Select(r => r.GetProperty("clients").GetInt32()));
        foreach (var r in results)
        {
            Assert.True(r.GetProperty("runs").GetInt32() >= 3);
            foreach (string figure in new[] { "characters_per_s", "characters_per_s_per_client", "first_character_p50_ms", "first_character_p99_ms" })
                Assert.True(r.GetProperty(figure).GetDouble() > 0, $"{figure} at {r.GetProperty("clients")} clients");
            // This tiny model may send a whole response in its first event, and then no character waited after another.
            Assert.True(r.GetProperty("gap_p50_ms").GetDouble() >= 0);
            Assert.True(r.GetProperty("first_character_p99_ms").GetDouble() >= r.GetProperty("first_character_p50_ms").GetDouble());
            Assert.True(r.GetProperty("gap_p99_ms").GetDouble() >= r.GetProperty("gap_p50_ms").GetDouble());
        }

        // Without 16 clients, only the single-client target can be checked.
        var target = Assert.Single(root.GetProperty("targets").EnumerateArray());
        Assert.Equal("one_client_vs_in_process_one_stream", target.GetProperty("name").GetString());
        Assert.True(target.GetProperty("value").GetDouble() > 0);
    }

    [Theory]
    [InlineData("--clients", "1,0", "--clients")]
    [InlineData("--clients", "4,x", "--clients")]
    [InlineData("--seconds", "0", "--seconds")]
    [InlineData("--characters", "5", "--characters")]
    public void BadInputIsOneLineBeforeAnyMeasurement(string flag, string value, string fragment) =>
        CliRunner.AssertOneLineError(CliRunner.Run("bench", "serve", flag, value), 2, fragment);
}
