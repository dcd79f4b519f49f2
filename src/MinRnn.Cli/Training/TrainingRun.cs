using System.Globalization;
using MinRnn.Data;
using MinRnn.Kernels;
using MinRnn.Model;
using MinRnn.Training;

namespace MinRnn.Cli.Training;

/// <summary>
/// One <c>minrnn train</c>: resolve the settings (preset and flags, or the run to resume), load the
/// data, build or restore the model, then train with periodic evaluation, keeping in the out directory
/// best.safetensors (lowest validation loss), last.safetensors + state.safetensors (for --resume),
/// metrics.jsonl and loss.png.
/// </summary>
internal static class TrainingRun
{
    public const string BestFile = "best.safetensors", LastFile = "last.safetensors", StateFile = "state.safetensors";

    public static int Execute(TrainRequest request, CancellationToken cancellation)
    {
        if (request.Threads is { } threads) Parallelism.Threads = threads;
        var (manifest, outDirectory) = Resolve(request);

        string dataPath = TrainingData.Locate(request.Data, cancellation);
        var corpus = CharCorpus.Load(dataPath);
        string sha256 = TrainingData.Sha256(dataPath);
        var config = manifest.Model with { VocabularySize = corpus.Vocabulary.Count };
        manifest = manifest with { Model = config, DataSource = request.Data ?? TinyShakespeare.CanonicalUrl, DataSha256 = sha256 };
        corpus.EnsureFits(manifest.Training.Context);

        LanguageModel model;
        int? savedStep = null;
        if (request.Resume)
        {
            var saved = RunManifest.Load(outDirectory)!;
            if (saved.DataSha256 != sha256)
                throw new UsageException($"the data differs from the run in {outDirectory} (SHA-256 {sha256[..12]}… vs {saved.DataSha256[..12]}…); resume with the same --data.");
            var checkpoint = Checkpoint.Load(Path.Combine(outDirectory, LastFile));
            if (checkpoint.Model.Config != config)
                throw new InvalidDataException($"{LastFile} in {outDirectory} holds a {Describe(checkpoint.Model.Config)} model, but the run is {Describe(config)}.");
            if (checkpoint.Vocabulary.Characters != corpus.Vocabulary.Characters)
                throw new InvalidDataException($"{LastFile} in {outDirectory} has a different vocabulary from the data.");
            model = checkpoint.Model;
            savedStep = checkpoint.GetInt("step");
        }
        else
        {
            model = LanguageModel.Create(config);
            model.Initialize(manifest.Training.Seed);
        }

        var options = manifest.Training;
        long bytes = model.EstimateTrainingBytes(options.Batch, options.Context);
        long available = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        Console.WriteLine($"model     {Describe(config)}, {model.ParameterCount.ToString("N0", CultureInfo.InvariantCulture)} parameters");
        Console.WriteLine($"data      {corpus.Source}: {corpus.Length.ToString("N0", CultureInfo.InvariantCulture)} characters, vocabulary {corpus.Vocabulary.Count}, " +
                          $"train {corpus.TrainLength.ToString("N0", CultureInfo.InvariantCulture)} / validation {(corpus.Length - corpus.TrainLength).ToString("N0", CultureInfo.InvariantCulture)}");
        Console.WriteLine($"training  {options.Steps} steps of {options.Batch} x {options.Context}, lr {options.LearningRate} → {options.MinLearningRate}, " +
                          $"{Parallelism.Threads} threads, peak memory ≈ {MemoryEstimate.Format(bytes)}");
        if (bytes > available)
            throw new UsageException($"this configuration needs about {MemoryEstimate.Format(bytes)} but only {MemoryEstimate.Format(available)} is available; lower --batch, --context or the model size.");

        var trainer = new Trainer(model, corpus, options);
        Directory.CreateDirectory(outDirectory);
        int startStep = 0;
        if (request.Resume)
        {
            startStep = TrainingCheckpoint.Restore(Path.Combine(outDirectory, StateFile), trainer, model);
            if (savedStep != startStep)
                throw new InvalidDataException($"{LastFile} and {StateFile} in {outDirectory} are from different steps; the run cannot be resumed exactly.");
            Console.WriteLine($"resuming  at step {startStep} of {options.Steps}");
        }
        manifest.Save(outDirectory);
        if (trainer.Finished)
        {
            Console.WriteLine($"the run in {outDirectory} has already taken its {options.Steps} steps; pass a larger --steps to continue.");
            return 0;
        }

        using var metrics = new MetricsLog(outDirectory, resumeFromStep: request.Resume ? startStep : null);
        using var progress = new TrainingProgress(options.Steps, startStep);
        string title = $"{Describe(config)} — {Path.GetFileName(corpus.Source)}";
        while (!trainer.Finished)
        {
            cancellation.ThrowIfCancellationRequested();
            var step = trainer.TrainStep();
            metrics.Write(step);
            progress.Update(step);
            if (!trainer.EvaluationDue) continue;
            var evaluation = trainer.Evaluate();
            metrics.Write(evaluation, trainer.Elapsed);
            progress.Update(evaluation);
            var extra = new Dictionary<string, string>
            {
                ["step"] = evaluation.Step.ToString(CultureInfo.InvariantCulture),
                ["context"] = options.Context.ToString(CultureInfo.InvariantCulture),
                ["val_loss"] = evaluation.ValidationLoss.ToString("R", CultureInfo.InvariantCulture),
            };
            if (evaluation.IsBest) Checkpoint.Save(Path.Combine(outDirectory, BestFile), model, corpus.Vocabulary, extra);
            // The training state first: a last.safetensors never runs ahead of the state that resumes it.
            TrainingCheckpoint.Save(Path.Combine(outDirectory, StateFile), trainer, model);
            Checkpoint.Save(Path.Combine(outDirectory, LastFile), model, corpus.Vocabulary, extra);
            LossPlot.Save(Path.Combine(outDirectory, LossPlot.FileName), title, metrics.History);
        }
        progress.Message($"best validation loss {trainer.BestValidationLoss:F4} ({trainer.BestValidationLoss / Math.Log(2):F3} bits/char) at step {trainer.BestStep}; " +
                         $"{ProgressLine.Duration(trainer.Elapsed)}; checkpoints in {outDirectory}");
        return 0;
    }

    /// <summary>The settings of the run and its directory: from run.json for --resume, else from the preset and flags.</summary>
    static (RunManifest Manifest, string OutDirectory) Resolve(TrainRequest request)
    {
        if (request.Resume)
        {
            string directory = request.Out ?? throw new UsageException("--resume needs --out DIR: the directory of the run to continue.");
            var saved = RunManifest.Load(directory)
                        ?? throw new UsageException($"nothing to resume in {directory}: it has no {RunManifest.FileName}.");
            if (request.Preset is { } name && !string.Equals(name, saved.Preset, StringComparison.OrdinalIgnoreCase))
                throw new UsageException($"--preset {name} differs from the run in {directory} ({saved.Preset}); a resumed run keeps its configuration.");
            var wanted = saved with { Model = request.Flags.Apply(saved.Model), Training = request.Flags.Apply(saved.Training) };
            if (saved.FirstDifference(wanted, allowExtension: true) is { } difference)
                throw new UsageException($"a resumed run keeps its configuration, but {difference} (only --steps and --eval-every may change).");
            return (Validate(wanted), directory);
        }
        var preset = Preset.Find(request.Preset ?? Preset.Quick.Name)
                     ?? throw new UsageException($"unknown preset '{request.Preset}'; choose one of {string.Join(", ", Preset.All.Select(p => p.Name))}.");
        string outDirectory = request.Out ?? Path.Combine("runs", preset.Name);
        if (RunManifest.Load(outDirectory) is not null)
            throw new UsageException($"{outDirectory} already holds a run; pass --resume to continue it, or --out to start a new one elsewhere.");
        var manifest = new RunManifest(preset.Name, request.Flags.Apply(preset.Model), request.Flags.Apply(preset.Training), "", "");
        return (Validate(manifest), outDirectory);
    }

    /// <summary>Checks the flags before any data is read (the vocabulary size is not known yet: any valid one will do).</summary>
    static RunManifest Validate(RunManifest manifest)
    {
        try
        {
            (manifest.Model with { VocabularySize = 2 }).Validated();
            manifest.Training.Validated();
        }
        catch (ArgumentException e) { throw new UsageException(e.Message); }
        return manifest;
    }

    public static string Describe(ModelConfig c) => c.Architecture == Architecture.Plain
        ? $"plain {Layers.RecurrentCells.DisplayName(c.Cell)} {c.Layers}x{c.Dim}"
        : $"residual {Layers.RecurrentCells.DisplayName(c.Cell)} {c.Layers}x{c.Dim} (H={c.Hidden}, conv {c.ConvKernel}, MLP {c.MlpMultiplier}x, dropout {c.Dropout.ToString(CultureInfo.InvariantCulture)})";
}
