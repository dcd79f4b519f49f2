using MinRnn.IO;
using MinRnn.Tests.Cli;

namespace MinRnn.Tests;

/// <summary>The library's entry point, used as a library user would: create, train, save, load, evaluate, generate.</summary>
public sealed class CharModelTests : IDisposable
{
    readonly string directory = Directory.CreateTempSubdirectory("minrnn-charmodel").FullName;
    readonly string corpusPath;
    readonly string text;

    static readonly ModelConfig Tiny = Preset.Quick.Model with { Dim = 16, Layers = 1 };
    static readonly TrainingOptions Short = Preset.Quick.Training with { Batch = 4, Context = 32, Steps = 12, EvalEvery = 6 };

    public CharModelTests()
    {
        corpusPath = Path.Combine(directory, "corpus.txt");
        TrainRunFiles.WriteCorpus(corpusPath);
        text = File.ReadAllText(corpusPath);
    }

    public void Dispose() => Directory.Delete(directory, recursive: true);

    sealed class Reports : IProgress<TrainingReport>
    {
        public List<TrainingReport> All { get; } = [];
        public Action<TrainingReport>? Then { get; init; }

        public void Report(TrainingReport value)
        {
            All.Add(value);
            Then?.Invoke(value);
        }
    }

    /// <summary>Runs <paramref name="body"/> on one kernel thread, holding the lock of the tests that change the thread count.</summary>
    static T OneThread<T>(Func<T> body)
    {
        lock (GlobalState.Lock)
        {
            int before = Engine.Threads;
            Engine.Threads = 1;
            try { return body(); }
            finally { Engine.Threads = before; }
        }
    }

    CharModel Trained() => OneThread(() =>
    {
        var model = CharModel.Create(Tiny, text);
        model.Train(text, Short);
        return model;
    });

    [Fact]
    public void TrainReportsEveryStepAndEvaluationThenSaveAndLoadKeepEverything()
    {
        var model = CharModel.Create(Tiny, text);
        Assert.Equal(text.Distinct().Count(), model.Config.VocabularySize);
        Assert.Equal(string.Concat(text.Distinct().Order()), model.Characters);
        Assert.Null(model.Step);
        var reports = new Reports();

        var result = OneThread(() => model.Train(text, Short, reports));

        Assert.Equal(Enumerable.Range(1, 12), reports.All.OfType<StepReport>().Select(r => r.Step));
        var evaluations = reports.All.OfType<EvalReport>().ToList();
        Assert.Equal([6, 12], evaluations.Select(e => e.Step));
        Assert.IsType<EvalReport>(reports.All[6]); // after step 6, before step 7
        var best = evaluations.MinBy(e => e.ValidationLoss)!;
        Assert.Equal(new TrainingResult(12, best.ValidationLoss, best.Step, result.Elapsed, StoppedEarly: false), result);
        Assert.Equal(best.Step, model.Step);
        Assert.Equal(best.ValidationLoss, model.ValidationLoss);
        Assert.Equal(32, model.Context);

        string path = Path.Combine(directory, "model.safetensors");
        model.Save(path);
        var loaded = CharModel.Load(path);
        Assert.Equal(model.Config, loaded.Config);
        Assert.Equal(model.Characters, loaded.Characters);
        Assert.Equal(model.ParameterCount, loaded.ParameterCount);
        Assert.Equal(model.Metadata.OrderBy(p => p.Key), loaded.Metadata.OrderBy(p => p.Key));
        Assert.Equal(best.ValidationLoss, OneThread(() => loaded.Evaluate(text)).ValidationLoss, 1e-9);
    }

    [Fact]
    public void TrainingInCodeGivesTheWeightsOfMinrnnTrainBitForBit()
    {
        var cli = CliRunner.Run("train", "--data", corpusPath, "--out", Path.Combine(directory, "run"), "--dim", "16", "--layers", "1",
            "--batch", "4", "--context", "32", "--steps", "12", "--eval-every", "6", "--threads", "1");
        Assert.True(cli.ExitCode == 0, cli.Error);
        var model = CharModel.Create(Tiny, text, Short.Seed);
        OneThread(() => model.TrainOnFile(corpusPath, Short));
        string saved = Path.Combine(directory, "library.safetensors");
        model.Save(saved);

        using var expected = SafetensorsFile.Open(Path.Combine(directory, "run", "best.safetensors"));
        using var actual = SafetensorsFile.Open(saved);
        Assert.Equal(expected.Tensors.Select(t => t.Name), actual.Tensors.Select(t => t.Name));
        foreach (var tensor in expected.Tensors) Assert.Equal(expected.ReadTensor(tensor.Name), actual.ReadTensor(tensor.Name));
        Assert.Equal(expected.Metadata.OrderBy(p => p.Key), actual.Metadata.OrderBy(p => p.Key));
    }

    [Fact]
    public void CancellingTrainingThrowsAndLeavesAUsableModel()
    {
        using var cancellation = new CancellationTokenSource();
        var model = CharModel.Create(Tiny, text);
        var reports = new Reports { Then = r => { if (r.Step == 3) cancellation.Cancel(); } };

        Assert.Throws<OperationCanceledException>(() => OneThread(() => model.Train(text, Short, reports, cancellation.Token)));

        Assert.Equal(3, reports.All.Count);
        Assert.Null(model.Step); // no evaluation ran
        Assert.Equal(20, string.Concat(model.Generate("to", 20)).Length);
    }

    [Fact]
    public void GenerationIsSeededAndTheSynchronousAsyncAndBatchedFormsAgree()
    {
        var model = Trained();
        var sampling = new SamplingOptions { Temperature = 0.8, TopK = 5, Seed = 42 };

        string alone = string.Concat(model.Generate("to be", 60, sampling));
        Assert.Equal(60, alone.Length);
        Assert.Equal(alone, string.Concat(model.Generate("to be", 60, sampling)));
        Assert.NotEqual(alone, string.Concat(model.Generate("to be", 60, sampling with { Seed = 43 })));
        Assert.Equal(alone, string.Concat(model.GenerateAsync("to be", 60, sampling).ToBlockingEnumerable()));

        // Stream i of a batch samples with seed + i, whatever its neighbours' prompts.
        string[] prompts = ["to be", "question", "to be"];
        var steps = model.GenerateBatch(prompts, 60, sampling).ToList();
        Assert.Equal(60, steps.Count);
        for (int s = 0; s < prompts.Length; s++)
            Assert.Equal(string.Concat(model.Generate(prompts[s], 60, sampling with { Seed = sampling.Seed + (ulong)s })), string.Concat(steps.Select(step => step[s])));
        var asyncSteps = model.GenerateBatchAsync(prompts, 60, sampling).ToBlockingEnumerable().ToList();
        Assert.Equal(steps.Select(step => string.Concat(step)), asyncSteps.Select(step => string.Concat(step)));
    }

    [Fact]
    public void CallsFromSeveralThreadsTakeTurnsAndGiveTheTextOfOneCallAlone()
    {
        var model = Trained();
        var sampling = new SamplingOptions { Seed = 9 };
        string expected = string.Concat(model.Generate("to", 300, sampling));

        var texts = Enumerable.Range(0, 4).AsParallel().WithDegreeOfParallelism(4)
            .Select(_ => string.Concat(model.Generate("to", 300, sampling))).ToList();

        Assert.All(texts, t => Assert.Equal(expected, t));
    }

    [Fact]
    public async Task CancellingGenerationStopsItAtTheNextCharacter()
    {
        var model = Trained();
        using var cancellation = new CancellationTokenSource();
        int received = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var _ in model.GenerateAsync("to", 1000, cancellationToken: cancellation.Token))
                if (++received == 5) cancellation.Cancel();
        });
        Assert.Equal(5, received);
    }

    [Fact]
    public void BadArgumentsAreClearExceptionsWhenTheMethodIsCalled()
    {
        var model = Trained();
        var unknown = Assert.Throws<ArgumentException>(() => model.Generate("to be Z!", 5));
        Assert.Contains("'Z'", unknown.Message);
        Assert.Contains("'!'", unknown.Message);
        Assert.Contains("empty", Assert.Throws<ArgumentException>(() => model.Generate("", 5)).Message);
        Assert.Contains("prompt 1", Assert.Throws<ArgumentException>(() => model.GenerateBatch(["to", "Zz"], 5)).Message);
        Assert.Throws<ArgumentException>(() => model.GenerateBatch([], 5));
        Assert.Throws<ArgumentOutOfRangeException>(() => model.Generate("to", -1));
        Assert.Throws<ArgumentException>(() => model.Generate("to", 5, new SamplingOptions { TopP = 0 }));
        Assert.Empty(model.Generate("to", 0));

        Assert.Throws<FileNotFoundException>(() => CharModel.Load(Path.Combine(directory, "missing.safetensors")));
        Assert.Throws<FileNotFoundException>(() => model.TrainOnFile(Path.Combine(directory, "missing.txt"), Short));
        Assert.Contains("'Z'", Assert.Throws<InvalidDataException>(() => model.Train(text + "Z", Short)).Message);
        Assert.Contains("too short", Assert.Throws<InvalidDataException>(() => model.Evaluate("to be or not to be")).Message);
        Assert.Throws<ArgumentException>(() => model.Train(text, Short with { Steps = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => model.Evaluate(text, context: 0));
        Assert.Throws<ArgumentException>(() => CharModel.Create(Tiny with { Dim = 0 }, text));
    }

    [Fact]
    public void ACheckpointFromANewerFormatIsRefusedInOneLine()
    {
        string path = Path.Combine(directory, "model.safetensors");
        Trained().Save(path);
        string newer = CheckpointFiles.WithFormat(path, Path.Combine(directory, "newer.safetensors"), "minrnn-checkpoint/2");

        var e = Assert.Throws<InvalidDataException>(() => CharModel.Load(newer));

        Assert.StartsWith("newer.safetensors: written by a newer MinRnn (format \"minrnn-checkpoint/2\")", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void ACheckpointWhoseTensorsAreNotThoseOfItsArchitectureIsRefusedInOneLine()
    {
        string path = Path.Combine(directory, "model.safetensors");
        Trained().Save(path);
        string relabelled = Path.Combine(directory, "relabelled.safetensors");
        using (var file = SafetensorsFile.Open(path))
        {
            var metadata = new Dictionary<string, string>(file.Metadata) { ["architecture"] = "transformer", ["heads"] = "2", ["block_size"] = "32" };
            SafetensorsWriter.WriteFile(relabelled, file.Tensors.Select(t => new NamedTensor(t.Name, [.. t.Shape], file.ReadTensor(t.Name))).ToList(), metadata);
        }

        var e = Assert.Throws<InvalidDataException>(() => CharModel.Load(relabelled));

        Assert.Contains("relabelled.safetensors: ", e.Message);
        Assert.Contains("transformer.wte.weight", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    /// <summary>A residual checkpoint labelled mamba, and a mamba one labelled residual, are refused in one line naming the tensors.</summary>
    [Fact]
    public void MambaAndResidualCheckpointsLabelledAsEachOtherAreRefusedInOneLine()
    {
        string residual = Path.Combine(directory, "residual.safetensors"), mamba = Path.Combine(directory, "mamba.safetensors");
        CharModel.Create(Tiny, text).Save(residual);
        CharModel.Create(Tiny with { Architecture = Architecture.Mamba, State = 4 }, text).Save(mamba);
        foreach (var (source, label, missing) in new[] { (residual, "mamba", "layers.0.mixer.in_proj.weight"), (mamba, "residual", "layers.0.norm1.weight") })
        {
            string relabelled = Path.Combine(directory, $"as-{label}.safetensors");
            using (var file = SafetensorsFile.Open(source))
            {
                var metadata = new Dictionary<string, string>(file.Metadata) { ["architecture"] = label, ["state"] = "4" };
                SafetensorsWriter.WriteFile(relabelled, file.Tensors.Select(t => new NamedTensor(t.Name, [.. t.Shape], file.ReadTensor(t.Name))).ToList(), metadata);
            }
            var e = Assert.Throws<InvalidDataException>(() => CharModel.Load(relabelled));
            Assert.Contains($"as-{label}.safetensors: tensors do not match the model", e.Message);
            Assert.Contains(missing, e.Message);
            Assert.DoesNotContain('\n', e.Message);
        }
    }
}
