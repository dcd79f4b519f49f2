using MinRnn.Model;

namespace MinRnn.Tests.Model;

/// <summary>state-spaces/mamba's initialisation, tensor by tensor.</summary>
public class MambaInitializationTests
{
    [Fact]
    public void EveryTensorStartsAsStateSpacesMambaInitialisesIt()
    {
        int d = 64, inner = 128, n = 16, k = 4, layers = 4, rank = 4;
        var model = LanguageModel.Create(new ModelConfig(Architecture.Mamba, RecurrentCell.MinGru, 65, d, layers, Expansion: 2, ConvKernel: k, State: n));
        model.Initialize(3);
        var p = model.Parameters.ToDictionary(x => x.Name, x => x.Value);

        double std = Math.Sqrt(p["embedding.weight"].Average(v => (double)v * v));
        Assert.InRange(std, 0.018, 0.022);
        Assert.All(p["layers.0.norm.weight"].Concat(p["norm_f.weight"]), v => Assert.Equal(1f, v));
        AssertUniform(p["layers.1.mixer.in_proj.weight"], 1 / Math.Sqrt(d));
        AssertUniform(p["layers.1.mixer.conv1d.weight"], 1 / Math.Sqrt(k));
        AssertUniform(p["layers.1.mixer.conv1d.bias"], 1 / Math.Sqrt(k));
        AssertUniform(p["layers.1.mixer.x_proj.weight"], 1 / Math.Sqrt(inner));
        AssertUniform(p["layers.1.mixer.dt_proj.weight"], 1 / Math.Sqrt(rank));
        AssertUniform(p["layers.1.mixer.out_proj.weight"], 1 / Math.Sqrt(inner) / Math.Sqrt(layers));

        // softplus(dt bias) is Δ: log-uniform over [0.001, 0.1].
        var deltas = p["layers.2.mixer.dt_proj.bias"].Select(b => Math.Log(1 + Math.Exp(b))).ToArray();
        Assert.All(deltas, v => Assert.InRange(v, 0.999e-3, 0.1001));
        Assert.InRange(deltas.Average(Math.Log), Math.Log(1e-2) - 0.5, Math.Log(1e-2) + 0.5);

        var aLog = p["layers.3.mixer.A_log"];
        for (int c = 0; c < inner; c++)
        for (int s = 0; s < n; s++)
            Assert.Equal(MathF.Log(s + 1), aLog[c * n + s]);
        Assert.All(p["layers.3.mixer.D"], v => Assert.Equal(1f, v));
    }

    /// <summary>Values within ±bound that reach near both ends.</summary>
    static void AssertUniform(float[] values, double bound)
    {
        Assert.All(values, v => Assert.InRange(v, -bound, bound));
        Assert.True(values.Max() > 0.9 * bound && values.Min() < -0.9 * bound, $"range {values.Min()} .. {values.Max()} for ±{bound}");
    }
}
