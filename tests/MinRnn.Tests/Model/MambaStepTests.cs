using MinRnn.Model;

namespace MinRnn.Tests.Model;

public class MambaStepTests
{
    /// <summary>
    /// A step of one stream whose weights are packed for the team reads each character as one team job (every thread its
    /// own residual stream, a share of every product's panels and of the channels of the conv, dt_proj and the scan): on 2
    /// and 3 threads, with d_inner 80 (three channel shares of 32, 32 and 16: a part-filled block of the scan's tables and
    /// a part-filled panel) and 96, it gives the logits of one thread with products kept whole, bit for bit, and leaves the
    /// same state.
    /// </summary>
    [Theory]
    [InlineData(2, 40)]
    [InlineData(3, 40)]
    [InlineData(2, 48)]
    public void OnTheTeamAStepGivesTheLogitsOfOneThreadBitForBit(int threads, int dim)
    {
        const int V = 11;
        var config = new ModelConfig(Architecture.Mamba, RecurrentCell.MinGru, V, Dim: dim, Layers: 2, Expansion: 2, ConvKernel: 4, State: 5);
        var model = LanguageModel.Create(config);
        model.Initialize(3);
        var random = new Random(9);
        var text = Enumerable.Range(0, 30).Select(_ => random.Next(V)).ToArray();
        (float[] Logits, float[] State) Read(bool onTeam)
        {
            var state = new RecurrentState(config, 1);
            model.Forward(text.AsSpan(0, 6), 1, 6, state: state);
            var weights = model.PackForSteps(onTeam);
            var all = new List<float>();
            for (int t = 6; t < text.Length; t++) all.AddRange(model.Step([text[t]], state, weights).ToArray());
            return ([.. all], [.. state.Hidden.SelectMany(h => h), .. state.ConvHistory.SelectMany(h => h)]);
        }
        var alone = ThreadCount.One(() => Read(false));
        var team = ThreadCount.With(threads, () => Read(true));
        Assert.True(alone.Logits.SequenceEqual(team.Logits), $"the logits on {threads} threads differ from one thread's");
        Assert.True(alone.State.SequenceEqual(team.State), $"the state on {threads} threads differs from one thread's");
    }
}
