using MinRnn.Layers;
using System.CommandLine;
using MinRnn.Cli.Training;
using MinRnn.Model;
using MinRnn.Training;

namespace MinRnn.Cli.Commands;

/// <summary>
/// <c>minrnn train [--preset NAME] [--data FILE | --task selective-copy] [--out DIR] [--resume] [model and optimisation flags]</c>:
/// trains a character language model (or a model of a synthetic task), keeping the best and the last checkpoint,
/// metrics.jsonl and loss.png in --out.
/// </summary>
internal static class TrainCommand
{
    public static Command Create()
    {
        var command = new Command("train", "Train a character language model (default: the quick preset on Tiny Shakespeare), or a model of the selective copying task.");
        var preset = Add(command, new Option<string?>("--preset") { Description = $"Starting point: {string.Join(", ", Preset.All.Select(p => $"{p.Name} ({p.Description})"))}. Default: {Preset.Quick.Name}." });
        var data = Add(command, new Option<string?>("--data") { Description = "UTF-8 text file to train on. Default: Tiny Shakespeare, downloaded once and cached." });
        var task = Add(command, new Option<string?>("--task") { Description = $"Train on a synthetic task instead of a text: {SelectiveCopyTask.TaskName} (the paper's selective copying; default preset {Preset.CopyCpu.Name})." });
        var copyLength = Add(command, new Option<int?>("--copy-length") { Description = "Selective copying: positions L that hold the tokens among the noise (the markers follow)." });
        var copyTokens = Add(command, new Option<int?>("--copy-tokens") { Description = "Selective copying: tokens M to copy, fewer than --copy-length." });
        var copyVocab = Add(command, new Option<int?>("--copy-vocab") { Description = "Selective copying: vocabulary V (noise, marker and V - 2 data tokens), at least 3." });
        var copyValidation = Add(command, new Option<int?>("--copy-validation") { Description = "Selective copying: sequences in the fixed validation set." });
        var output = Add(command, new Option<string?>("--out") { Description = "Directory for checkpoints, metrics.jsonl and loss.png. Default: runs/<preset>." });
        var resume = Add(command, new Option<bool>("--resume") { Description = "Continue the run in --out from its last checkpoint (same data and configuration; --steps, --decay-steps, --eval-every and --patience may change)." });
        var skipNonFinite = Add(command, new Option<bool>("--skip-nonfinite") { Description = "Skip a step whose loss or gradient is NaN or infinite (counted and reported) instead of stopping the run." });
        var threads = Add(command, new Option<int?>("--threads") { Description = "Threads to use. Default: all processors." });
        var cell = Add(command, new Option<string?>("--cell") { Description = "Recurrent cell: mingru or minlstm; gru or lstm (plain architecture, trained by backpropagation through time)." });
        var arch = Add(command, new Option<string?>("--arch") { Description = "Architecture: plain (Embed → cells → Linear), residual (the paper's block), transformer (nanoGPT's GPT) or mamba (mamba-minimal's Mamba)." });
        var layers = Add(command, new Option<int?>("--layers") { Description = "Cells (plain) or blocks (residual)." });
        var dim = Add(command, new Option<int?>("--dim") { Description = "Model width D." });
        var expansion = Add(command, new Option<double?>("--expansion") { Description = "Residual cell width H = round(E·D); mamba's inner width d_inner = int(E·D)." });
        var conv = Add(command, new Option<int?>("--conv") { Description = "Causal conv kernel K: residual (0: none) or mamba (at least 1)." });
        var mlp = Add(command, new Option<int?>("--mlp") { Description = "Residual MLP width multiplier M (0: no MLP)." });
        var heads = Add(command, new Option<int?>("--heads") { Description = "Transformer attention heads; they must divide --dim." });
        var state = Add(command, new Option<int?>("--state") { Description = $"Mamba's state size N per inner channel (default {ModelConfig.DefaultState})." });
        var dropout = Add(command, new Option<float?>("--dropout") { Description = "Dropout on the embedding and the residual branches, in [0, 1)." });
        var batch = Add(command, new Option<int?>("--batch") { Description = "Windows (sequences) per micro-batch." });
        var gradAccum = Add(command, new Option<int?>("--grad-accum") { Description = "Micro-batches per step, their gradients summed: a step of N x --batch sequences in the memory of one." });
        var context = Add(command, new Option<int?>("--context") { Description = "Characters per window." });
        var steps = Add(command, new Option<int?>("--steps") { Description = "Optimisation steps." });
        var lr = Add(command, new Option<double?>("--lr") { Description = "Peak learning rate (AdamW)." });
        var minLr = Add(command, new Option<double?>("--min-lr") { Description = "Learning rate at the end of the cosine decay." });
        var warmup = Add(command, new Option<int?>("--warmup") { Description = "Steps of linear learning-rate warm-up." });
        var decaySteps = Add(command, new Option<int?>("--decay-steps") { Description = "Step at which the cosine decay reaches --min-lr, which holds after it (0: the last step)." });
        var patience = Add(command, new Option<int?>("--patience") { Description = "Stop early once the best validation loss is this many steps old (0: off)." });
        var weightDecay = Add(command, new Option<double?>("--weight-decay") { Description = "AdamW decoupled weight decay (weights only)." });
        var beta2 = Add(command, new Option<double?>("--beta2") { Description = "AdamW's β2, in [0, 1) (default 0.999)." });
        var clip = Add(command, new Option<double?>("--clip") { Description = "Global gradient-norm clip (0: off)." });
        var ema = Add(command, new Option<double?>("--ema") { Description = "Evaluate and save a moving average of the weights with this decay, e.g. 0.995 (0: off, the last weights)." });
        var evalEvery = Add(command, new Option<int?>("--eval-every") { Description = "Steps between validation evaluations and checkpoints." });
        var seed = Add(command, new Option<ulong?>("--seed") { Description = "Seed of initialisation, sampling and dropout." });

        command.SetAction((parsed, cancellation) =>
        {
            var flags = new TrainFlags
            {
                Cell = parsed.GetValue(cell) is { } c ? RecurrentCells.Parse(c) ?? throw new UsageException($"--cell must be mingru, minlstm, gru or lstm, got '{c}'.") : null,
                Architecture = parsed.GetValue(arch) is { } a ? ModelConfig.ParseArchitecture(a) ?? throw new UsageException($"--arch must be plain, residual, transformer or mamba, got '{a}'.") : null,
                Layers = parsed.GetValue(layers), Dim = parsed.GetValue(dim), Expansion = parsed.GetValue(expansion),
                Conv = parsed.GetValue(conv), Mlp = parsed.GetValue(mlp), Dropout = parsed.GetValue(dropout), Heads = parsed.GetValue(heads), State = parsed.GetValue(state),
                Task = parsed.GetValue(task) is { } name ? name.Equals(SelectiveCopyTask.TaskName, StringComparison.OrdinalIgnoreCase) ? SelectiveCopyTask.TaskName
                    : throw new UsageException($"--task must be {SelectiveCopyTask.TaskName} (leave it out to train a language model on --data), got '{name}'.") : null,
                CopyLength = parsed.GetValue(copyLength), CopyTokens = parsed.GetValue(copyTokens), CopyVocab = parsed.GetValue(copyVocab),
                CopyValidation = parsed.GetValue(copyValidation),
                Batch = parsed.GetValue(batch), GradAccum = parsed.GetValue(gradAccum), Context = parsed.GetValue(context), Steps = parsed.GetValue(steps),
                LearningRate = parsed.GetValue(lr), MinLearningRate = parsed.GetValue(minLr), Warmup = parsed.GetValue(warmup),
                DecaySteps = parsed.GetValue(decaySteps), Patience = parsed.GetValue(patience),
                WeightDecay = parsed.GetValue(weightDecay), Beta2 = parsed.GetValue(beta2), Clip = parsed.GetValue(clip), Ema = parsed.GetValue(ema), EvalEvery = parsed.GetValue(evalEvery),
                Seed = parsed.GetValue(seed),
            };
            if (parsed.GetValue(threads) is { } t && (t < 1 || t > 256)) throw new UsageException($"--threads must be between 1 and 256, got {t}.");
            var request = new TrainRequest(parsed.GetValue(preset), flags, parsed.GetValue(data), parsed.GetValue(output),
                parsed.GetValue(resume), parsed.GetValue(threads), parsed.GetValue(skipNonFinite));
            return Task.FromResult(TrainingRun.Execute(request, cancellation));
        });
        return command;
    }

    static Option<T> Add<T>(Command command, Option<T> option)
    {
        command.Options.Add(option);
        return option;
    }
}
