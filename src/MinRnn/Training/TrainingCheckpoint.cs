using System.Globalization;
using MinRnn.IO;
using MinRnn.Model;

namespace MinRnn.Training;

/// <summary>
/// Everything a resumed run needs, in one file so that it is replaced in one atomic rename: the
/// parameters ("model.NAME"), AdamW's two moments of every parameter ("optimizer.m.NAME",
/// "optimizer.v.NAME"), the moving average of the weights when the run keeps one ("average.NAME") and, in the metadata, the step, the sampler's state, the best evaluation's validation loss and accuracy,
/// the elapsed time and the count of skipped steps. A process killed between writing this file and the
/// model file beside it therefore still resumes exactly.
/// </summary>
internal static class TrainingCheckpoint
{
    const string FormatTag = "minrnn-training-state/2", AveragePrefix = "average.", BestAccuracyKey = "best_val_accuracy";

    /// <summary>Writes the trainer's state atomically to <paramref name="path"/>.</summary>
    public static void Save(string path, Trainer trainer, LanguageModel model)
    {
        var state = trainer.State;
        var metadata = new Dictionary<string, string>
        {
            [Checkpoint.FormatKey] = FormatTag,
            ["step"] = state.Step.ToString(CultureInfo.InvariantCulture),
            ["sampler_state"] = state.SamplerState.ToString(CultureInfo.InvariantCulture),
            ["best_val_loss"] = state.BestValidationLoss.ToString("R", CultureInfo.InvariantCulture),
            [BestAccuracyKey] = state.BestValidationAccuracy.ToString("R", CultureInfo.InvariantCulture),
            ["best_step"] = state.BestStep.ToString(CultureInfo.InvariantCulture),
            ["elapsed_ms"] = ((long)state.Elapsed.TotalMilliseconds).ToString(CultureInfo.InvariantCulture),
            ["skipped_steps"] = state.SkippedSteps.ToString(CultureInfo.InvariantCulture),
        };
        var moments = trainer.Moments;
        var tensors = new List<NamedTensor>();
        for (int i = 0; i < model.Parameters.Count; i++)
        {
            var p = model.Parameters[i];
            tensors.Add(new NamedTensor("model." + p.Name, p.Shape, p.Value));
            tensors.Add(new NamedTensor("optimizer.m." + p.Name, p.Shape, moments[i].First));
            tensors.Add(new NamedTensor("optimizer.v." + p.Name, p.Shape, moments[i].Second));
            if (trainer.Average is { } average) tensors.Add(new NamedTensor(AveragePrefix + p.Name, p.Shape, average.Values[i]));
        }
        SafetensorsWriter.WriteFile(path, tensors, metadata);
    }

    /// <summary>Reads the state saved by <see cref="Save"/> into <paramref name="trainer"/> and <paramref name="model"/>'s parameters; returns its step.</summary>
    /// <exception cref="InvalidDataException">The file is not a training state of this model.</exception>
    public static int Restore(string path, Trainer trainer, LanguageModel model)
    {
        using var file = SafetensorsFile.Open(path);
        string name = Path.GetFileName(path);
        if (!file.Metadata.TryGetValue(Checkpoint.FormatKey, out var format) || format != FormatTag)
            throw new InvalidDataException($"{name}: not a MinRnn training state (expected format \"{FormatTag}\").");
        var average = trainer.Average;
        file.CheckTensors(model.Parameters.SelectMany(p => new[] { ("model." + p.Name, p.Shape), ("optimizer.m." + p.Name, p.Shape), ("optimizer.v." + p.Name, p.Shape) }
            .Concat(average is null ? [] : [(AveragePrefix + p.Name, p.Shape)])));
        var moments = trainer.Moments;
        for (int i = 0; i < model.Parameters.Count; i++)
        {
            file.ReadTensor("model." + model.Parameters[i].Name, model.Parameters[i].Value);
            file.ReadTensor("optimizer.m." + model.Parameters[i].Name, moments[i].First);
            file.ReadTensor("optimizer.v." + model.Parameters[i].Name, moments[i].Second);
            if (average is not null) file.ReadTensor(AveragePrefix + model.Parameters[i].Name, average.Values[i]);
        }
        string Get(string key) => file.Metadata.TryGetValue(key, out var v) ? v : throw new InvalidDataException($"{name}: metadata has no \"{key}\".");
        T Parse<T>(string key) where T : IParsable<T> =>
            T.TryParse(Get(key), CultureInfo.InvariantCulture, out var v) ? v : throw new InvalidDataException($"{name}: metadata \"{key}\" is malformed.");
        // A state saved before accuracy was measured has none: NaN, which only a language model's run (chosen by loss) can meet.
        double bestAccuracy = file.Metadata.ContainsKey(BestAccuracyKey) ? Parse<double>(BestAccuracyKey) : double.NaN;
        var state = new TrainerState(Parse<int>("step"), Parse<ulong>("sampler_state"), Parse<double>("best_val_loss"), bestAccuracy,
            Parse<int>("best_step"), TimeSpan.FromMilliseconds(Parse<long>("elapsed_ms")), Parse<int>("skipped_steps"));
        trainer.Restore(state);
        return state.Step;
    }
}
