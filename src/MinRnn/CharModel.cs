using System.Globalization;
using System.Runtime.CompilerServices;
using MinRnn.Data;
using MinRnn.Generation;
using MinRnn.Model;
using MinRnn.Training;

namespace MinRnn;

/// <summary>
/// A character language model and its vocabulary: the library's entry point. Load one that <c>minrnn train</c> wrote
/// (or build one from a <see cref="ModelConfig"/>), train it on a text, evaluate it, generate from it, save it.
/// </summary>
/// <remarks>
/// <para>Files are the command line's checkpoints: <see cref="Save"/> writes what <c>minrnn generate</c> and
/// <c>minrnn eval</c> read, and <see cref="Load"/> reads what <c>minrnn train</c> writes.</para>
/// <para>One instance runs one operation at a time: every call that uses the weights takes the instance's lock, so calls
/// from several threads are safe but take turns (a training run holds the lock until it returns; each generated
/// character takes it for one step). For work in parallel, use <see cref="GenerateBatch"/> or load one instance per thread.
/// The kernels' threads are shared by the whole process (<see cref="Engine.Threads"/>).</para>
/// </remarks>
public sealed class CharModel
{
    const string ContextKey = "context", StepKey = "step", ValidationLossKey = "val_loss", ValidationAccuracyKey = "val_accuracy";

    readonly LanguageModel model;
    readonly Vocabulary vocabulary;
    readonly Dictionary<string, string> metadata;
    readonly Lock gate = new();

    CharModel(LanguageModel model, Vocabulary vocabulary, IReadOnlyDictionary<string, string> metadata)
    {
        this.model = model;
        this.vocabulary = vocabulary;
        this.metadata = new Dictionary<string, string>(metadata);
    }

    /// <summary>Reads a checkpoint written by <see cref="Save"/> or by <c>minrnn train</c>.</summary>
    /// <exception cref="FileNotFoundException">There is no file at <paramref name="path"/>.</exception>
    /// <exception cref="InvalidDataException">The file is not a MinRnn checkpoint, is damaged, comes from a newer format, or
    /// holds a model of a task (such as <see cref="SelectiveCopyTask"/>), which reads token ids rather than characters; the
    /// message is one line naming the file and the problem.</exception>
    public static CharModel Load(string path) => FromCheckpoint(Checkpoint.Load(path));

    /// <summary>The character model a loaded checkpoint holds.</summary>
    /// <exception cref="InvalidDataException">It holds a task's model, which reads no characters.</exception>
    internal static CharModel FromCheckpoint(Checkpoint checkpoint) =>
        new(checkpoint.Model, checkpoint.RequireVocabulary(), checkpoint.Metadata);

    /// <summary>
    /// A new model of shape <paramref name="config"/> over the characters of <paramref name="text"/> (its vocabulary:
    /// every distinct character, sorted), initialised as PyTorch initialises its layers, from <paramref name="seed"/>.
    /// <paramref name="config"/>'s <see cref="ModelConfig.VocabularySize"/> is replaced by the number of those characters.
    /// </summary>
    /// <remarks>With the seed of the <see cref="TrainingOptions"/> it is then trained with, training gives the same
    /// weights as <c>minrnn train</c> with the same settings and thread count.</remarks>
    /// <exception cref="ArgumentException">The configuration is invalid, or the text is empty or holds an unpaired surrogate.</exception>
    public static CharModel Create(ModelConfig config, string text, ulong seed = 1337)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(text);
        var characters = Vocabulary.FromText(text);
        var model = LanguageModel.Create((config with { VocabularySize = characters.Count }).Validated());
        model.Initialize(seed);
        return new CharModel(model, characters, new Dictionary<string, string>());
    }

    /// <summary>The model's shape.</summary>
    public ModelConfig Config => model.Config;

    /// <summary>The characters the model knows, in token-id order.</summary>
    public string Characters => vocabulary.Characters;

    /// <summary>The number of trainable parameters.</summary>
    public long ParameterCount => model.ParameterCount;

    /// <summary>
    /// The context (window length) the model was trained with, from the checkpoint or the last <see cref="Train"/>;
    /// null when unknown. <see cref="Evaluate"/> uses it by default.
    /// </summary>
    public int? Context => Int(ContextKey);

    /// <summary>The training step of these weights, from the checkpoint or the last <see cref="Train"/>; null when unknown.</summary>
    public int? Step => Int(StepKey);

    /// <summary>The validation loss (nats per character) measured for these weights in training; null when unknown.</summary>
    public double? ValidationLoss => Entry(ValidationLossKey) is { } text && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double loss)
        ? loss : null;

    /// <summary>
    /// The metadata <see cref="Save"/> writes: the format tag, the configuration, the vocabulary and, once known, the step,
    /// context, validation loss and accuracy (for a loaded model, every entry of its file).
    /// </summary>
    public IReadOnlyDictionary<string, string> Metadata
    {
        get
        {
            lock (gate) return Checkpoint.MetadataOf(model.Config, vocabulary, metadata);
        }
    }

    /// <summary>
    /// Writes the model to <paramref name="path"/> as a safetensors checkpoint (PyTorch's tensor names, the configuration
    /// and vocabulary in its metadata). The file is replaced atomically: a reader sees the old file or the whole new one.
    /// </summary>
    /// <exception cref="IOException">The file could not be written; an existing file is left as it was.</exception>
    public void Save(string path)
    {
        lock (gate) Checkpoint.Save(path, model, vocabulary, metadata);
    }

    /// <summary>
    /// Trains the model on <paramref name="text"/>: its first 90% trains and its last 10% validates (spec §4), with AdamW,
    /// warm-up and cosine decay, gradient clipping, evaluation every <see cref="TrainingOptions.EvalEvery"/> steps and
    /// at the last, and early stopping and weight averaging when <paramref name="options"/> ask for them.
    /// When it returns, the model holds the weights of the best evaluation (as <c>best.safetensors</c> of
    /// <c>minrnn train</c>), and <see cref="Step"/>, <see cref="Context"/> and <see cref="ValidationLoss"/> describe them.
    /// </summary>
    /// <param name="text">The corpus. Every character must be in <see cref="Characters"/>.</param>
    /// <param name="options">Batch, context, steps, learning rates and the rest; <see cref="Preset.Training"/> holds tested sets.</param>
    /// <param name="progress">Receives a <see cref="StepReport"/> after each step and an <see cref="EvalReport"/> after each
    /// evaluation, on the training thread (a <see cref="Progress{T}"/> posts them to its synchronization context instead).</param>
    /// <param name="cancellationToken">Checked before each step. On cancellation the model keeps the best weights evaluated
    /// so far (or, before the first evaluation, the current ones) and <see cref="OperationCanceledException"/> is thrown.</param>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    /// <exception cref="InvalidDataException">The text is too short for the context, looks binary, or holds characters the
    /// model does not know (named).</exception>
    /// <exception cref="NotFiniteNumberException">The loss or the gradient became NaN or infinite; the model keeps the best
    /// weights evaluated so far.</exception>
    public TrainingResult Train(string text, TrainingOptions options, IProgress<TrainingReport>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(text);
        return TrainCorpus(CharCorpus.FromText(text, "the training text", vocabulary), options, progress, cancellationToken);
    }

    /// <summary>Trains the model on the UTF-8 text file at <paramref name="path"/>, as <see cref="Train"/> does on a string.</summary>
    /// <exception cref="FileNotFoundException">There is no file at <paramref name="path"/>.</exception>
    /// <exception cref="InvalidDataException">The file is empty, binary, not UTF-8, too short for the context, or holds
    /// characters the model does not know.</exception>
    /// <inheritdoc cref="Train" path="/param"/>
    public TrainingResult TrainOnFile(string path, TrainingOptions options, IProgress<TrainingReport>? progress = null, CancellationToken cancellationToken = default) =>
        TrainCorpus(CharCorpus.Load(path, vocabulary), options, progress, cancellationToken);

    TrainingResult TrainCorpus(CharCorpus corpus, TrainingOptions options, IProgress<TrainingReport>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        lock (gate)
        {
            var trainer = new Trainer(model, corpus, options);
            float[][]? best = null;
            try
            {
                while (!trainer.Finished)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    var step = trainer.TrainStep(); // outside progress?.Report(...), which skips its argument when progress is null
                    progress?.Report(step);
                    if (!trainer.EvaluationDue) continue;
                    var evaluation = trainer.Evaluate();
                    if (evaluation.IsBest) best = trainer.WithEvaluatedWeights(Snapshot);
                    progress?.Report(evaluation);
                }
            }
            finally
            {
                best ??= trainer.WithEvaluatedWeights(Snapshot);
                for (int i = 0; i < best.Length; i++) best[i].CopyTo(model.Parameters[i].Value, 0);
                if (trainer.BestStep > 0)
                {
                    metadata[StepKey] = trainer.BestStep.ToString(CultureInfo.InvariantCulture);
                    metadata[ValidationLossKey] = trainer.BestValidationLoss.ToString("R", CultureInfo.InvariantCulture);
                    // As minrnn train writes them: the accuracy of the best evaluation beside its loss.
                    metadata[ValidationAccuracyKey] = trainer.BestValidationAccuracy.ToString("R", CultureInfo.InvariantCulture);
                    metadata[ContextKey] = options.Context.ToString(CultureInfo.InvariantCulture);
                }
            }
            return new TrainingResult(trainer.Step, trainer.BestValidationLoss, trainer.BestStep, trainer.Elapsed, trainer.StoppedEarly);
        }
    }

    float[][] Snapshot() => model.Parameters.Select(p => (float[])p.Value.Clone()).ToArray();

    /// <summary>
    /// The model's validation loss on <paramref name="text"/>'s last 10% (spec §4, as <c>minrnn eval</c>): the mean
    /// cross-entropy over consecutive windows of <paramref name="context"/> characters, each from a zero state; and the
    /// streaming loss of the same split read as one sequence with the state carried across (recurrent models only).
    /// </summary>
    /// <param name="text">The text whose validation split is read; every character must be in <see cref="Characters"/>.</param>
    /// <param name="context">The window length; by default <see cref="Context"/>, else 256.</param>
    /// <exception cref="InvalidDataException">The text is too short for the context, looks binary, or holds characters the model does not know.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The context is not positive.</exception>
    public EvaluationResult Evaluate(string text, int? context = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        return EvaluateCorpus(CharCorpus.FromText(text, "the evaluation text", vocabulary), context);
    }

    /// <summary>The model's validation loss on the UTF-8 text file at <paramref name="path"/>, as <see cref="Evaluate"/> on a string.</summary>
    /// <exception cref="FileNotFoundException">There is no file at <paramref name="path"/>.</exception>
    /// <exception cref="InvalidDataException">The file is empty, binary, not UTF-8, too short, or holds characters the model does not know.</exception>
    /// <inheritdoc cref="Evaluate" path="/param"/>
    public EvaluationResult EvaluateFile(string path, int? context = null) => EvaluateFile(path, context, EvaluationBatch);

    /// <summary><see cref="EvaluateFile(string, int?)"/> with <paramref name="batch"/> windows in one forward (it changes the speed only).</summary>
    internal EvaluationResult EvaluateFile(string path, int? context, int batch) => EvaluateCorpus(CharCorpus.Load(path, vocabulary), context, batch);

    EvaluationResult EvaluateCorpus(CharCorpus corpus, int? context, int batch = EvaluationBatch)
    {
        int windowLength = context ?? Context ?? Preset.Quick.Training.Context;
        corpus.EnsureFits(windowLength);
        var windows = new ValidationWindows(corpus.Validation, windowLength);
        lock (gate)
        {
            var score = Evaluator.Validate(model, windows, batch);
            double? streaming = model.CarriesState ? Evaluator.StreamingLoss(model, corpus.Validation) : null;
            return new EvaluationResult(score.Loss, streaming, windowLength, windows.Count, windows.Positions, score.Accuracy);
        }
    }

    /// <summary>Windows evaluated in one forward.</summary>
    const int EvaluationBatch = 64;

    /// <summary>
    /// Generates <paramref name="length"/> characters after <paramref name="prompt"/>, yielding each as soon as it is
    /// sampled (a string, since a character outside the Basic Multilingual Plane is two UTF-16 units). The prompt is
    /// read in one parallel pass; each character is then one step from the carried state, so memory stays constant.
    /// </summary>
    /// <param name="prompt">At least one character, all in <see cref="Characters"/>.</param>
    /// <param name="length">Characters to generate (0 or more).</param>
    /// <param name="sampling">Temperature, top-k, top-p and seed; the defaults sample the full distribution with seed 1337.</param>
    /// <param name="cancellationToken">Checked before each character.</param>
    /// <exception cref="ArgumentException">The prompt is empty or holds characters the model does not know (named), the
    /// length is negative, or a sampling option is out of range: thrown by the call itself (by the first <c>MoveNextAsync</c>
    /// for the asynchronous form).</exception>
    public IEnumerable<string> Generate(string prompt, int length, SamplingOptions? sampling = null, CancellationToken cancellationToken = default) =>
        GenerateBatch([prompt], length, sampling, cancellationToken).Select(step => step[0]);

    /// <summary>
    /// <see cref="Generate"/> as an asynchronous stream, for ASP.NET Core responses and UI code: the first character is
    /// computed off the caller's thread, and each later one inside <c>MoveNextAsync</c> (one step of the model).
    /// </summary>
    /// <inheritdoc cref="Generate" path="/param"/>
    /// <inheritdoc cref="Generate" path="/exception"/>
    public async IAsyncEnumerable<string> GenerateAsync(string prompt, int length, SamplingOptions? sampling = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        // Off the caller's thread and its synchronization context, which may be blocked waiting for this stream.
        await Task.CompletedTask.ConfigureAwait(ConfigureAwaitOptions.ForceYielding);
        foreach (string character in Generate(prompt, length, sampling, cancellationToken)) yield return character;
    }

    /// <summary>
    /// Generates <paramref name="length"/> characters for each prompt, all streams advancing together as one batch (one
    /// model step for all of them per character). Each item holds the next character of every stream, in prompt order.
    /// Stream i samples with seed <see cref="SamplingOptions.Seed"/> + i, so a stream's text does not depend on the others.
    /// </summary>
    /// <param name="prompts">One prompt per stream (at least one), each at least one character in <see cref="Characters"/>.
    /// The same prompt several times gives that many independent samples.</param>
    /// <param name="length">Characters to generate per stream (0 or more).</param>
    /// <param name="sampling">Temperature, top-k, top-p and seed, shared by the streams.</param>
    /// <param name="cancellationToken">Checked before each step.</param>
    /// <exception cref="ArgumentException">There is no prompt, a prompt is empty or holds characters the model does not
    /// know (named), the length is negative, or a sampling option is out of range: thrown by the call itself (by the first
    /// <c>MoveNextAsync</c> for the asynchronous form).</exception>
    public IEnumerable<IReadOnlyList<string>> GenerateBatch(IReadOnlyList<string> prompts, int length, SamplingOptions? sampling = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        if (prompts.Count == 0) throw new ArgumentException("CharModel.GenerateBatch: give at least one prompt.", nameof(prompts));
        if (length < 0) throw new ArgumentOutOfRangeException(nameof(length), length, "The length must be 0 or more.");
        var options = (sampling ?? new SamplingOptions()).Validated();
        var copies = prompts.ToArray();
        for (int i = 0; i < copies.Length; i++)
        {
            string which = copies.Length == 1 ? "the prompt" : $"prompt {i}";
            if (string.IsNullOrEmpty(copies[i])) throw new ArgumentException($"{which} is empty; give at least one character.", nameof(prompts));
            try { vocabulary.Encode(copies[i]); }
            catch (ArgumentException e) { throw new ArgumentException($"{which}: {e.Message}", nameof(prompts), e); }
        }
        return Steps(copies, length, options, cancellationToken);
    }

    /// <summary><see cref="GenerateBatch"/> as an asynchronous stream (see <see cref="GenerateAsync"/>).</summary>
    /// <inheritdoc cref="GenerateBatch" path="/param"/>
    /// <inheritdoc cref="GenerateBatch" path="/exception"/>
    public async IAsyncEnumerable<IReadOnlyList<string>> GenerateBatchAsync(IReadOnlyList<string> prompts, int length, SamplingOptions? sampling = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var steps = GenerateBatch(prompts, length, sampling, cancellationToken);
        // Off the caller's thread and its synchronization context, which may be blocked waiting for this stream.
        await Task.CompletedTask.ConfigureAwait(ConfigureAwaitOptions.ForceYielding);
        foreach (var step in steps) yield return step;
    }

    IEnumerable<IReadOnlyList<string>> Steps(string[] prompts, int length, SamplingOptions sampling, CancellationToken cancellationToken)
    {
        if (length == 0) yield break;
        var generator = new Generator(model, vocabulary, sampling, prompts.Length);
        lock (gate) generator.Prefill(prompts);
        for (int i = 0; i < length; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var characters = new string[prompts.Length];
            lock (gate) generator.Step(characters);
            yield return characters;
        }
    }

    int? Int(string key) => Entry(key) is { } text && int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int value) ? value : null;

    /// <summary>A metadata entry, read under the lock that training takes to write them.</summary>
    string? Entry(string key)
    {
        lock (gate) return metadata.GetValueOrDefault(key);
    }
}
