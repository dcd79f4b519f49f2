using System.Buffers;
using System.Text.Json;
using MinRnn.IO;
using MinRnn.Training;

namespace MinRnn.Cli.Training;

/// <summary>
/// Appends a run's metrics to <c>&lt;out&gt;/metrics.jsonl</c>, one JSON object per line (numbers in the invariant
/// format JSON prescribes; NaN and infinities, which JSON lacks, as <c>null</c>):
/// <code>
/// {"kind":"train","step":120,"train_loss":1.8234,"lr":0.00095,"grad_norm":0.61,"tokens_per_s":41230.5,"elapsed_s":72.125}
/// {"kind":"eval","step":100,"val_loss":1.9012,"val_bpc":2.7429,"best_val_loss":1.9012,"best_step":100,"elapsed_s":61.2,"val_accuracy":0.4521,"best_val_accuracy":0.4521}
/// </code>
/// The accuracies came later than the other fields: a line without them reads as NaN.
/// Train lines are buffered and reach the file at the next evaluation (or <see cref="Dispose"/>), so a crash loses at
/// most the train lines since the last evaluation. Not thread-safe: call it from the training loop.
/// </summary>
internal sealed class MetricsLog : IDisposable
{
    /// <summary>The file's name inside the run directory.</summary>
    public const string FileName = "metrics.jsonl";

    /// <summary>The default interval, in steps, between train lines.</summary>
    public const int DefaultLogEvery = 10;

    const string Kind = "kind", Step = "step", TrainLoss = "train_loss", LearningRate = "lr", GradientNorm = "grad_norm",
        TokensPerSecond = "tokens_per_s", Elapsed = "elapsed_s", ValLoss = "val_loss", ValBpc = "val_bpc",
        BestValLoss = "best_val_loss", BestStep = "best_step", ValAccuracy = "val_accuracy", BestValAccuracy = "best_val_accuracy",
        TrainKind = "train", EvalKind = "eval";

    readonly int logEvery;
    readonly FileStream file;
    readonly ArrayBufferWriter<byte> line = new(256);
    readonly Utf8JsonWriter json;

    /// <summary>
    /// Opens <c>metrics.jsonl</c> in <paramref name="directory"/> (which must exist). A new run
    /// (<paramref name="resumeFromStep"/> null) starts the file afresh; a run resumed from the checkpoint of step S keeps
    /// only the lines of steps up to S, so that the steps it repeats are not logged twice, and appends after them.
    /// </summary>
    /// <param name="directory">The run's output directory.</param>
    /// <param name="logEvery">Write a train line every this many steps (the first and the last step always get one);
    /// evaluations are always written.</param>
    /// <param name="resumeFromStep">The step of the checkpoint a resumed run starts from; null for a new run.</param>
    /// <exception cref="InvalidDataException">The existing file of a resumed run has a malformed line.</exception>
    public MetricsLog(string directory, int logEvery = DefaultLogEvery, int? resumeFromStep = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(logEvery, 1);
        this.logEvery = logEvery;
        Path = System.IO.Path.Combine(directory, FileName);
        History = resumeFromStep is { } step ? KeepUpTo(Path, step) : new MetricsHistory();
        file = new FileStream(Path, resumeFromStep is null ? FileMode.Create : FileMode.Append, FileAccess.Write, FileShare.Read);
        json = new Utf8JsonWriter(line);
    }

    /// <summary>The file's full path.</summary>
    public string Path { get; }

    /// <summary>Every point the file holds: those kept on resume, then those written since.</summary>
    public MetricsHistory History { get; }

    /// <summary>Writes a train line for <paramref name="report"/> if its step is due (see the constructor's logEvery).</summary>
    public void Write(StepReport report)
    {
        if (report.Step % logEvery != 0 && report.Step != 1 && report.Step != report.TotalSteps) return;
        // Rounded as written, so that the history in memory is exactly what Read gives back.
        var point = new TrainPoint(report.Step, report.TrainLoss, report.LearningRate, report.GradientNorm,
            Math.Round(report.TokensPerSecond, 1), Seconds(report.Elapsed));
        WriteLine(w =>
        {
            w.WriteString(Kind, TrainKind);
            w.WriteNumber(Step, point.Step);
            WriteNumber(w, TrainLoss, point.Loss);
            WriteNumber(w, LearningRate, point.LearningRate);
            WriteNumber(w, GradientNorm, point.GradientNorm);
            WriteNumber(w, TokensPerSecond, point.TokensPerSecond);
            WriteNumber(w, Elapsed, point.ElapsedSeconds);
        });
        History.Add(point);
    }

    /// <summary>Writes an eval line for <paramref name="report"/> and flushes the file.</summary>
    /// <param name="report">The evaluation.</param>
    /// <param name="elapsed">Wall time since the run started (the trainer's, which counts earlier sessions).</param>
    public void Write(EvalReport report, TimeSpan elapsed)
    {
        var point = new EvalPoint(report.Step, report.ValidationLoss, report.BitsPerCharacter, report.BestValidationLoss,
            report.BestStep, Seconds(elapsed), report.ValidationAccuracy, report.BestValidationAccuracy);
        WriteLine(w =>
        {
            w.WriteString(Kind, EvalKind);
            w.WriteNumber(Step, point.Step);
            WriteNumber(w, ValLoss, point.Loss);
            WriteNumber(w, ValBpc, point.BitsPerCharacter);
            WriteNumber(w, BestValLoss, point.BestLoss);
            w.WriteNumber(BestStep, point.BestStep);
            WriteNumber(w, Elapsed, point.ElapsedSeconds);
            WriteNumber(w, ValAccuracy, point.Accuracy);
            WriteNumber(w, BestValAccuracy, point.BestAccuracy);
        });
        History.Add(point);
        // Evaluations are rare and are what a person (or a resumed run's plot) reads the file for.
        file.Flush();
    }

    /// <summary>Flushes and closes the file.</summary>
    public void Dispose()
    {
        json.Dispose();
        file.Dispose();
    }

    /// <summary>
    /// Loads a <c>metrics.jsonl</c> file. Lines of kinds other than train and eval are skipped, and so is a malformed
    /// last line: a run killed while writing leaves one.
    /// </summary>
    /// <exception cref="InvalidDataException">A line other than the last is malformed.</exception>
    public static MetricsHistory Read(string path) => ToHistory(Parse(path));

    /// <summary>Rewrites the file at <paramref name="path"/> with only its lines of steps up to <paramref name="step"/>.</summary>
    static MetricsHistory KeepUpTo(string path, int step)
    {
        if (!File.Exists(path)) return new MetricsHistory();
        var kept = Parse(path).Where(l => l.Step <= step).ToList();
        // Atomic, so that a crash here cannot lose the lines of the steps that are kept.
        AtomicFile.Write(path, stream =>
        {
            using var writer = new StreamWriter(stream, leaveOpen: true);
            foreach (var (text, _, _) in kept) writer.Write(text + "\n");
        });
        return ToHistory(kept);
    }

    static MetricsHistory ToHistory(IEnumerable<(string Text, int Step, object? Point)> lines)
    {
        var history = new MetricsHistory();
        foreach (var (_, _, point) in lines)
        {
            if (point is TrainPoint train) history.Add(train);
            else if (point is EvalPoint eval) history.Add(eval);
        }
        return history;
    }

    /// <summary>The non-blank lines of a file with their step and point (null for a kind this version does not know).</summary>
    static IEnumerable<(string Text, int Step, object? Point)> Parse(string path)
    {
        string[] lines = ReadAllLines(path);
        int last = Array.FindLastIndex(lines, l => !string.IsNullOrWhiteSpace(l));
        for (int i = 0; i <= last; i++)
        {
            if (string.IsNullOrWhiteSpace(lines[i])) continue;
            (int Step, object? Point) parsed;
            try
            {
                parsed = ParseLine(lines[i]);
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
            {
                if (i == last) yield break;
                throw new InvalidDataException($"{path}:{i + 1}: not a metrics line ({e.Message})", e);
            }
            yield return (lines[i], parsed.Step, parsed.Point);
        }
    }

    /// <summary>The file's lines, read while the run may still be appending to it.</summary>
    static string[] ReadAllLines(string path)
    {
        using var reader = new StreamReader(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite));
        var lines = new List<string>();
        while (reader.ReadLine() is { } line) lines.Add(line);
        return lines.ToArray();
    }

    static (int Step, object? Point) ParseLine(string text)
    {
        using var document = JsonDocument.Parse(text);
        var root = document.RootElement;
        int step = root.GetProperty(Step).GetInt32();
        object? point = root.GetProperty(Kind).GetString() switch
        {
            TrainKind => new TrainPoint(step, Number(root, TrainLoss), Number(root, LearningRate), Number(root, GradientNorm),
                Number(root, TokensPerSecond), Number(root, Elapsed)),
            EvalKind => new EvalPoint(step, Number(root, ValLoss), Number(root, ValBpc), Number(root, BestValLoss),
                root.GetProperty(BestStep).GetInt32(), Number(root, Elapsed), OptionalNumber(root, ValAccuracy), OptionalNumber(root, BestValAccuracy)),
            _ => null,
        };
        return (step, point);
    }

    void WriteLine(Action<Utf8JsonWriter> body)
    {
        line.ResetWrittenCount();
        json.Reset();
        json.WriteStartObject();
        body(json);
        json.WriteEndObject();
        json.Flush();
        file.Write(line.WrittenSpan);
        file.WriteByte((byte)'\n');
    }

    static void WriteNumber(Utf8JsonWriter writer, string name, double value)
    {
        if (double.IsFinite(value)) writer.WriteNumber(name, value);
        else writer.WriteNull(name);
    }

    static double Number(JsonElement root, string name)
    {
        var element = root.GetProperty(name);
        return element.ValueKind == JsonValueKind.Null ? double.NaN : element.GetDouble();
    }

    /// <summary>A field that older lines lack: NaN when absent, as when null.</summary>
    static double OptionalNumber(JsonElement root, string name) => root.TryGetProperty(name, out _) ? Number(root, name) : double.NaN;

    static double Seconds(TimeSpan elapsed) => Math.Round(elapsed.TotalSeconds, 3);
}
