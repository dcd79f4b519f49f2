namespace MinRnn.Training;

/// <summary>
/// Linear warm-up from 0 to the peak over <see cref="WarmupSteps"/>, then cosine decay to the minimum
/// at the last step (nanoGPT's schedule): for step s in 1..N,
/// lr(s) = peak · s / W for s &lt;= W, else min + (peak - min) · (1 + cos(π (s - W) / (N - W))) / 2.
/// </summary>
/// <param name="Peak">The learning rate at the end of warm-up.</param>
/// <param name="Minimum">The learning rate at the last step.</param>
/// <param name="WarmupSteps">Steps of linear warm-up (0 for none).</param>
/// <param name="TotalSteps">The last step, N.</param>
public sealed record LearningRateSchedule(double Peak, double Minimum, int WarmupSteps, int TotalSteps)
{
    /// <summary>The learning rate of step <paramref name="step"/> (1-based).</summary>
    public double At(int step)
    {
        if (step <= WarmupSteps) return Peak * step / WarmupSteps;
        if (TotalSteps <= WarmupSteps) return Peak;
        double progress = Math.Min(1.0, (double)(step - WarmupSteps) / (TotalSteps - WarmupSteps));
        return Minimum + (Peak - Minimum) * 0.5 * (1 + Math.Cos(Math.PI * progress));
    }
}
