using System.Text;
using System.Text.Json;
using MinRnn.Model;

namespace MinRnn.Tests.Cli;

/// <summary><c>minrnn train</c> and <c>minrnn eval</c> end to end on a small corpus, and their answers to bad input.</summary>
public sealed class TrainAndEvalCommandTests : IDisposable
{
    readonly string directory = Directory.CreateTempSubdirectory("minrnn-cli").FullName;
    readonly string corpus;

    static readonly string[] Tiny = ["--dim", "16", "--layers", "1", "--batch", "4", "--context", "32", "--steps", "12", "--eval-every", "6", "--threads", "1"];

    public TrainAndEvalCommandTests()
    {
        corpus = Path.Combine(directory, "corpus.txt");
        TrainRunFiles.WriteCorpus(corpus);
    }

    public void Dispose() => Directory.Delete(directory, recursive: true);

    string Out(string name) => Path.Combine(directory, name);

    [Fact]
    public void TrainWritesCheckpointsMetricsAndPlotAndEvalReproducesTheValidationLoss()
    {
        var run = CliRunner.Run(["train", "--data", corpus, "--out", Out("run"), .. Tiny]);
        Assert.True(run.ExitCode == 0, run.Error);
        Assert.Contains("parameters", run.Output);
        Assert.Contains("peak memory", run.Output);
        foreach (var file in new[] { "best.safetensors", "last.safetensors", "state.safetensors", "run.json", "metrics.jsonl", "loss.png" })
            Assert.True(File.Exists(Path.Combine(Out("run"), file)), file);

        var evals = File.ReadLines(Path.Combine(Out("run"), "metrics.jsonl")).Select(l => JsonDocument.Parse(l).RootElement)
            .Where(e => e.TryGetProperty("val_loss", out _)).ToList();
        Assert.Equal([6, 12], evals.Select(e => e.GetProperty("step").GetInt32()));
        double best = evals.Min(e => e.GetProperty("val_loss").GetDouble());

        var loaded = Checkpoint.Load(Path.Combine(Out("run"), "best.safetensors"));
        Assert.Equal(Architecture.Residual, loaded.Model.Config.Architecture);

        var eval = CliRunner.Run("eval", "--checkpoint", Path.Combine(Out("run"), "best.safetensors"), "--data", corpus, "--json", "--threads", "1");
        Assert.True(eval.ExitCode == 0, eval.Error);
        var result = JsonDocument.Parse(eval.Output).RootElement;
        Assert.Equal(best, result.GetProperty("val_loss").GetDouble(), 1e-9);
        Assert.Equal(best / Math.Log(2), result.GetProperty("bpc").GetDouble(), 1e-9);
        Assert.True(result.GetProperty("streaming_val_loss").GetDouble() > 0);
    }

    [Fact]
    public void SameSeedAndThreadsGiveTheSameLossCurveAndResumeContinues()
    {
        Assert.Equal(0, CliRunner.Run(["train", "--data", corpus, "--out", Out("a"), .. Tiny]).ExitCode);
        Assert.Equal(0, CliRunner.Run(["train", "--data", corpus, "--out", Out("b"), .. Tiny]).ExitCode);
        Assert.Equal(TrainRunFiles.Losses(Out("a")), TrainRunFiles.Losses(Out("b")));

        var resumed = CliRunner.Run("train", "--data", corpus, "--out", Out("a"), "--resume", "--steps", "18", "--threads", "1");
        Assert.True(resumed.ExitCode == 0, resumed.Error);
        Assert.Contains("resuming  at step 12 of 18", resumed.Output);
        Assert.Equal(18, Checkpoint.Load(Path.Combine(Out("a"), "last.safetensors")).GetInt("step"));
    }

    [Fact]
    public void WithEmaTheCheckpointsHoldTheAveragedWeightsThatWereEvaluatedAndResumeKeepsTheAverage()
    {
        var run = CliRunner.Run(["train", "--data", corpus, "--out", Out("run"), "--ema", "0.9", .. Tiny]);
        Assert.True(run.ExitCode == 0, run.Error);
        Assert.Contains("weights averaged (EMA 0.9)", run.Output);
        var evals = File.ReadLines(Path.Combine(Out("run"), "metrics.jsonl")).Select(l => JsonDocument.Parse(l).RootElement)
            .Where(e => e.TryGetProperty("val_loss", out _)).ToList();
        double last = evals[^1].GetProperty("val_loss").GetDouble();

        // last.safetensors is the average, whose loss the run logged; state.safetensors keeps the training weights apart.
        var eval = CliRunner.Run("eval", "--checkpoint", Path.Combine(Out("run"), "last.safetensors"), "--data", corpus, "--json", "--threads", "1");
        Assert.True(eval.ExitCode == 0, eval.Error);
        Assert.Equal(last, JsonDocument.Parse(eval.Output).RootElement.GetProperty("val_loss").GetDouble(), 1e-9);
        using (var state = MinRnn.IO.SafetensorsFile.Open(Path.Combine(Out("run"), "state.safetensors")))
        {
            var saved = Checkpoint.Load(Path.Combine(Out("run"), "last.safetensors")).Model.Parameters[0];
            var training = new float[saved.Value.Length];
            var average = new float[saved.Value.Length];
            state.ReadTensor("model." + saved.Name, training);
            state.ReadTensor("average." + saved.Name, average);
            Assert.Equal(saved.Value, average);
            Assert.NotEqual(training, average);
        }

        var resumed = CliRunner.Run("train", "--data", corpus, "--out", Out("run"), "--resume", "--steps", "18", "--threads", "1");
        Assert.True(resumed.ExitCode == 0, resumed.Error);
        var changed = CliRunner.Run("train", "--data", corpus, "--out", Out("run"), "--resume", "--ema", "0.5", "--steps", "24");
        CliRunner.AssertOneLineError(changed, 2, "ema");
    }

    [Fact]
    public void PatienceStopsTheRunEarlyAndAResumeSaysSoUntilThePatienceGrows()
    {
        // A learning rate far too high makes the validation loss wander, so it soon stops improving.
        var run = CliRunner.Run("train", "--data", corpus, "--out", Out("run"), "--dim", "16", "--layers", "1", "--batch", "4", "--context", "32",
            "--threads", "1", "--lr", "0.5", "--min-lr", "0.5", "--steps", "200", "--eval-every", "1", "--patience", "3");
        Assert.True(run.ExitCode == 0, run.Error);
        Assert.Contains("early stop after 3 steps", run.Output);
        Assert.Contains("stopped early at step", run.Output);
        int stoppedAt = Checkpoint.Load(Path.Combine(Out("run"), "last.safetensors")).GetInt("step")!.Value;
        Assert.True(stoppedAt < 200);

        var again = CliRunner.Run("train", "--data", corpus, "--out", Out("run"), "--resume");
        Assert.True(again.ExitCode == 0, again.Error);
        Assert.Contains($"stopped early at step {stoppedAt}", again.Output);

        var longer = CliRunner.Run("train", "--data", corpus, "--out", Out("run"), "--resume", "--patience", "0", "--steps", $"{stoppedAt + 2}");
        Assert.True(longer.ExitCode == 0, longer.Error);
        Assert.Equal(stoppedAt + 2, Checkpoint.Load(Path.Combine(Out("run"), "last.safetensors")).GetInt("step"));
    }

    [Fact]
    public void ARunSavedWithoutDecayPatienceAndAverageSettingsResumesAndMayTakeThemOn()
    {
        Assert.Equal(0, CliRunner.Run(["train", "--data", corpus, "--out", Out("run"), .. Tiny]).ExitCode);
        // run.json as the first release wrote it: no decay_steps, no patience and no ema.
        string manifest = Path.Combine(Out("run"), "run.json");
        var lines = File.ReadAllLines(manifest);
        File.WriteAllLines(manifest, lines.Where(l => !l.Contains("\"decay_steps\"") && !l.Contains("\"patience\"") && !l.Contains("\"ema\"")));
        Assert.NotEqual(lines.Length, File.ReadAllLines(manifest).Length);

        var resumed = CliRunner.Run("train", "--data", corpus, "--out", Out("run"), "--resume", "--steps", "16", "--decay-steps", "50", "--threads", "1");
        Assert.True(resumed.ExitCode == 0, resumed.Error);
        Assert.Equal(16, Checkpoint.Load(Path.Combine(Out("run"), "last.safetensors")).GetInt("step"));
        Assert.Contains("\"decay_steps\": \"50\"", File.ReadAllText(manifest));
    }

    [Fact]
    public void BadDataIsOneLineAndNonZero()
    {
        CliRunner.AssertOneLineError(CliRunner.Run(["train", "--data", Out("missing.txt"), "--out", Out("x"), .. Tiny]), 1, "missing.txt");
        File.WriteAllText(Out("empty.txt"), "");
        CliRunner.AssertOneLineError(CliRunner.Run(["train", "--data", Out("empty.txt"), "--out", Out("x"), .. Tiny]), 1, "empty");
        File.WriteAllBytes(Out("binary.bin"), [0x7F, 0x45, 0x4C, 0x46, 0, 0, 1, 2, 0, 0, 3]);
        CliRunner.AssertOneLineError(CliRunner.Run(["train", "--data", Out("binary.bin"), "--out", Out("x"), .. Tiny]), 1, "binary");
        File.WriteAllBytes(Out("latin1.txt"), Encoding.Latin1.GetBytes("caf\u00e9 cr\u00e8me br\u00fbl\u00e9e, encore et encore"));
        CliRunner.AssertOneLineError(CliRunner.Run(["train", "--data", Out("latin1.txt"), "--out", Out("x"), .. Tiny]), 1, "UTF-8");
        File.WriteAllText(Out("short.txt"), "too short for a context of thirty-two");
        CliRunner.AssertOneLineError(CliRunner.Run(["train", "--data", Out("short.txt"), "--out", Out("x"), .. Tiny]), 1, "context");
        Assert.False(Directory.Exists(Out("x")));
    }

    [Theory]
    [InlineData("--layers", "0", "--layers")]
    [InlineData("--lr", "-1", "--lr")]
    [InlineData("--context", "0", "--context")]
    [InlineData("--dropout", "1", "--dropout")]
    [InlineData("--preset", "huge", "unknown preset")]
    [InlineData("--cell", "gru2", "--cell")]
    [InlineData("--arch", "rwkv", "--arch")]
    [InlineData("--decay-steps", "-3", "--decay-steps")]
    [InlineData("--patience", "-1", "--patience")]
    [InlineData("--ema", "1", "--ema")]
    [InlineData("--ema", "-0.5", "--ema")]
    [InlineData("--beta2", "1", "--beta2")]
    public void InvalidFlagsAreUsageErrors(string flag, string value, string fragment)
    {
        CliRunner.AssertOneLineError(CliRunner.Run("train", "--data", corpus, "--out", Out("x"), flag, value), 2, fragment);
        Assert.False(Directory.Exists(Out("x")));
    }

    [Fact]
    public void TransformerHeadsThatDoNotDivideTheWidthAreAUsageError()
    {
        CliRunner.AssertOneLineError(CliRunner.Run("train", "--data", corpus, "--out", Out("x"), "--preset", "gpt-cpu", "--heads", "5"), 2, "--heads must divide --dim (128)");
        CliRunner.AssertOneLineError(CliRunner.Run("train", "--data", corpus, "--out", Out("x"), "--arch", "transformer"), 2, "--heads");
        Assert.False(Directory.Exists(Out("x")));
    }

    [Theory]
    [InlineData("--state", "0", "--state must be at least 1, got 0.")]
    [InlineData("--expansion", "0", "--expansion must give mamba an inner width d_inner = int(E·D) of at least 1, got 0.")]
    [InlineData("--conv", "0", "--conv must be at least 1 for mamba")]
    public void MambaFlagsOutOfRangeAreUsageErrors(string flag, string value, string fragment)
    {
        CliRunner.AssertOneLineError(CliRunner.Run("train", "--data", corpus, "--out", Out("x"), "--arch", "mamba", flag, value), 2, fragment);
        Assert.False(Directory.Exists(Out("x")));
    }

    [Fact]
    public void AModelTooLargeForMemoryIsRefusedBeforeItsParametersExist()
    {
        // 3 × 2·400,000² parameters: about 15 TB with gradients and moments; allocating them first would crash.
        var result = CliRunner.Run("train", "--data", corpus, "--out", Out("giant"), "--arch", "plain", "--dim", "400000", "--layers", "3");
        CliRunner.AssertOneLineError(result, 2, "parameters need about");
        Assert.False(Directory.Exists(Out("giant")));
    }

    [Fact]
    public void ResumingWithoutTheStateFileIsOneLineAndChangesNothing()
    {
        Assert.Equal(0, CliRunner.Run(["train", "--data", corpus, "--out", Out("run"), .. Tiny]).ExitCode);
        File.Delete(Path.Combine(Out("run"), "state.safetensors"));
        var before = Directory.GetFiles(Out("run")).ToDictionary(f => f, File.ReadAllBytes);
        CliRunner.AssertOneLineError(CliRunner.Run("train", "--data", corpus, "--out", Out("run"), "--resume"), 1, "state.safetensors is missing");
        foreach (var (file, bytes) in before) Assert.Equal(bytes, File.ReadAllBytes(file));
    }

    [Fact]
    public void ClassicCellsNeedThePlainArchitecture()
    {
        CliRunner.AssertOneLineError(CliRunner.Run("train", "--data", corpus, "--out", Out("x"), "--cell", "lstm", "--arch", "residual"), 2,
            "plain architecture only");
        Assert.False(Directory.Exists(Out("x")));
    }

    [Fact]
    public void AConfigurationThatNeedsMoreMemoryThanThereIsIsRefusedBeforeTraining()
    {
        // 256M characters a step: terabytes of activations, while the model itself is 2 MB.
        var result = CliRunner.Run("train", "--data", corpus, "--out", Out("huge"), "--arch", "plain", "--dim", "256", "--layers", "4",
            "--batch", "8000000", "--context", "32");
        CliRunner.AssertOneLineError(result, 2, "but only");
        Assert.False(Directory.Exists(Out("huge")));
    }

    [Fact]
    public void AnExistingRunIsNeitherOverwrittenNorResumedWithAnotherConfiguration()
    {
        Assert.Equal(0, CliRunner.Run(["train", "--data", corpus, "--out", Out("run"), .. Tiny]).ExitCode);
        var before = Directory.GetFiles(Out("run")).ToDictionary(f => f, File.ReadAllBytes);

        CliRunner.AssertOneLineError(CliRunner.Run(["train", "--data", corpus, "--out", Out("run"), .. Tiny]), 2, "already holds a run");
        CliRunner.AssertOneLineError(CliRunner.Run("train", "--data", corpus, "--out", Out("run"), "--resume", "--dim", "32"), 2, "model.dim");
        File.WriteAllText(Out("other.txt"), File.ReadAllText(corpus).ToUpperInvariant());
        CliRunner.AssertOneLineError(CliRunner.Run("train", "--data", Out("other.txt"), "--out", Out("run"), "--resume"), 2, "data differs");

        foreach (var (file, bytes) in before) Assert.Equal(bytes, File.ReadAllBytes(file));
    }

    [Fact]
    public void EvalRefusesMissingOrForeignCheckpointsAndUnknownCharacters()
    {
        CliRunner.AssertOneLineError(CliRunner.Run("eval", "--checkpoint", Out("none.safetensors"), "--data", corpus), 1, "none.safetensors");
        File.WriteAllText(Out("junk.safetensors"), "not a checkpoint at all");
        CliRunner.AssertOneLineError(CliRunner.Run("eval", "--checkpoint", Out("junk.safetensors"), "--data", corpus), 1, "junk.safetensors");

        Assert.Equal(0, CliRunner.Run(["train", "--data", corpus, "--out", Out("run"), .. Tiny]).ExitCode);
        File.WriteAllText(Out("greek.txt"), string.Concat(Enumerable.Repeat("αβγ δεζ ", 500)));
        CliRunner.AssertOneLineError(
            CliRunner.Run("eval", "--checkpoint", Path.Combine(Out("run"), "best.safetensors"), "--data", Out("greek.txt")), 1, "vocabulary");
    }

    [Fact]
    public void TrainEndsWithTheCommandsThatUseItsBestCheckpoint()
    {
        var run = CliRunner.Run(["train", "--data", corpus, "--out", Out("run"), .. Tiny]);
        Assert.True(run.ExitCode == 0, run.Error);
        string best = Path.Combine(Out("run"), "best.safetensors");
        var lines = run.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal($"evaluate  minrnn eval --checkpoint {best}", lines[^2]);
        Assert.Equal($"generate  minrnn generate --checkpoint {best} --length 500", lines[^1]);
    }

    [Fact]
    public void EvalWithoutDataUsesTheDataOfTheRunAndRefusesItOnceChangedOrGone()
    {
        Assert.Equal(0, CliRunner.Run(["train", "--data", corpus, "--out", Out("run"), .. Tiny]).ExitCode);
        string best = Path.Combine(Out("run"), "best.safetensors");
        var given = CliRunner.Run("eval", "--checkpoint", best, "--data", corpus, "--json", "--threads", "1");
        var recorded = CliRunner.Run("eval", "--checkpoint", best, "--json", "--threads", "1");
        Assert.True(recorded.ExitCode == 0, recorded.Error);
        Assert.Equal(JsonDocument.Parse(given.Output).RootElement.GetProperty("val_loss").GetDouble(),
            JsonDocument.Parse(recorded.Output).RootElement.GetProperty("val_loss").GetDouble());
        Assert.Equal(corpus, JsonDocument.Parse(recorded.Output).RootElement.GetProperty("data").GetString());

        File.AppendAllText(corpus, "one more line\n");
        CliRunner.AssertOneLineError(CliRunner.Run("eval", "--checkpoint", best), 2, "has changed since the run");
        File.Delete(corpus);
        CliRunner.AssertOneLineError(CliRunner.Run("eval", "--checkpoint", best), 2, "no longer exists");
    }

    [Fact]
    public void ACheckpointFromANewerFormatIsOneLineAndUntouched()
    {
        Assert.Equal(0, CliRunner.Run(["train", "--data", corpus, "--out", Out("run"), .. Tiny]).ExitCode);
        string newer = CheckpointFiles.WithFormat(Path.Combine(Out("run"), "best.safetensors"), Out("newer.safetensors"), "minrnn-checkpoint/2");
        byte[] before = File.ReadAllBytes(newer);

        CliRunner.AssertOneLineError(CliRunner.Run("eval", "--checkpoint", newer, "--data", corpus), 1, "written by a newer MinRnn");
        CliRunner.AssertOneLineError(CliRunner.Run("generate", "--checkpoint", newer), 1, "upgrade MinRnn");
        Assert.Equal(before, File.ReadAllBytes(newer));
    }

    [Fact]
    public void ATransformerTrainsEvaluatesWithTheSameLossAndGeneratesPastItsBlock()
    {
        var run = CliRunner.Run("train", "--data", corpus, "--out", Out("gpt"), "--preset", "gpt-cpu", "--dim", "16", "--layers", "2", "--heads", "2",
            "--batch", "4", "--context", "32", "--steps", "12", "--eval-every", "6", "--threads", "1");
        Assert.True(run.ExitCode == 0, run.Error);
        Assert.Contains("transformer 2x16 (2 heads, context 32", run.Output);
        string best = Path.Combine(Out("gpt"), "best.safetensors");
        using (var file = MinRnn.IO.SafetensorsFile.Open(best))
        {
            var names = file.Tensors.Select(t => t.Name).ToHashSet();
            foreach (string name in new[] { "transformer.wte.weight", "transformer.wpe.weight", "lm_head.weight", "transformer.h.1.attn.c_attn.weight",
                         "transformer.h.1.attn.c_proj.weight", "transformer.h.0.mlp.c_fc.weight", "transformer.h.0.ln_2.weight", "transformer.ln_f.weight" })
                Assert.Contains(name, names);
            Assert.Equal(file.ReadTensor("transformer.wte.weight"), file.ReadTensor("lm_head.weight"));
            Assert.Equal([32, 16], file.Tensors.Single(t => t.Name == "transformer.wpe.weight").Shape);
        }
        double best6Or12 = File.ReadLines(Path.Combine(Out("gpt"), "metrics.jsonl")).Select(l => JsonDocument.Parse(l).RootElement)
            .Where(e => e.TryGetProperty("val_loss", out _)).Min(e => e.GetProperty("val_loss").GetDouble());

        var eval = CliRunner.Run("eval", "--checkpoint", best, "--json", "--threads", "1");
        Assert.True(eval.ExitCode == 0, eval.Error);
        var result = JsonDocument.Parse(eval.Output).RootElement;
        Assert.Equal(best6Or12, result.GetProperty("val_loss").GetDouble(), 1e-9);
        Assert.False(result.TryGetProperty("streaming_val_loss", out _));

        CliRunner.AssertOneLineError(CliRunner.Run("eval", "--checkpoint", best, "--context", "33"), 1, "longer than the model's block size of 32");
        var generated = CliRunner.Run("generate", "--checkpoint", best, "--prompt", "to be", "--length", "100", "--seed", "3");
        Assert.True(generated.ExitCode == 0, generated.Error);
        Assert.Equal(105, generated.Output.TrimEnd('\n').Length); // past the block of 32: the window slides
        Assert.Equal(generated.Output, CliRunner.Run("generate", "--checkpoint", best, "--prompt", "to be", "--length", "100", "--seed", "3").Output);
    }

    [Fact]
    public void AMambaTrainsEvaluatesWithTheSameLossAndGenerates()
    {
        var run = CliRunner.Run(["train", "--data", corpus, "--out", Out("mamba"), "--arch", "mamba", "--state", "4", "--dim", "16", "--layers", "2", .. Tiny[4..]]);
        Assert.True(run.ExitCode == 0, run.Error);
        Assert.Contains("mamba 2x16 (d_inner 32, state 4, conv 4, dt_rank 1", run.Output);
        string best = Path.Combine(Out("mamba"), "best.safetensors");
        using (var file = MinRnn.IO.SafetensorsFile.Open(best))
        {
            var names = file.Tensors.Select(t => t.Name).ToHashSet();
            foreach (string name in new[] { "embedding.weight", "lm_head.weight", "layers.1.norm.weight", "layers.1.mixer.in_proj.weight",
                         "layers.1.mixer.conv1d.weight", "layers.1.mixer.conv1d.bias", "layers.1.mixer.x_proj.weight", "layers.1.mixer.dt_proj.weight",
                         "layers.1.mixer.dt_proj.bias", "layers.1.mixer.A_log", "layers.1.mixer.D", "layers.1.mixer.out_proj.weight", "norm_f.weight" })
                Assert.Contains(name, names);
            Assert.Equal(file.ReadTensor("embedding.weight"), file.ReadTensor("lm_head.weight"));
            Assert.Equal([32, 4], file.Tensors.Single(t => t.Name == "layers.0.mixer.A_log").Shape);
            Assert.Equal("4", file.Metadata["state"]);
        }
        double bestLoss = File.ReadLines(Path.Combine(Out("mamba"), "metrics.jsonl")).Select(l => JsonDocument.Parse(l).RootElement)
            .Where(e => e.TryGetProperty("val_loss", out _)).Min(e => e.GetProperty("val_loss").GetDouble());

        var eval = CliRunner.Run("eval", "--checkpoint", best, "--json", "--threads", "1");
        Assert.True(eval.ExitCode == 0, eval.Error);
        var result = JsonDocument.Parse(eval.Output).RootElement;
        Assert.Equal(bestLoss, result.GetProperty("val_loss").GetDouble(), 1e-9);
        Assert.True(result.GetProperty("streaming_val_loss").GetDouble() > 0); // a constant state carried through the whole text

        var generated = CliRunner.Run("generate", "--checkpoint", best, "--prompt", "to be", "--length", "100", "--seed", "3", "--temperature", "0.8");
        Assert.True(generated.ExitCode == 0, generated.Error);
        Assert.Equal(105, generated.Output.TrimEnd('\n').Length);
        Assert.Equal(generated.Output, CliRunner.Run("generate", "--checkpoint", best, "--prompt", "to be", "--length", "100", "--seed", "3", "--temperature", "0.8").Output);
    }
}
