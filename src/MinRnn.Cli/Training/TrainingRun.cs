using System.Globalization;
using MinRnn.Data;
using MinRnn.Distributed;
using MinRnn.IO;
using MinRnn.Kernels;
using MinRnn.Model;
using MinRnn.Training;

namespace MinRnn.Cli.Training;

/// <summary>
/// One <c>minrnn train</c>: resolve the settings (preset and flags, or the run to resume), load the
/// data (or set up the task), build or restore the model, then train with periodic evaluation, keeping in the out
/// directory best.safetensors (the best evaluation: lowest validation loss, or a task's highest accuracy),
/// last.safetensors + state.safetensors (for --resume), metrics.jsonl and loss.png. The run is saved at every
/// evaluation and when SIGINT or SIGTERM asks it to stop. Under mpirun, every rank trains its share of each batch
/// (<see cref="Trainer"/>) and rank 0 alone prints and writes files.
/// </summary>
internal static class TrainingRun
{
    public const string BestFile = "best.safetensors", LastFile = "last.safetensors", StateFile = "state.safetensors";

    public static int Execute(TrainRequest request, CancellationToken cancellation)
    {
        ProcessGroup group;
        try { group = ProcessGroup.FromEnvironment(); }
        // Every rank finds MPI missing alike: the first says so.
        catch (DllNotFoundException) when (ProcessGroup.LauncherRank() is > 0) { return TopLevel.RuntimeError; }
        catch (DllNotFoundException e) { throw new DllNotFoundException($"started by mpirun, but {e.Message}", e); }
        using (group)
        {
            if (!group.IsDistributed) return Run(request, group, cancellation);
            var error = Console.Error;
            if (!group.IsFirst)
            {
                Console.SetOut(TextWriter.Null);
                Console.SetError(TextWriter.Null);
            }
            try { return Run(request, group, cancellation); }
            // A bad flag, different settings, a non-finite step: every rank meets these alike, and rank 0 says so (the
            // others write to nowhere) before any exits, for mpirun ends the job at the first non-zero exit.
            catch (Exception e) when (e is UsageException or NotFiniteNumberException)
            {
                int code = TopLevel.Report(e);
                group.Barrier();
                return code;
            }
            catch (Exception e)
            {
                // This rank alone failed (its disk, its memory): the others would wait for it in the next sum for ever.
                error.WriteLine($"minrnn: error: rank {group.Rank} of {group.Size}: {string.Join(' ', e.Message.Split('\n', StringSplitOptions.TrimEntries))}");
                error.Flush();
                group.Abort(TopLevel.RuntimeError);
                throw;
            }
        }
    }

    static int Run(TrainRequest request, ProcessGroup group, CancellationToken cancellation)
    {
        if (request.Threads is { } threads) Parallelism.Threads = threads;
        var (manifest, outDirectory) = Resolve(request);

        (var data, manifest) = OpenData(request, manifest, outDirectory, cancellation);
        var config = manifest.Model with { VocabularySize = data.Source.VocabularySize };
        manifest = manifest with { Model = config };
        if (group.IsDistributed && !group.AllAgree(manifest.Fingerprint() ^ (request.Resume ? 1UL : 0UL)))
            throw new UsageException($"the {group.Size} ranks were started with different settings or data; every rank of mpirun must run the same minrnn train command on the same data.");

        string statePath = Path.Combine(outDirectory, StateFile), lastPath = Path.Combine(outDirectory, LastFile);
        // A run killed before its first checkpoint has a run.json and nothing to resume from: it starts again from step 0.
        bool restore = request.Resume && (File.Exists(statePath) || File.Exists(lastPath));
        if (restore && !File.Exists(statePath))
            throw new InvalidDataException($"{StateFile} is missing from {outDirectory}; the run cannot be resumed exactly.");
        // The parameters, their gradients and AdamW's two moments, before any of them is allocated; the activations below.
        long available = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes, parameterBytes = 4 * sizeof(float) * config.ParameterCount();
        if (parameterBytes > available)
            throw new UsageException($"this model's {config.ParameterCount().ToString("N0", CultureInfo.InvariantCulture)} parameters need about {MemoryEstimate.Format(parameterBytes)} with their gradients and optimiser state, but only {MemoryEstimate.Format(available)} is available; lower --dim, --layers or --expansion.");
        var model = LanguageModel.Create(config);
        if (!restore) model.Initialize(manifest.Training.Seed);

        var options = manifest.Training;
        long bytes = Trainer.EstimateBytes(model, data.Source, options);
        // What picks the best checkpoint: a task is solved or not, so its most accurate evaluation; a text's lowest loss.
        string criterion = data.Source.BestByAccuracy ? "validation accuracy" : "validation loss";
        Console.WriteLine($"model     {Describe(config)}, {N(model.ParameterCount)} parameters");
        Console.WriteLine($"data      {data.Description}");
        string accumulated = options.GradientAccumulation > 1 ? $" ({options.GradientAccumulation} accumulated per step)" : "";
        // A rate that does not decay is named once (after its warm-up, if any); a decaying one by its two ends.
        string warmup = options.WarmupSteps > 0 ? $" after {options.WarmupSteps} warm-up steps" : "";
        string rate = options.MinLearningRate == options.LearningRate
            ? $"lr {options.LearningRate}{warmup}"
            : $"lr {options.LearningRate} → {options.MinLearningRate}{(options.DecaySteps > 0 ? $" by step {options.DecaySteps}" : "")}";
        string patience = options.Patience > 0 ? $", early stop after {options.Patience} steps without a better {criterion}" : "";
        string ema = options.EmaDecay > 0 ? $", weights averaged (EMA {options.EmaDecay.ToString(CultureInfo.InvariantCulture)})" : "";
        Console.WriteLine($"training  {options.Steps} steps of {options.Batch} x {options.Context}{accumulated}, {rate}{patience}{ema}, " +
                          $"{Parallelism.Threads} thread{(Parallelism.Threads == 1 ? "" : "s")}, peak memory ≈ {MemoryEstimate.Format(bytes)}");
        if (group.IsDistributed)
            Console.WriteLine($"ranks     {group.Size} processes (mpirun), {options.Batch / Math.Max(1, group.Size)} sequences of each batch per rank, gradients summed every step");
        if (bytes > available)
            throw new UsageException($"this configuration needs about {MemoryEstimate.Format(bytes)} but only {MemoryEstimate.Format(available)} is available; lower --batch, --context or the model size.");

        Trainer trainer;
        try { trainer = new Trainer(model, data.Source, options, group) { SkipNonFinite = request.SkipNonFinite }; }
        catch (ArgumentException e) when (group.IsDistributed) { throw new UsageException(e.Message); }
        bool writes = group.IsFirst; // rank 0 alone keeps the files of the run
        if (writes)
        {
            try { Directory.CreateDirectory(outDirectory); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new IOException($"could not create the out directory {outDirectory} ({(FirstFileInTheWay(outDirectory) is { } file ? $"{file} is a file" : e.Message)}); pass another --out.", e);
            }
            // A kill in the middle of a save leaves its hidden temporary file; the checkpoints themselves are whole.
            AtomicFile.RemoveLeftovers(outDirectory);
        }
        int startStep = 0;
        if (restore)
        {
            // The state file holds the parameters too: last.safetensors may be a save behind it if a kill fell between the two.
            startStep = TrainingCheckpoint.Restore(statePath, trainer, model);
            Console.WriteLine($"resuming  at step {startStep} of {options.Steps}");
        }
        else if (request.Resume)
        {
            Console.WriteLine($"resuming  at step 0 of {options.Steps}: the run had not saved a checkpoint yet");
        }
        if (writes) manifest.Save(outDirectory);
        if (trainer.Finished)
        {
            Console.WriteLine(trainer.StoppedEarly
                ? $"the run in {outDirectory} stopped early at step {trainer.Step} (best validation loss at step {trainer.BestStep}); pass a larger --patience, or 0, to continue."
                : $"the run in {outDirectory} has already taken its {options.Steps} steps; pass a larger --steps to continue.");
            PrintNextCommands(outDirectory, manifest.Task is null);
            return 0;
        }

        int? savedStep = restore ? startStep : null;
        using var stop = new StopSignal();
        string? stopped = null;
        using (var metrics = writes ? new MetricsLog(outDirectory, resumeFromStep: request.Resume ? startStep : null) : null)
        using (var progress = writes ? new TrainingProgress(options.Steps, startStep) : null)
        {
            string title = $"{Describe(config)} — {data.Name}";
            while (!trainer.Finished)
            {
                // The ranks stop together, after the same step, whichever of them the signal reached.
                if (group.Any(stop.Requested is not null))
                {
                    stopped = stop.Requested ?? "a signal to another rank";
                    break;
                }
                try
                {
                    TrainStepAndEvaluate();
                }
                catch (NotFiniteNumberException e)
                {
                    string kept = savedStep is { } s ? $"the checkpoints of step {s} in {outDirectory} are kept" : "no checkpoint had been saved yet";
                    throw new NotFiniteNumberException($"{e.Message.TrimEnd('.')}: training stopped; {kept}. Pass --skip-nonfinite to skip such steps instead.", e.OffendingNumber);
                }
            }

            // One step, and at its evaluation: the validation loss, the checkpoints and the plot.
            void TrainStepAndEvaluate()
            {
                var step = trainer.TrainStep();
                metrics?.Write(step);
                progress?.Update(step);
                if (step.Skipped)
                    progress?.Message($"step {step.Step}: the loss or the gradient is not finite; step skipped ({trainer.SkippedSteps} so far)");
                if (!trainer.EvaluationDue) return;
                var evaluation = trainer.Evaluate();
                if (metrics is null || progress is null) return;
                metrics.Write(evaluation, trainer.Elapsed);
                progress.Update(evaluation);
                var extra = Extra(evaluation.Step, options.Context, evaluation);
                if (evaluation.IsBest) SaveModel(BestFile, extra);
                SaveResumePoint(extra);
                LossPlot.Save(Path.Combine(outDirectory, LossPlot.FileName), title, metrics.History);
            }
            if (stopped is not null && savedStep != trainer.Step && writes) SaveResumePoint(Extra(trainer.Step, options.Context, null));
            if (stopped is null && progress is not null)
            {
                string skipped = trainer.SkippedSteps > 0 ? $"; {trainer.SkippedSteps} steps skipped for a non-finite loss or gradient" : "";
                if (trainer.StoppedEarly)
                    progress.Message($"stopped early at step {trainer.Step} of {options.Steps}: no better {criterion} in the {options.Patience} steps since the best");
                string best = data.Source.BestByAccuracy
                    ? string.Create(CultureInfo.InvariantCulture, $"best validation accuracy {100 * trainer.BestValidationAccuracy:F2}% (loss {trainer.BestValidationLoss:F4})")
                    : string.Create(CultureInfo.InvariantCulture, $"best validation loss {trainer.BestValidationLoss:F4} ({trainer.BestValidationLoss / Math.Log(2):F3} bits/char)");
                progress.Message($"{best} at step {trainer.BestStep}; {ProgressLine.Duration(trainer.Elapsed)}{skipped}; checkpoints in {outDirectory}");
            }
        }
        if (stopped is null)
        {
            if (writes) PrintNextCommands(outDirectory, manifest.Task is null);
            return 0;
        }
        Console.Error.WriteLine($"minrnn: stopped by {stopped} after step {trainer.Step}; {LastFile} and {StateFile} are saved in {outDirectory}; " +
                                "continue with --resume.");
        return stop.Requested is null ? 128 + 15 : stop.ExitCode;

        // The training state first: it alone resumes the run, and last.safetensors never runs ahead of it.
        void SaveResumePoint(Dictionary<string, string> extra)
        {
            Save(StateFile, () => TrainingCheckpoint.Save(statePath, trainer, model));
            SaveModel(LastFile, extra);
            savedStep = trainer.Step;
        }

        // A model file holds the weights the run evaluates: the moving average when --ema is on.
        void SaveModel(string file, Dictionary<string, string> extra) =>
            Save(file, () => trainer.WithEvaluatedWeights(() => data.SaveModel(Path.Combine(outDirectory, file), model, extra)));

        // One line that names the file and keeps the cause (disk full, permission denied).
        void Save(string file, Action save)
        {
            try
            {
                save();
            }
            // .NET reports a write past the largest file the file system (or a size limit) allows as ArgumentOutOfRangeException.
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentOutOfRangeException)
            {
                string kept = savedStep is { } s ? $"the checkpoints of step {s} are kept" : "no checkpoint had been saved yet";
                throw new IOException($"could not write {file} in {outDirectory} ({e.Message.TrimEnd('.')}); {kept}.", e);
            }
        }
    }

    /// <summary>What a run reads, as it describes it, and how it saves a model of it (with the vocabulary or the task).</summary>
    sealed record RunData(DataSource Source, string Description, string Name, Action<string, LanguageModel, Dictionary<string, string>> SaveModel);

    /// <summary>
    /// The task of the run, or its text: loaded, checked to fit the context and, for --resume, to be the run's (the
    /// manifest then records its path and SHA-256).
    /// </summary>
    static (RunData Data, RunManifest Manifest) OpenData(TrainRequest request, RunManifest manifest, string outDirectory, CancellationToken cancellation)
    {
        if (manifest.Task is { } task)
        {
            string description = $"{task.Description}: sequences of {N(task.Length)} positions and {N(task.Tokens)} markers, new ones every step; " +
                                 $"validation {N(task.ValidationSequences)} fixed sequences, scored at the markers";
            return (new RunData(new SelectiveCopySource(task), description, task.Description, (path, model, extra) => Checkpoint.Save(path, model, task, extra)), manifest);
        }
        string dataPath = TrainingData.Locate(request.Data, cancellation);
        var corpus = CharCorpus.Load(dataPath);
        string sha256 = TrainingData.Sha256(dataPath);
        manifest = manifest with { DataSource = request.Data is { } given ? Path.GetFullPath(given) : TinyShakespeare.CanonicalUrl, DataSha256 = sha256 };
        corpus.EnsureFits(manifest.Training.Context);
        if (request.Resume && RunManifest.Load(outDirectory)!.DataSha256 is var saved && saved != sha256)
            throw new UsageException($"the data differs from the run in {outDirectory} (SHA-256 {sha256[..12]}… vs {saved[..12]}…); resume with the same --data.");
        string text = $"{corpus.Source}: {N(corpus.Length)} characters, vocabulary {corpus.Vocabulary.Count}, train {N(corpus.TrainLength)} / validation {N(corpus.Length - corpus.TrainLength)}";
        return (new RunData(new CorpusSource(corpus), text, Path.GetFileName(corpus.Source), (path, model, extra) => Checkpoint.Save(path, model, corpus.Vocabulary, extra)), manifest);
    }

    /// <summary>
    /// The commands that evaluate (and, for a character model, generate from) the best checkpoint of a finished run,
    /// ready to copy.
    /// </summary>
    static void PrintNextCommands(string outDirectory, bool generates)
    {
        string best = Path.Combine(outDirectory, BestFile);
        if (!File.Exists(best)) return;
        string quoted = best.Any(c => char.IsWhiteSpace(c) || c is '\'' or '"' or '$' or '&' or ';' or '(' or ')') ? $"'{best.Replace("'", "'\\''")}'" : best;
        Console.WriteLine($"evaluate  minrnn eval --checkpoint {quoted}");
        if (generates) Console.WriteLine($"generate  minrnn generate --checkpoint {quoted} --length 500");
    }

    /// <summary>The nearest existing ancestor of <paramref name="directory"/> (or itself) when it is a file, else null.</summary>
    static string? FirstFileInTheWay(string directory)
    {
        for (var path = Path.GetFullPath(directory); !string.IsNullOrEmpty(path); path = Path.GetDirectoryName(path))
            if (File.Exists(path)) return path;
        return null;
    }

    /// <summary>
    /// The metadata a checkpoint of the run carries besides the model: its step, context and, when evaluated, its
    /// validation loss and accuracy.
    /// </summary>
    static Dictionary<string, string> Extra(int step, int context, EvalReport? evaluation)
    {
        var extra = new Dictionary<string, string>
        {
            ["step"] = step.ToString(CultureInfo.InvariantCulture),
            ["context"] = context.ToString(CultureInfo.InvariantCulture),
        };
        if (evaluation is not null)
        {
            extra["val_loss"] = evaluation.ValidationLoss.ToString("R", CultureInfo.InvariantCulture);
            extra["val_accuracy"] = evaluation.ValidationAccuracy.ToString("R", CultureInfo.InvariantCulture);
        }
        return extra;
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
            var wanted = saved with { Model = request.Flags.Apply(saved.Model), Training = request.Flags.Apply(saved.Training), Task = request.Flags.Apply(saved.Task) };
            if (saved.Task is not null) RefuseTextFlags(request);
            if (saved.FirstDifference(wanted, allowExtension: true) is { } difference)
                throw new UsageException($"a resumed run keeps its configuration, but {difference} (only --steps, --decay-steps, --eval-every and --patience may change).");
            return (Validate(wanted), directory);
        }
        // --task alone starts from the task's CPU preset, as no flag alone starts from the quick language model.
        var preset = Preset.Find(request.Preset ?? (request.Flags.Task is null ? Preset.Quick.Name : Preset.CopyCpu.Name))
                     ?? throw new UsageException($"unknown preset '{request.Preset}'; choose one of {string.Join(", ", Preset.All.Select(p => p.Name))}.");
        string outDirectory = request.Out ?? Path.Combine("runs", preset.Name);
        if (RunManifest.Load(outDirectory) is not null)
            throw new UsageException($"{outDirectory} already holds a run; pass --resume to continue it, or --out to start a new one elsewhere.");
        var training = request.Flags.Apply(preset.Training);
        var model = request.Flags.Apply(preset.Model);
        var task = request.Flags.Apply(preset.Task);
        if (task is not null)
        {
            RefuseTextFlags(request);
            // A task's sequences have the length it gives them: L positions, then the M markers.
            training = training with { Context = task.SequenceLength };
        }
        // The transformer's position table is as long as the context it trains with, as nanoGPT's block_size.
        if (model.Architecture == Architecture.Transformer) model = model with { BlockSize = training.Context };
        var manifest = new RunManifest(preset.Name, model, training, "", "", task);
        return (Validate(manifest), outDirectory);
    }

    /// <summary>Refuses the flags that choose a text or its windows, which a task run does not read.</summary>
    static void RefuseTextFlags(TrainRequest request)
    {
        if (request.Data is not null)
            throw new UsageException($"--data does not apply to the {SelectiveCopyTask.TaskName} task, which makes its own sequences; leave out --data, or --task and the copy presets to train on the text.");
        if (request.Flags.Context is not null)
            throw new UsageException($"--context does not apply to the {SelectiveCopyTask.TaskName} task: its sequences are --copy-length + --copy-tokens long.");
    }

    /// <summary>Checks the flags before any data is read (the vocabulary size is not known yet: any valid one will do).</summary>
    static RunManifest Validate(RunManifest manifest)
    {
        try
        {
            (manifest.Model with { VocabularySize = 2 }).Validated();
            manifest.Training.Validated();
            manifest.Task?.Validated();
        }
        catch (ArgumentException e) { throw new UsageException(e.Message); }
        return manifest;
    }

    public static string Describe(ModelConfig c) => c.Architecture switch
    {
        Architecture.Plain => $"plain {Layers.RecurrentCells.DisplayName(c.Cell)} {c.Layers}x{c.Dim}",
        Architecture.Transformer => $"transformer {c.Layers}x{c.Dim} ({c.Heads} heads, context {c.BlockSize}, MLP {c.MlpMultiplier}x, dropout {c.Dropout.ToString(CultureInfo.InvariantCulture)})",
        Architecture.Mamba => $"mamba {c.Layers}x{c.Dim} (d_inner {c.Hidden}, state {c.State}, conv {c.ConvKernel}, dt_rank {c.DtRank}, dropout {c.Dropout.ToString(CultureInfo.InvariantCulture)})",
        _ => $"residual {Layers.RecurrentCells.DisplayName(c.Cell)} {c.Layers}x{c.Dim} (H={c.Hidden}, conv {c.ConvKernel}, {(c.MlpMultiplier > 0 ? $"MLP {c.MlpMultiplier}x" : "no MLP")}, dropout {c.Dropout.ToString(CultureInfo.InvariantCulture)})",
    };

    /// <summary>A count with thousands separators: 1,115,394.</summary>
    static string N(long value) => value.ToString("N0", CultureInfo.InvariantCulture);
}
