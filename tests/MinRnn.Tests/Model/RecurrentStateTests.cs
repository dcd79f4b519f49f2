using MinRnn.Layers;
using MinRnn.Model;

namespace MinRnn.Tests.Model;

public class RecurrentStateTests
{
    public static TheoryData<Architecture, RecurrentCell, int, bool> Models => new()
    {
        { Architecture.Plain, RecurrentCell.MinGru, 0, false },
        { Architecture.Plain, RecurrentCell.MinLstm, 0, true },
        { Architecture.Residual, RecurrentCell.MinGru, 4, true },
        { Architecture.Residual, RecurrentCell.MinLstm, 3, false },
        { Architecture.Residual, RecurrentCell.MinGru, 0, false },
        { Architecture.Plain, RecurrentCell.Gru, 0, false },
        { Architecture.Plain, RecurrentCell.Lstm, 0, false },
        { Architecture.Mamba, RecurrentCell.MinGru, 4, false },
        { Architecture.Mamba, RecurrentCell.MinGru, 1, false },
    };

    /// <summary>Reading a text in pieces with the state carried gives the logits of reading it at once.</summary>
    [Theory]
    [MemberData(nameof(Models))]
    public void PiecesWithCarriedStateEqualOneForward(Architecture architecture, RecurrentCell cell, int conv, bool logSpace)
    {
        var scan = logSpace ? ScanAlgorithm.LogSpace : ScanAlgorithm.Sequential;
        int batch = 3, time = 23;
        var (config, model, text, whole) = ModelAndText(architecture, cell, conv, scan, dim: 16, batch, time, seed: 3);

        var state = new RecurrentState(config, batch);
        int v = config.VocabularySize, start = 0;
        foreach (int piece in new[] { 1, 2, 7, 1, 12 })
        {
            var input = new int[batch * piece];
            for (int b = 0; b < batch; b++) Array.Copy(text, b * time + start, input, b * piece, piece);
            var logits = model.Forward(input, batch, piece, state: state);
            for (int b = 0; b < batch; b++)
                TestData.AssertClose(whole.AsSpan((b * time + start) * v, piece * v), logits.Slice(b * piece * v, piece * v), 1e-4, 1e-4,
                    $"stream {b}, characters {start}..{start + piece}");
            start += piece;
        }
        Assert.Equal(time, start);
    }

    /// <summary>
    /// A prefill then one-token steps with the packed weights (what generation runs) give the logits of
    /// one parallel forward over the whole text, for several streams at once.
    /// </summary>
    [Theory]
    [MemberData(nameof(Models))]
    public void PrefillThenStepsEqualOneForward(Architecture architecture, RecurrentCell cell, int conv, bool logSpace)
    {
        var scan = logSpace ? ScanAlgorithm.LogSpace : ScanAlgorithm.Sequential;
        int batch = 3, time = 20, prompt = 6;
        var (config, model, text, whole) = ModelAndText(architecture, cell, conv, scan, dim: 40, batch, time, seed: 5);
        int v = config.VocabularySize;

        var state = new RecurrentState(config, batch);
        var input = new int[batch * prompt];
        for (int b = 0; b < batch; b++) Array.Copy(text, b * time, input, b * prompt, prompt);
        model.Forward(input, batch, prompt, state: state);
        var weights = model.PackForSteps();
        var tokens = new int[batch];
        for (int t = prompt; t < time; t++)
        {
            for (int b = 0; b < batch; b++) tokens[b] = text[b * time + t];
            var logits = model.Step(tokens, state, weights);
            for (int b = 0; b < batch; b++)
                TestData.AssertClose(whole.AsSpan((b * time + t) * v, v), logits.Slice(b * v, v), 1e-4, 1e-4, $"stream {b}, character {t}");
        }
    }

    /// <summary>A model of the given kind, a random text [batch, time] and the logits of one forward over all of it.</summary>
    static (ModelConfig Config, LanguageModel Model, int[] Text, float[] Whole) ModelAndText(Architecture architecture, RecurrentCell cell,
        int conv, ScanAlgorithm scan, int dim, int batch, int time, int seed)
    {
        var config = new ModelConfig(architecture, cell, VocabularySize: 11, Dim: dim, Layers: 2, Expansion: 1.5, ConvKernel: conv, MlpMultiplier: 2,
            State: architecture == Architecture.Mamba ? 5 : 0);
        var model = LanguageModel.Create(config);
        model.Initialize((ulong)seed);
        model.Scan = scan;
        var random = new Random(seed + 1);
        var text = Enumerable.Range(0, batch * time).Select(_ => random.Next(config.VocabularySize)).ToArray();
        return (config, model, text, model.Forward(text, batch, time).ToArray());
    }

    [Fact]
    public void StateSizeDoesNotDependOnTheText()
    {
        var config = new ModelConfig(Architecture.Residual, RecurrentCell.MinGru, 11, 8, 2, 2, 4, 2);
        var state = new RecurrentState(config, 5);
        Assert.Equal(2 * 5 * 16 + 2 * 5 * 3 * 8, state.Floats);
        // Mamba: per layer and stream the scan's state N × d_inner and the conv's last K - 1 inputs of d_inner.
        var mamba = new ModelConfig(Architecture.Mamba, RecurrentCell.MinGru, 11, 8, 2, Expansion: 2, ConvKernel: 4, State: 6);
        Assert.Equal(2 * 5 * (6 * 16 + 3 * 16), new RecurrentState(mamba, 5).Floats);
    }
}
