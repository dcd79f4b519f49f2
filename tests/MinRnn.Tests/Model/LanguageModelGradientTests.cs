using MinRnn.Layers;
using MinRnn.Model;

namespace MinRnn.Tests.Model;

/// <summary>
/// The whole model's backward against central finite differences of its float32 loss, at a few
/// coordinates of every parameter: each operation is checked in double precision on its own, so
/// this test is about the wiring (buffers, accumulation, residual paths, dropout masks).
/// </summary>
public class LanguageModelGradientTests
{
    public static TheoryData<Architecture, RecurrentCell, int, float> Configurations => new()
    {
        { Architecture.Plain, RecurrentCell.MinGru, 0, 0f },
        { Architecture.Plain, RecurrentCell.MinLstm, 0, 0.3f },
        { Architecture.Residual, RecurrentCell.MinGru, 3, 0f },
        { Architecture.Residual, RecurrentCell.MinLstm, 2, 0.25f },
        { Architecture.Residual, RecurrentCell.MinGru, 0, 0.1f },
        { Architecture.Residual, RecurrentCell.MinGru, -1, 0.1f }, // no MLP (and no conv): the selective-copy block
        { Architecture.Plain, RecurrentCell.Gru, 0, 0f },
        { Architecture.Plain, RecurrentCell.Lstm, 0, 0.2f },
    };

    [Theory]
    [MemberData(nameof(Configurations))]
    public void BackwardMatchesFiniteDifferencesOfTheLoss(Architecture architecture, RecurrentCell cell, int conv, float dropout)
    {
        var model = Model(architecture, cell, conv, dropout);
        AssertGradientsMatch(model);
    }

    /// <summary>
    /// The loss of the last 2 of 5 positions only (as the selective-copy task's markers): the head and the loss run on
    /// those rows gathered, and the gradient reaches the earlier positions through the recurrence alone.
    /// </summary>
    [Theory]
    [MemberData(nameof(Configurations))]
    public void BackwardOfTheLossAtTheLastPositionsMatchesFiniteDifferences(Architecture architecture, RecurrentCell cell, int conv, float dropout)
    {
        var model = Model(architecture, cell, conv, dropout);
        AssertGradientsMatch(model, scored: 2);
    }

    [Fact]
    public void TheTransformersBackwardOfTheLossAtTheLastPositionsMatchesFiniteDifferences()
    {
        var model = Transformer(0.2f);
        AssertGradientsMatch(model, scored: 2);
    }

    [Theory]
    [MemberData(nameof(Configurations))]
    public void TheLogitsOfTheLastPositionsAreThoseOfTheWholeForwardThere(Architecture architecture, RecurrentCell cell, int conv, float dropout)
    {
        var model = Model(architecture, cell, conv, dropout);
        int batch = 3, time = 6, scored = 2, v = model.Config.VocabularySize;
        var input = Enumerable.Range(0, batch * time).Select(i => i * 5 % v).ToArray();
        var all = model.Forward(input, batch, time, train: true, seed: 3).ToArray();
        var last = model.Forward(input, batch, time, train: true, seed: 3, scored: scored).ToArray();
        Assert.Equal(batch * scored * v, last.Length);
        for (int b = 0; b < batch; b++)
            TestData.AssertClose(all.AsSpan(((b + 1) * time - scored) * v, scored * v), last.AsSpan(b * scored * v, scored * v), 1e-5, 1e-6, $"sequence {b}");
    }

    /// <summary>A small model of the configuration; <paramref name="conv"/> -1 means no conv and no MLP.</summary>
    static LanguageModel Model(Architecture architecture, RecurrentCell cell, int conv, float dropout)
    {
        var config = new ModelConfig(architecture, cell, VocabularySize: 7, Dim: 6, Layers: 2, Expansion: 1.5, ConvKernel: Math.Max(conv, 0),
            MlpMultiplier: conv < 0 ? 0 : 2, Dropout: dropout);
        var model = LanguageModel.Create(config);
        model.Initialize(5);
        return model;
    }

    [Theory]
    [InlineData(0f)]
    [InlineData(0.2f)]
    public void TheTransformersBackwardMatchesFiniteDifferencesOfTheLoss(float dropout) => AssertGradientsMatch(Transformer(dropout));

    static LanguageModel Transformer(float dropout)
    {
        var config = new ModelConfig(Architecture.Transformer, RecurrentCell.MinGru, VocabularySize: 7, Dim: 6, Layers: 2, MlpMultiplier: 2,
            Dropout: dropout, Heads: 2, BlockSize: 8);
        var model = LanguageModel.Create(config);
        // nanoGPT's N(0, 0.02) gives gradients too small to tell apart from rounding: larger weights exercise every path.
        for (int i = 0; i < model.Parameters.Count; i++)
        {
            var p = model.Parameters[i];
            MinRnn.Kernels.CounterRandom.FillUniform(p.Value, (ulong)i + 1, p.Shape.Length == 1 ? 0.5f : -0.6f, p.Shape.Length == 1 ? 1.5f : 0.6f);
        }
        return model;
    }

    [Theory]
    [InlineData(0f)]
    [InlineData(0.2f)]
    public void TheMambasBackwardMatchesFiniteDifferencesOfTheLoss(float dropout)
    {
        var config = new ModelConfig(Architecture.Mamba, RecurrentCell.MinGru, VocabularySize: 7, Dim: 6, Layers: 2, Expansion: 1.5, ConvKernel: 3,
            Dropout: dropout, State: 3);
        var model = LanguageModel.Create(config);
        model.Initialize(5);
        // The N(0, 0.02) embedding gives gradients too small to tell apart from rounding: a larger one exercises every path.
        MinRnn.Kernels.CounterRandom.FillUniform(model.Parameters[0].Value, 1, -1f, 1f);
        AssertGradientsMatch(model);
    }

    /// <summary>Compares the backward with finite differences of the loss at the last <paramref name="scored"/> positions (0: all).</summary>
    static void AssertGradientsMatch(LanguageModel model, int scored = 0)
    {
        int batch = 2, time = 5, rows = batch * (scored == 0 ? time : scored);
        var random = new Random(9);
        var input = Enumerable.Range(0, batch * time).Select(_ => random.Next(7)).ToArray();
        var target = Enumerable.Range(0, rows).Select(_ => random.Next(7)).ToArray();

        double Loss() => SoftmaxCrossEntropy.Forward(model.Forward(input, batch, time, train: true, seed: 77, scored: scored), target, rows, 7);
        var logits = model.Forward(input, batch, time, train: true, seed: 77, scored: scored);
        var dLogits = new float[logits.Length];
        SoftmaxCrossEntropy.ForwardBackward(logits, target, dLogits, rows, 7);
        model.ZeroGradients();
        model.Backward(dLogits);

        foreach (var p in model.Parameters)
            for (int trial = 0; trial < 4; trial++)
            {
                int i = random.Next(p.Value.Length);
                double analytic = p.Gradient[i];
                // g(u) has a kink at u = 0 (its slope jumps from 1/4 to 1): a difference that straddles
                // it is off by O(step), so a mismatch is retried once with a smaller step.
                double numeric = Central(p, i, 1e-3f, Loss);
                if (!Close(numeric, analytic)) numeric = Central(p, i, 2.5e-4f, Loss);
                Assert.True(Close(numeric, analytic), $"{p.Name}[{i}]: analytic {analytic:G6}, finite difference {numeric:G6}");
            }
    }

    static bool Close(double numeric, double analytic) => Math.Abs(numeric - analytic) <= 2e-2 * Math.Abs(numeric) + 3e-4;

    static double Central(Parameter p, int i, float step, Func<double> loss)
    {
        float saved = p.Value[i];
        p.Value[i] = saved + step; double plus = loss();
        p.Value[i] = saved - step; double minus = loss();
        p.Value[i] = saved;
        return (plus - minus) / (2 * step);
    }

    [Fact]
    public void TheConfigurationCountsTheParametersOfItsModel()
    {
        foreach (var cell in Enum.GetValues<RecurrentCell>())
        foreach (var (architecture, conv, expansion, mlp) in new[] { (Architecture.Plain, 0, 1.0, 3), (Architecture.Residual, 0, 1.5, 3), (Architecture.Residual, 4, 2.0, 3), (Architecture.Residual, 0, 6.0, 0) })
        {
            if (architecture == Architecture.Residual && !cell.IsMinimal()) continue;
            var config = new ModelConfig(architecture, cell, VocabularySize: 13, Dim: 10, Layers: 3, Expansion: expansion, ConvKernel: conv, MlpMultiplier: mlp);
            Assert.Equal(LanguageModel.Create(config).ParameterCount, config.ParameterCount());
        }
        var transformer = new ModelConfig(Architecture.Transformer, RecurrentCell.MinGru, VocabularySize: 13, Dim: 12, Layers: 3, Heads: 3, BlockSize: 9);
        Assert.Equal(LanguageModel.Create(transformer).ParameterCount, transformer.ParameterCount());
        foreach (var (dim, expansion, state) in new[] { (12, 2.0, 16), (40, 1.5, 5) })
        {
            var mamba = new ModelConfig(Architecture.Mamba, RecurrentCell.MinGru, VocabularySize: 13, Dim: dim, Layers: 3, Expansion: expansion, ConvKernel: 4, State: state);
            Assert.Equal(LanguageModel.Create(mamba).ParameterCount, mamba.ParameterCount());
        }
    }

    [Fact]
    public void ClassicCellsUsePyTorchsModuleNames()
    {
        foreach (var (cell, gates) in new[] { (RecurrentCell.Gru, 3), (RecurrentCell.Lstm, 4) })
        {
            var model = LanguageModel.Create(new ModelConfig(Architecture.Plain, cell, VocabularySize: 5, Dim: 8, Layers: 2));
            Assert.Equal(["embedding.weight",
                "layers.0.rnn.weight_ih_l0", "layers.0.rnn.weight_hh_l0", "layers.0.rnn.bias_ih_l0", "layers.0.rnn.bias_hh_l0",
                "layers.1.rnn.weight_ih_l0", "layers.1.rnn.weight_hh_l0", "layers.1.rnn.bias_ih_l0", "layers.1.rnn.bias_hh_l0",
                "head.weight", "head.bias"], model.Parameters.Select(p => p.Name));
            Assert.Equal([gates * 8, 8], model.Parameters[2].Shape);
            Assert.Equal([gates * 8], model.Parameters[4].Shape);
        }
        var e = Assert.Throws<ArgumentException>(() => LanguageModel.Create(new ModelConfig(Architecture.Residual, RecurrentCell.Lstm, 5, 8, 1)));
        Assert.Contains("plain architecture only", e.Message);
    }

    [Fact]
    public void ParameterNamesAndShapesFollowTheSpec()
    {
        var plain = LanguageModel.Create(new ModelConfig(Architecture.Plain, RecurrentCell.MinLstm, 65, 8, 2));
        Assert.Equal(
            ["embedding.weight", "layers.0.gates_hidden.weight", "layers.0.gates_hidden.bias", "layers.1.gates_hidden.weight",
             "layers.1.gates_hidden.bias", "head.weight", "head.bias"],
            plain.Parameters.Select(p => p.Name));
        Assert.Equal([24, 8], plain.Parameters[1].Shape);

        var residual = LanguageModel.Create(new ModelConfig(Architecture.Residual, RecurrentCell.MinGru, 65, 8, 1, Expansion: 2, ConvKernel: 4, MlpMultiplier: 4));
        var shapes = residual.Parameters.ToDictionary(p => p.Name, p => p.Shape);
        Assert.Equal([8, 1, 4], shapes["layers.0.conv.weight"]);
        Assert.Equal([32, 8], shapes["layers.0.cell.gate_hidden.weight"]);
        Assert.Equal([8, 16], shapes["layers.0.to_out.weight"]);
        Assert.Equal([32, 8], shapes["layers.0.mlp_up.weight"]);
        Assert.Equal([8, 32], shapes["layers.0.mlp_down.weight"]);
        Assert.Equal([8], shapes["norm_f.weight"]);
        Assert.Equal(16, residual.Parameters.Count);

        // Without an MLP a block has no mlp_up, mlp_down, nor the norm2 that only feeds them; the other names stay.
        var noMlp = LanguageModel.Create(new ModelConfig(Architecture.Residual, RecurrentCell.MinGru, 16, 8, 1, Expansion: 6, MlpMultiplier: 0));
        Assert.Equal(
            ["embedding.weight", "layers.0.norm1.weight", "layers.0.cell.gate_hidden.weight", "layers.0.cell.gate_hidden.bias", "layers.0.to_out.weight",
             "layers.0.to_out.bias", "norm_f.weight", "head.weight", "head.bias"],
            noMlp.Parameters.Select(p => p.Name));
    }

    [Fact]
    public void MambaUsesMambaMinimalsNamesAndShapes()
    {
        // D 40: d_inner 80, dt_rank ceil(40 / 16) = 3.
        var model = LanguageModel.Create(new ModelConfig(Architecture.Mamba, RecurrentCell.MinGru, 65, 40, 2, Expansion: 2, ConvKernel: 4, State: 16));
        Assert.Equal(
            ["embedding.weight",
             "layers.0.norm.weight", "layers.0.mixer.in_proj.weight", "layers.0.mixer.conv1d.weight", "layers.0.mixer.conv1d.bias",
             "layers.0.mixer.x_proj.weight", "layers.0.mixer.dt_proj.weight", "layers.0.mixer.dt_proj.bias", "layers.0.mixer.A_log",
             "layers.0.mixer.D", "layers.0.mixer.out_proj.weight",
             "layers.1.norm.weight", "layers.1.mixer.in_proj.weight", "layers.1.mixer.conv1d.weight", "layers.1.mixer.conv1d.bias",
             "layers.1.mixer.x_proj.weight", "layers.1.mixer.dt_proj.weight", "layers.1.mixer.dt_proj.bias", "layers.1.mixer.A_log",
             "layers.1.mixer.D", "layers.1.mixer.out_proj.weight",
             "norm_f.weight"],
            model.Parameters.Select(p => p.Name));
        var shapes = model.Parameters.ToDictionary(p => p.Name, p => p.Shape);
        Assert.Equal([160, 40], shapes["layers.0.mixer.in_proj.weight"]);
        Assert.Equal([80, 1, 4], shapes["layers.0.mixer.conv1d.weight"]);
        Assert.Equal([35, 80], shapes["layers.0.mixer.x_proj.weight"]);
        Assert.Equal([80, 3], shapes["layers.0.mixer.dt_proj.weight"]);
        Assert.Equal([80, 16], shapes["layers.0.mixer.A_log"]);
        Assert.Equal([40, 80], shapes["layers.0.mixer.out_proj.weight"]);
        Assert.Equal([("lm_head.weight", model.Parameters[0])], model.Aliases.Select(a => (a.Name, a.Of)));
    }
}
