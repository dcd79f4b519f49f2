using MinRnn.Layers;
using MinRnn.Model;

namespace MinRnn.Tests.Model;

/// <summary>The transformer's key/value cache: the same function as a forward over the whole window, then a sliding window.</summary>
public class TransformerCacheTests
{
    const int V = 11, Block = 8;

    static LanguageModel Model()
    {
        var model = LanguageModel.Create(new ModelConfig(Architecture.Transformer, RecurrentCell.MinGru, V, Dim: 12, Layers: 2, Heads: 3, BlockSize: Block));
        for (int i = 0; i < model.Parameters.Count; i++)
        {
            var p = model.Parameters[i];
            MinRnn.Kernels.CounterRandom.FillUniform(p.Value, (ulong)i + 3, p.Shape.Length == 1 ? 0.5f : -0.5f, p.Shape.Length == 1 ? 1.5f : 0.5f);
        }
        return model;
    }

    [Fact]
    public void APromptThenStepsGiveTheLogitsOfOneForwardAndEachStreamKeepsItsOwnLength()
    {
        var model = Model();
        var random = new Random(4);
        int batch = 2;
        var text = Enumerable.Range(0, batch * Block).Select(_ => random.Next(V)).ToArray();
        var whole = model.Forward(text, batch, Block).ToArray();

        int prompt = 3;
        var state = new RecurrentState(model.Config, batch);
        var input = new int[batch * prompt];
        for (int b = 0; b < batch; b++) Array.Copy(text, b * Block, input, b * prompt, prompt);
        var logits = model.Forward(input, batch, prompt, state: state).ToArray();
        for (int b = 0; b < batch; b++)
            TestData.AssertClose(whole.AsSpan((b * Block) * V, prompt * V), logits.AsSpan(b * prompt * V, prompt * V), 1e-4, 1e-5, $"prompt of stream {b}");
        var weights = model.PackForSteps();
        for (int t = prompt; t < Block; t++)
        {
            var step = model.Step([text[t], text[Block + t]], state, weights).ToArray();
            for (int b = 0; b < batch; b++)
                TestData.AssertClose(whole.AsSpan((b * Block + t) * V, V), step.AsSpan(b * V, V), 1e-4, 1e-5, $"stream {b}, position {t}");
        }
        Assert.Equal([Block, Block], state.Lengths);
    }

    [Fact]
    public void PastTheBlockTheWindowSlidesAsNanoGptCropsItsInput()
    {
        var model = Model();
        var random = new Random(6);
        int length = Block + 5;
        var text = Enumerable.Range(0, length).Select(_ => random.Next(V)).ToArray();
        var state = new RecurrentState(model.Config, 1);
        model.Forward(text.AsSpan(0, Block), 1, Block, state: state);
        var weights = model.PackForSteps();
        for (int t = Block; t < length; t++)
        {
            var step = model.Step([text[t]], state, weights).ToArray();
            // nanoGPT: the logits of the last position of a forward over the last Block characters.
            var cropped = model.Forward(text.AsSpan(t - Block + 1, Block), 1, Block).ToArray();
            TestData.AssertClose(cropped.AsSpan((Block - 1) * V, V), step, 1e-4, 1e-5, $"position {t}");
            Assert.Equal(Block, state.Lengths[0]);
        }
        // Keys (transposed, rows padded to the cache stride) and values of 2 layers: bounded by the block.
        Assert.Equal(2L * 12 * (CausalAttention.KeyCacheStride(Block) + Block), state.Floats);
    }

    /// <summary>
    /// A step whose weights are packed for the team reads each position as one team job (every thread its own residual
    /// stream, a share of every product and of the heads): two streams, past the block, on 2 and on 3 threads (4 heads and
    /// 12 panels of q|k|v split unevenly), give the logits of one thread with products kept whole, bit for bit.
    /// </summary>
    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void OnTheTeamAStepGivesTheLogitsOfOneThreadBitForBit(int threads)
    {
        var config = new ModelConfig(Architecture.Transformer, RecurrentCell.MinGru, V, Dim: 128, Layers: 2, Heads: 4, BlockSize: 16);
        var model = LanguageModel.Create(config);
        model.Initialize(5);
        var random = new Random(7);
        var text = Enumerable.Range(0, 2 * 24).Select(_ => random.Next(V)).ToArray();
        float[] Logits(bool onTeam)
        {
            var state = new RecurrentState(config, 2);
            var weights = model.PackForSteps(onTeam);
            var all = new List<float>();
            for (int t = 0; t < 24; t++) all.AddRange(model.Step([text[t], text[24 + t]], state, weights).ToArray());
            return [.. all];
        }
        var alone = ThreadCount.One(() => Logits(false));
        var team = ThreadCount.With(threads, () => Logits(true));
        Assert.True(alone.SequenceEqual(team), $"the logits on {threads} threads differ from one thread's");
    }
}
