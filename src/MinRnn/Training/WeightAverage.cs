using MinRnn.Kernels;
using MinRnn.Model;

namespace MinRnn.Training;

/// <summary>
/// An exponential moving average of a model's parameters (Polyak averaging), kept beside the training values:
/// after step t, avg = β_t · avg + (1 − β_t) · p with β_t = min(β, (1 + t) / (10 + t)), so that the first steps
/// are not averaged with the initialisation for long. Evaluating the average instead of the last iterate smooths
/// out the noise of the final steps; the training itself never reads it.
/// </summary>
internal sealed class WeightAverage
{
    readonly IReadOnlyList<Parameter> parameters;
    readonly float[][] averages, held;

    /// <summary>Starts the average of <paramref name="parameters"/> at their current values.</summary>
    /// <param name="parameters">The model's parameters, whose values the average follows.</param>
    /// <param name="decay">β, in (0, 1): the weight of the old average at each step.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="decay"/> is not in (0, 1).</exception>
    public WeightAverage(IReadOnlyList<Parameter> parameters, double decay)
    {
        if (!(decay > 0 && decay < 1)) throw new ArgumentOutOfRangeException(nameof(decay), decay, "the average's decay must be in (0, 1).");
        this.parameters = parameters;
        Decay = decay;
        averages = parameters.Select(p => (float[])p.Value.Clone()).ToArray();
        held = parameters.Select(p => new float[p.Value.Length]).ToArray();
    }

    /// <summary>β, the weight of the old average at each step (after the first ones, see <see cref="DecayAt"/>).</summary>
    public double Decay { get; }

    /// <summary>The averaged values, one array per parameter in the model's order.</summary>
    public IReadOnlyList<float[]> Values => averages;

    /// <summary>β_t = min(β, (1 + t) / (10 + t)): the weight of the old average after step <paramref name="step"/>.</summary>
    public double DecayAt(int step) => Math.Min(Decay, (1.0 + step) / (10.0 + step));

    /// <summary>Moves the average towards the parameters' values after step <paramref name="step"/> (1-based).</summary>
    public void Update(int step)
    {
        float toward = (float)(1 - DecayAt(step));
        for (int i = 0; i < parameters.Count; i++) VectorOps.MoveToward(averages[i], parameters[i].Value, toward);
    }

    /// <summary>
    /// Runs <paramref name="action"/> with the parameters' values replaced by the average, then puts the training
    /// values back exactly (also when it throws).
    /// </summary>
    public T WithAverage<T>(Func<T> action)
    {
        for (int i = 0; i < parameters.Count; i++)
        {
            parameters[i].Value.CopyTo(held[i], 0);
            averages[i].CopyTo(parameters[i].Value, 0);
        }
        try
        {
            return action();
        }
        finally
        {
            for (int i = 0; i < parameters.Count; i++) held[i].CopyTo(parameters[i].Value, 0);
        }
    }
}
