using MinRnn.Generation;
using MinRnn.Layers;
using MinRnn.Model;

namespace MinRnn.Tests.Generation;

/// <summary>Runs alone (no test in parallel), so that the managed heap it measures is its own.</summary>
[CollectionDefinition(nameof(GeneratorMemoryTests), DisableParallelization = true)]
public sealed class GeneratorMemoryCollection;

[Collection(nameof(GeneratorMemoryTests))]
public class GeneratorMemoryTests
{
    [Theory]
    [InlineData(Architecture.Residual, RecurrentCell.MinLstm)]
    [InlineData(Architecture.Mamba, RecurrentCell.MinGru)]
    public void ALongGenerationKeepsItsMemoryFlat(Architecture architecture, RecurrentCell cell)
    {
        var model = GeneratorTests.Model(architecture, cell);
        var generator = new Generator(model, GeneratorTests.Vocabulary, new SamplingOptions { Seed = 3 }, streams: 4);
        long stateFloats = generator.State.Floats;
        generator.Prefill("abc");
        var characters = new string[4];
        for (int i = 0; i < 1000; i++) generator.Step(characters);
        long after1k = GC.GetTotalMemory(forceFullCollection: true);
        for (int i = 0; i < 10_000; i++) generator.Step(characters);
        long after11k = GC.GetTotalMemory(forceFullCollection: true);
        Assert.Equal(stateFloats, generator.State.Floats);
        Assert.True(after11k - after1k < 256 * 1024, $"managed memory grew by {after11k - after1k} bytes over 10,000 steps");
    }
}
