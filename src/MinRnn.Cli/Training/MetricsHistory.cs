namespace MinRnn.Cli.Training;

/// <summary>
/// The points of a run's <c>metrics.jsonl</c> in file order: what <see cref="MetricsLog.Read"/> loads and what
/// <see cref="MetricsLog.History"/> accumulates, so that <see cref="LossPlot"/> draws exactly what the file holds.
/// </summary>
internal sealed class MetricsHistory
{
    readonly List<TrainPoint> train = [];
    readonly List<EvalPoint> eval = [];

    /// <summary>The training-step points, by increasing step.</summary>
    public IReadOnlyList<TrainPoint> Train => train;

    /// <summary>The evaluation points, by increasing step.</summary>
    public IReadOnlyList<EvalPoint> Eval => eval;

    /// <summary>Appends a training-step point.</summary>
    public void Add(TrainPoint point) => train.Add(point);

    /// <summary>Appends an evaluation point.</summary>
    public void Add(EvalPoint point) => eval.Add(point);
}
