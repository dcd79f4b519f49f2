namespace MinRnn.Cli.Training;

/// <summary>One <c>"kind": "train"</c> line of <c>metrics.jsonl</c>: what one optimisation step reported.</summary>
/// <param name="Step">The step, counting from 1.</param>
/// <param name="Loss">Mean cross-entropy of the step's batch, nats per character (NaN when it was not finite).</param>
/// <param name="LearningRate">The learning rate the step used.</param>
/// <param name="GradientNorm">Global L2 norm of the gradient before clipping.</param>
/// <param name="TokensPerSecond">Training throughput of the step.</param>
/// <param name="ElapsedSeconds">Wall time since the run started, earlier sessions of a resumed run included.</param>
internal sealed record TrainPoint(int Step, double Loss, double LearningRate, double GradientNorm, double TokensPerSecond,
    double ElapsedSeconds);
