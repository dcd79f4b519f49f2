using System.Diagnostics;
using MinRnn.Data;
using MinRnn.Distributed;
using MinRnn.Kernels;
using MinRnn.Layers;
using MinRnn.Model;

namespace MinRnn.Training;

/// <summary>
/// The training loop's state and one step of it: sample sequences, forward, cross-entropy at the scored positions,
/// backward (over <see cref="TrainingOptions.GradientAccumulation"/> micro-batches), clip, AdamW with the scheduled
/// learning rate, then the moving average of the weights when it is on. Everything that decides the next step — the
/// parameters, the optimiser moments, the average, the step count and the sampler's state (<see cref="TrainerState"/>)
/// — is what <see cref="TrainingCheckpoint"/> saves, so a run resumed from it continues bit for bit.
/// </summary>
internal sealed class Trainer
{
    readonly LanguageModel model;
    readonly TrainingOptions options;
    readonly ISequenceSampler sampler;
    readonly IValidationSet validation;
    readonly bool bestByAccuracy;
    readonly float[][] firstMoments, secondMoments;
    readonly int[] inputs, targets;
    readonly float[] dLogits;
    readonly Memory<float>[] gradients;
    /// <summary>With several ranks, every gradient side by side, so that one all-reduce sums them all (one message, not one per tensor).</summary>
    readonly float[]? flatGradients;
    readonly WeightAverage? average;
    readonly ProcessGroup group;
    readonly Stopwatch clock = Stopwatch.StartNew();
    TimeSpan elapsedBefore;

    /// <summary>Prepares to train <paramref name="model"/> (already initialised or loaded) on <paramref name="corpus"/>.</summary>
    /// <exception cref="ArgumentException">The options are invalid or the corpus is too short for the context.</exception>
    public Trainer(LanguageModel model, CharCorpus corpus, TrainingOptions options) : this(model, new CorpusSource(corpus), options)
    {
    }

    /// <summary>Prepares to train <paramref name="model"/> (already initialised or loaded) on <paramref name="data"/>.</summary>
    /// <exception cref="ArgumentException">The options are invalid or do not fit the data, or the model's vocabulary is not the data's.</exception>
    /// <exception cref="InvalidDataException">The data is too short for the options.</exception>
    /// <param name="model">The model, already initialised or loaded (the same on every rank).</param>
    /// <param name="data">What it learns from.</param>
    /// <param name="options">How.</param>
    /// <param name="group">The ranks that train it together, each on its share of every batch; by default this process alone.</param>
    public Trainer(LanguageModel model, DataSource data, TrainingOptions options, ProcessGroup? group = null)
    {
        this.model = model;
        this.options = options.Validated();
        this.group = group ?? ProcessGroup.Single;
        if (options.Batch % this.group.Size != 0)
            throw new ArgumentException($"--batch {options.Batch} must divide evenly among the {this.group.Size} ranks; choose a multiple of {this.group.Size}.");
        if (data.VocabularySize != model.Config.VocabularySize)
            throw new ArgumentException($"{data.DescribeVocabulary()} but the model's vocabulary has {model.Config.VocabularySize}.");
        int length = data.SequenceLength(options);
        if (model.Config.Architecture == Architecture.Transformer && length > model.Config.BlockSize)
            throw new ArgumentException($"--context {length} is longer than the transformer's block size of {model.Config.BlockSize}.");
        sampler = data.Sampler(options);
        validation = data.Validation(options);
        bestByAccuracy = data.BestByAccuracy;
        firstMoments = model.Parameters.Select(p => new float[p.Value.Length]).ToArray();
        secondMoments = model.Parameters.Select(p => new float[p.Value.Length]).ToArray();
        gradients = model.Parameters.Select(p => new Memory<float>(p.Gradient)).ToArray();
        if (this.group.IsDistributed) flatGradients = new float[model.Parameters.Sum(p => (long)p.Gradient.Length)];
        inputs = new int[options.Batch * sampler.Length];
        targets = new int[options.Batch * sampler.Scored];
        dLogits = new float[(long)targets.Length / this.group.Size * model.Config.VocabularySize];
        if (options.EmaDecay > 0) average = new WeightAverage(model.Parameters, options.EmaDecay);
        BestValidationLoss = double.PositiveInfinity;
        BestValidationAccuracy = double.NegativeInfinity;
    }

    /// <summary>
    /// The bytes a run of <paramref name="options"/> on <paramref name="data"/> holds at its peak: the model's training
    /// buffers (<see cref="LanguageModel.EstimateTrainingBytes"/>) and, with the moving average, its two copies of the parameters.
    /// </summary>
    public static long EstimateBytes(LanguageModel model, DataSource data, TrainingOptions options) =>
        model.EstimateTrainingBytes(options.Batch, data.SequenceLength(options), data.ScoredPositions(options))
        + (options.EmaDecay > 0 ? 2 * sizeof(float) * model.ParameterCount : 0);

    /// <summary>Steps taken so far.</summary>
    public int Step { get; private set; }

    /// <summary>
    /// The validation loss of the best evaluation so far (+inf before any): the lowest, or for data chosen by accuracy
    /// (<see cref="DataSource.BestByAccuracy"/>) the loss of the most accurate.
    /// </summary>
    public double BestValidationLoss { get; private set; }

    /// <summary>The validation accuracy of the best evaluation so far (-inf before any).</summary>
    public double BestValidationAccuracy { get; private set; }

    /// <summary>The step of the best evaluation (0 before any).</summary>
    public int BestStep { get; private set; }

    /// <summary>Wall time spent training, including time before a resume.</summary>
    public TimeSpan Elapsed => elapsedBefore + clock.Elapsed;

    /// <summary>
    /// Whether a step whose loss or gradient is NaN or infinite is skipped — counted in <see cref="SkippedSteps"/>, the
    /// parameters and moments left as they were — instead of stopping the run with an exception.
    /// </summary>
    public bool SkipNonFinite { get; set; }

    /// <summary>Steps skipped so far because of a non-finite loss or gradient (see <see cref="SkipNonFinite"/>).</summary>
    public int SkippedSteps { get; private set; }

    /// <summary>Whether all steps are done, or the run has <see cref="StoppedEarly"/>.</summary>
    public bool Finished => Step >= options.Steps || StoppedEarly;

    /// <summary>
    /// Whether early stopping ends the run: <see cref="TrainingOptions.Patience"/> is on and the best evaluation is
    /// that many steps old. The step that reaches it is evaluated (<see cref="EvaluationDue"/>), and a new best there
    /// continues the run.
    /// </summary>
    public bool StoppedEarly => options.Patience > 0 && BestStep > 0 && Step - BestStep >= options.Patience;

    /// <summary>Whether the validation loss is due after the step just taken.</summary>
    public bool EvaluationDue => Step % options.EvalEvery == 0 || Step == options.Steps || StoppedEarly;

    /// <summary>
    /// Takes one optimisation step: <see cref="TrainingOptions.GradientAccumulation"/> = N micro-batches of B sequences,
    /// each micro-batch's loss gradient scaled by 1 / (N·B·P) so that their sum is the gradient of the mean loss over all
    /// N·B·P scored positions — the step one batch of N·B sequences would take. With R ranks, every rank draws the same
    /// batch and rank r takes its rows r·B/R … (r+1)·B/R - 1; the gradients (each already a share of that mean) and the
    /// losses are summed across the ranks before the clip, so that every rank takes the same step.
    /// </summary>
    /// <exception cref="NotFiniteNumberException">The loss or the gradient is NaN or infinite and <see cref="SkipNonFinite"/>
    /// is off; nothing was updated and <see cref="Step"/> is unchanged.</exception>
    public StepReport TrainStep()
    {
        long start = Stopwatch.GetTimestamp();
        int step = Step + 1, micro = options.GradientAccumulation, vocabulary = model.Config.VocabularySize, length = sampler.Length, scored = sampler.Scored;
        int share = options.Batch / group.Size, first = group.Rank * share, rows = share * scored;
        float scale = 1f / ((long)options.Batch * scored * micro);
        double lr = options.Schedule.At(step), loss = 0;
        string? problem = null;
        // The trainer's shapes are fixed and valid, so the only argument a layer can reject here is a NaN or an
        // infinity inside the network (the scan checks its pre-activations, the loss its logits).
        try
        {
            for (int k = 0; k < micro; k++)
            {
                sampler.Next(inputs, targets);
                var logits = model.Forward(inputs.AsSpan(first * length, share * length), share, length, train: true, seed: DropoutSeed(step, k), scored: scored,
                    firstSequence: first);
                double microLoss = SoftmaxCrossEntropy.ForwardBackward(logits, targets.AsSpan(first * scored, rows), dLogits, rows, vocabulary, scale);
                loss += microLoss / micro;
                if (!double.IsFinite(microLoss)) break;
                if (k == 0) model.ZeroGradients();
                model.Backward(dLogits);
            }
        }
        catch (Exception e) when (e is ArgumentException or NotFiniteNumberException)
        {
            problem = $"the network is not finite ({e.Message.TrimEnd('.')})";
            loss = double.NaN;
        }
        if (group.IsDistributed)
        {
            // Every rank learns whether any failed, so that all skip (or stop at) the same step.
            Span<double> shared = [loss / group.Size, problem is null ? 0 : 1];
            group.Sum(shared);
            if (shared[1] > 0) problem ??= "the network is not finite on another rank";
            loss = shared[0];
            if (problem is null && double.IsFinite(loss)) SumGradientsAcrossRanks();
        }
        if (problem is not null) return NonFinite(step, problem, double.NaN, lr, double.NaN, start);
        if (!double.IsFinite(loss)) return NonFinite(step, $"the training loss is {loss}", loss, lr, double.NaN, start);
        double norm = options.Clip > 0 ? GradientClipping.ClipByGlobalNorm((float)options.Clip, gradients) : GradientClipping.GlobalNorm(gradients);
        if (!double.IsFinite(norm)) return NonFinite(step, $"the gradient norm is {norm}", loss, lr, norm, start);

        var adam = new AdamWOptions { LearningRate = (float)lr, WeightDecay = (float)options.WeightDecay, Beta2 = (float)options.Beta2 };
        for (int i = 0; i < model.Parameters.Count; i++)
        {
            var p = model.Parameters[i];
            AdamW.Step(p.Value, p.Gradient, firstMoments[i], secondMoments[i], step, adam, p.Decay);
        }
        average?.Update(step);
        Step = step;
        return Report(step, loss, lr, norm, start, skipped: false);
    }

    /// <summary>
    /// Every gradient = Σ over ranks, as one all-reduce of <see cref="flatGradients"/>: on a network each message costs a
    /// latency per hop of the ring, so one message for the whole model rather than one per tensor (40 in the paper preset).
    /// </summary>
    void SumGradientsAcrossRanks()
    {
        using var _ = OperationProfile.Enabled ? OperationProfile.Measure("all-reduce of the gradients") : default;
        var flat = flatGradients.AsSpan();
        int at = 0;
        foreach (var p in model.Parameters)
        {
            p.Gradient.CopyTo(flat[at..]);
            at += p.Gradient.Length;
        }
        group.Sum(flat);
        at = 0;
        foreach (var p in model.Parameters)
        {
            flat.Slice(at, p.Gradient.Length).CopyTo(p.Gradient);
            at += p.Gradient.Length;
        }
    }

    /// <summary>
    /// The dropout seed of micro-batch <paramref name="micro"/> of <paramref name="step"/>: every step and micro-batch its
    /// own masks (micro-batch 0 keeps the seed a step had before accumulation existed). The ranks share it: each draws the
    /// masks of its own rows of the batch, as one process would.
    /// </summary>
    ulong DropoutSeed(int step, int micro) => options.Seed * 7_919 + (ulong)step + ((ulong)micro << 32);

    /// <summary>Stops the run or, with <see cref="SkipNonFinite"/>, counts <paramref name="step"/> as taken without updating anything.</summary>
    StepReport NonFinite(int step, string problem, double loss, double lr, double norm, long start)
    {
        if (!SkipNonFinite) throw new NotFiniteNumberException($"step {step}: {problem}.", double.IsFinite(loss) ? norm : loss);
        // The sampler has moved past this step's windows, so the step after it sees new data.
        Step = step;
        SkippedSteps++;
        return Report(step, loss, lr, norm, start, skipped: true);
    }

    StepReport Report(int step, double loss, double lr, double norm, long start, bool skipped) =>
        new(step, options.Steps, loss, lr, norm, (double)options.GradientAccumulation * options.Batch * sampler.Length / Stopwatch.GetElapsedTime(start).TotalSeconds,
            Elapsed, skipped);

    /// <summary>
    /// The moving average of the weights (<see cref="TrainingOptions.EmaDecay"/>), or null when the last iterate is
    /// what the run evaluates and saves.
    /// </summary>
    public WeightAverage? Average => average;

    /// <summary>
    /// Runs <paramref name="action"/> with the model holding the weights the run evaluates and saves: the moving
    /// average when there is one (the training values are put back after it), else the parameters as they are.
    /// </summary>
    public T WithEvaluatedWeights<T>(Func<T> action) => average is null ? action() : average.WithAverage(action);

    /// <summary>Runs <paramref name="action"/> with the model holding the weights the run evaluates and saves.</summary>
    public void WithEvaluatedWeights(Action action) => WithEvaluatedWeights(() =>
    {
        action();
        return true;
    });

    /// <summary>
    /// Scores the evaluated weights (see <see cref="WithEvaluatedWeights"/>) on the validation set — spec §4's loss for a
    /// text — and updates the best evaluation: the lowest loss, or for data chosen by accuracy the highest accuracy, ties
    /// going to the lower loss.
    /// </summary>
    /// <exception cref="NotFiniteNumberException">The network produced NaN or infinity on the validation set.</exception>
    public EvalReport Evaluate()
    {
        ValidationScore score;
        try
        {
            score = WithEvaluatedWeights(() => Evaluator.Validate(model, validation, options.Batch, group));
        }
        catch (Exception e) when (e is ArgumentException or NotFiniteNumberException)
        {
            // As in TrainStep: with valid shapes, only a non-finite value inside the network is rejected.
            throw new NotFiniteNumberException($"step {Step}: the network is not finite on the validation set ({e.Message.TrimEnd('.')}).", double.NaN);
        }
        if (!double.IsFinite(score.Loss)) throw new NotFiniteNumberException($"step {Step}: the validation loss is {score.Loss}.", score.Loss);
        bool better = bestByAccuracy
            ? score.Accuracy > BestValidationAccuracy || (score.Accuracy == BestValidationAccuracy && score.Loss < BestValidationLoss)
            : score.Loss < BestValidationLoss;
        if (better)
        {
            BestValidationLoss = score.Loss;
            BestValidationAccuracy = score.Accuracy;
            BestStep = Step;
        }
        return new EvalReport(Step, score.Loss, BestValidationLoss, BestStep) { ValidationAccuracy = score.Accuracy, BestValidationAccuracy = BestValidationAccuracy };
    }

    /// <summary>The optimiser moments, one pair per parameter (in <see cref="LanguageModel.Parameters"/> order).</summary>
    public IReadOnlyList<(float[] First, float[] Second)> Moments => firstMoments.Zip(secondMoments).ToArray();

    /// <summary>The counters of the run, for a checkpoint.</summary>
    public TrainerState State => new(Step, sampler.State, BestValidationLoss, BestValidationAccuracy, BestStep, Elapsed, SkippedSteps);

    /// <summary>Restores the counters saved by <see cref="State"/>; the moments are restored through <see cref="Moments"/>.</summary>
    public void Restore(TrainerState state)
    {
        Step = state.Step;
        sampler.State = state.SamplerState;
        BestValidationLoss = state.BestValidationLoss;
        BestValidationAccuracy = state.BestValidationAccuracy;
        BestStep = state.BestStep;
        SkippedSteps = state.SkippedSteps;
        elapsedBefore = state.Elapsed - clock.Elapsed;
    }
}

/// <summary>The scalar state of a run, besides parameters and optimiser moments.</summary>
/// <param name="Step">Steps taken.</param>
/// <param name="SamplerState">The training-window sampler's generator state.</param>
/// <param name="BestValidationLoss">The validation loss of the best evaluation so far (+inf before any).</param>
/// <param name="BestValidationAccuracy">Its validation accuracy (-inf before any; NaN when a state saved before accuracy was measured).</param>
/// <param name="BestStep">Its step.</param>
/// <param name="Elapsed">Wall time spent so far.</param>
/// <param name="SkippedSteps">Steps skipped for a non-finite loss or gradient.</param>
internal sealed record TrainerState(int Step, ulong SamplerState, double BestValidationLoss, double BestValidationAccuracy, int BestStep, TimeSpan Elapsed,
    int SkippedSteps);
