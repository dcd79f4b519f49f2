using MinRnn.Kernels;
using MinRnn.Layers;

namespace MinRnn.Model;

/// <summary>
/// A model's weights as they were when packed, laid out for <see cref="LanguageModel.Step"/>: every
/// weight matrix packed once for products with a few rows (<see cref="PackedMatrix"/>), every depthwise convolution's
/// weight laid out by tap (<see cref="CausalConv.ByTap"/>), and where the
/// first projection reads the embedding directly (the plain architecture), that projection of every
/// vocabulary entry, [V, outFeatures], so that a step looks its result up instead of multiplying.
/// A snapshot: pack again after the weights change.
/// </summary>
internal sealed class StepWeights
{
    readonly Dictionary<Parameter, PackedMatrix> matrices;
    readonly Dictionary<Parameter, float[]> convolutions;

    public StepWeights(Dictionary<Parameter, PackedMatrix> matrices, Dictionary<Parameter, float[]> convolutions, float[]? firstProjection,
        bool oneRowOnTeam)
    {
        this.matrices = matrices;
        this.convolutions = convolutions;
        FirstProjection = firstProjection;
        OneRowOnTeam = oneRowOnTeam;
    }

    /// <summary>The first projection of every token [V, outFeatures], or null where there is none to tabulate.</summary>
    public float[]? FirstProjection { get; }

    /// <summary>Whether products of one row are split between the team's threads (see <see cref="LanguageModel.PackForSteps"/>).</summary>
    public bool OneRowOnTeam { get; }

    /// <summary>The packed copy of <paramref name="weight"/>.</summary>
    public PackedMatrix this[Parameter weight] => matrices[weight];

    /// <summary>The depthwise convolution weight <paramref name="weight"/> [dim, 1, K] laid out by tap, [K, dim].</summary>
    public float[] ByTap(Parameter weight) => convolutions[weight];
}
