namespace MinRnn.Training;

/// <summary>
/// Linear warm-up from 0 to the peak over <see cref="WarmupSteps"/>, then cosine decay to the minimum at
/// step <see cref="DecaySteps"/> and the minimum after it (nanoGPT's schedule, with its lr_decay_iters):
/// for step s, lr(s) = peak · s / W for s &lt;= W, else min + (peak - min) · (1 + cos(π · min(1, (s - W) / (N - W)))) / 2.
/// </summary>
/// <param name="Peak">The learning rate at the end of warm-up.</param>
/// <param name="Minimum">The learning rate from <paramref name="DecaySteps"/> on.</param>
/// <param name="WarmupSteps">Steps of linear warm-up (0 for none).</param>
/// <param name="DecaySteps">The step N at which the cosine reaches the minimum.</param>
internal sealed record LearningRateSchedule(double Peak, double Minimum, int WarmupSteps, int DecaySteps)
{
    /// <summary>The learning rate of step <paramref name="step"/> (1-based).</summary>
    public double At(int step)
    {
        if (step <= WarmupSteps) return Peak * step / WarmupSteps;
        if (DecaySteps <= WarmupSteps) return Peak;
        double progress = Math.Min(1.0, (double)(step - WarmupSteps) / (DecaySteps - WarmupSteps));
        return Minimum + (Peak - Minimum) * 0.5 * (1 + Math.Cos(Math.PI * progress));
    }
}
