using System.Text.Json;
using MinRnn.Model;

namespace MinRnn.Tests.Cli;

/// <summary><c>minrnn train --task selective-copy</c>, <c>eval</c> and <c>generate</c> of its checkpoints, and their answers to bad input.</summary>
public sealed class SelectiveCopyCommandTests : IDisposable
{
    readonly string directory = Directory.CreateTempSubdirectory("minrnn-copy").FullName;

    static readonly string[] Tiny =
    [
        "--task", "selective-copy", "--copy-length", "16", "--copy-tokens", "4", "--copy-vocab", "6", "--copy-validation", "64",
        "--layers", "2", "--dim", "16", "--expansion", "2", "--batch", "8", "--grad-accum", "2", "--steps", "12", "--eval-every", "6", "--threads", "1",
    ];

    public void Dispose() => Directory.Delete(directory, recursive: true);

    string Out(string name) => Path.Combine(directory, name);

    [Fact]
    public void ATaskRunKeepsItsMostAccurateCheckpointWhichEvalScoresOnTheTasksValidationSetAndGenerateRefuses()
    {
        var run = CliRunner.Run(["train", "--out", Out("run"), .. Tiny]);
        Assert.True(run.ExitCode == 0, run.Error);
        Assert.Contains("selective-copy (L 16, M 4, vocabulary 6)", run.Output);
        Assert.Contains("residual minGRU 2x16 (H=32, conv 0, no MLP", run.Output); // the copy-cpu preset's block
        Assert.Contains("12 steps of 8 x 20 (2 accumulated per step)", run.Output);
        Assert.Contains("evaluate  minrnn eval", run.Output);
        Assert.DoesNotContain("minrnn generate", run.Output);

        var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(Out("run"), "run.json"))).RootElement;
        Assert.Equal("copy-cpu", manifest.GetProperty("preset").GetString());
        Assert.Equal("selective-copy", manifest.GetProperty("task").GetProperty("name").GetString());
        Assert.Equal("val_accuracy", manifest.GetProperty("best_by").GetString());
        Assert.Equal("20", manifest.GetProperty("training").GetProperty("context").GetString());
        Assert.Equal("2", manifest.GetProperty("training").GetProperty("grad_accum").GetString());
        Assert.Equal("0", manifest.GetProperty("model").GetProperty("mlp_multiplier").GetString());

        var evals = File.ReadLines(Path.Combine(Out("run"), "metrics.jsonl")).Select(l => JsonDocument.Parse(l).RootElement)
            .Where(e => e.GetProperty("kind").GetString() == "eval").ToList();
        Assert.Equal([6, 12], evals.Select(e => e.GetProperty("step").GetInt32()));
        var best = evals.Single(e => e.GetProperty("step").GetInt32() == evals[^1].GetProperty("best_step").GetInt32());
        Assert.Equal(evals.Max(e => e.GetProperty("val_accuracy").GetDouble()), best.GetProperty("val_accuracy").GetDouble());

        string bestFile = Path.Combine(Out("run"), "best.safetensors");
        var checkpoint = Checkpoint.Load(bestFile);
        Assert.Equal(new SelectiveCopyTask(16, 4, 6, 64), checkpoint.Task);
        Assert.Null(checkpoint.Vocabulary);
        Assert.Equal(best.GetProperty("step").GetInt32(), checkpoint.GetInt("step"));

        var eval = CliRunner.Run("eval", "--checkpoint", bestFile, "--json", "--threads", "1");
        Assert.True(eval.ExitCode == 0, eval.Error);
        var result = JsonDocument.Parse(eval.Output).RootElement;
        Assert.Equal("selective-copy", result.GetProperty("task").GetString());
        Assert.Equal((64, 256), (result.GetProperty("sequences").GetInt32(), result.GetProperty("positions").GetInt32()));
        Assert.Equal(best.GetProperty("val_accuracy").GetDouble(), result.GetProperty("val_accuracy").GetDouble());
        Assert.Equal(best.GetProperty("val_loss").GetDouble(), result.GetProperty("val_loss").GetDouble(), 1e-9);
        var text = CliRunner.Run("eval", "--checkpoint", bestFile, "--threads", "1");
        Assert.True(text.ExitCode == 0, text.Error);
        Assert.Contains("of the tokens recalled", text.Output);

        CliRunner.AssertOneLineError(CliRunner.Run("eval", "--checkpoint", bestFile, "--data", Out("any.txt")), 2, "--data and --context do not apply");
        CliRunner.AssertOneLineError(CliRunner.Run("generate", "--checkpoint", bestFile, "--prompt", "ROMEO:"), 1, "takes no text prompt");

        var resumed = CliRunner.Run("train", "--out", Out("run"), "--resume", "--steps", "18", "--threads", "1");
        Assert.True(resumed.ExitCode == 0, resumed.Error);
        Assert.Contains("resuming  at step 12 of 18", resumed.Output);
        CliRunner.AssertOneLineError(CliRunner.Run("train", "--out", Out("run"), "--resume", "--copy-tokens", "5"), 2, "task.tokens");
    }

    [Theory]
    [InlineData(new[] { "--task", "copying" }, "--task must be selective-copy")]
    [InlineData(new[] { "--task", "selective-copy", "--copy-length", "8", "--copy-tokens", "8" }, "--copy-tokens (8) must be fewer than --copy-length (8)")]
    [InlineData(new[] { "--task", "selective-copy", "--copy-vocab", "2" }, "--copy-vocab must be at least 3")]
    [InlineData(new[] { "--copy-length", "64" }, "--copy-length applies to --task selective-copy only")]
    [InlineData(new[] { "--preset", "copy-cpu", "--data", "any.txt" }, "--data does not apply to the selective-copy task")]
    [InlineData(new[] { "--task", "selective-copy", "--context", "32" }, "--context does not apply to the selective-copy task")]
    [InlineData(new[] { "--preset", "copy-cpu", "--grad-accum", "0" }, "--grad-accum must be at least 1")]
    [InlineData(new[] { "--preset", "copy-cpu", "--mlp", "-1" }, "--mlp must be 0 (none) or a positive multiplier")]
    public void BadTaskFlagsAreOneLineBeforeAnythingIsWritten(string[] flags, string fragment)
    {
        CliRunner.AssertOneLineError(CliRunner.Run(["train", "--out", Out("x"), .. flags]), 2, fragment);
        Assert.False(Directory.Exists(Out("x")));
    }
}
