using MinRnn.Data;

namespace MinRnn.Tests.Data;

public class TrainingBatchesTests
{
    /// <summary>Token i at position i, so a window's start is its first input and its shift is visible.</summary>
    static int[] Positions(int n) => Enumerable.Range(0, n).ToArray();

    static (int[] Inputs, int[] Targets) Draw(TrainingBatches batches, int rows)
    {
        var inputs = new int[rows * batches.Context];
        var targets = new int[rows * batches.Context];
        batches.Next(inputs, targets);
        return (inputs, targets);
    }

    [Fact]
    public void SplitMix64MatchesTheReferenceSequence()
    {
        // Vigna's splitmix64.c seeded with 0.
        var random = new SplitMix64(0);
        Assert.Equal(0xE220A8397B1DCDAFUL, random.NextUInt64());
        Assert.Equal(0x6E789E6AA1B965F4UL, random.NextUInt64());
        Assert.Equal(0x06C45D188009454FUL, random.NextUInt64());
    }

    [Fact]
    public void NextIntIsUniform()
    {
        var random = new SplitMix64(42);
        var counts = new int[7];
        for (int i = 0; i < 70_000; i++) counts[random.NextInt(7)]++;
        foreach (int count in counts) Assert.InRange(count, 9_500, 10_500); // ±5 standard deviations
        Assert.Equal(0, random.NextInt(1));
        Assert.Throws<ArgumentOutOfRangeException>(() => random.NextInt(0));
    }

    [Fact]
    public void WindowsAreContiguousAndTargetsAreInputsShiftedByOne()
    {
        int n = 50, context = 8;
        var batches = new TrainingBatches(Positions(n), context, seed: 1);
        var (inputs, targets) = Draw(batches, 16);
        for (int b = 0; b < 16; b++)
        {
            int start = inputs[b * context];
            Assert.InRange(start, 0, n - context - 1);
            for (int t = 0; t < context; t++)
            {
                Assert.Equal(start + t, inputs[b * context + t]);
                Assert.Equal(start + t + 1, targets[b * context + t]);
            }
        }
    }

    [Fact]
    public void EveryStartIsReachableIncludingTheLast()
    {
        int n = 7, context = 3; // starts 0..3: the last window is train[3..6]
        var batches = new TrainingBatches(Positions(n), context, seed: 5);
        var (inputs, _) = Draw(batches, 400);
        var starts = Enumerable.Range(0, 400).Select(b => inputs[b * context]).ToHashSet();
        Assert.Equal([0, 1, 2, 3], starts.Order());
    }

    [Fact]
    public void SameSeedSameBatchesOtherSeedOtherBatches()
    {
        var tokens = Positions(1000);
        var a = Draw(new TrainingBatches(tokens, 16, seed: 7), 8);
        var b = Draw(new TrainingBatches(tokens, 16, seed: 7), 8);
        var c = Draw(new TrainingBatches(tokens, 16, seed: 8), 8);
        Assert.Equal(a.Inputs, b.Inputs);
        Assert.Equal(a.Targets, b.Targets);
        Assert.NotEqual(a.Inputs, c.Inputs);
    }

    [Fact]
    public void BatchSizeDoesNotChangeTheWindowStream()
    {
        var tokens = Positions(1000);
        var whole = Draw(new TrainingBatches(tokens, 16, seed: 3), 6);
        var split = new TrainingBatches(tokens, 16, seed: 3);
        int[] first = Draw(split, 2).Inputs, rest = Draw(split, 4).Inputs;
        Assert.Equal(whole.Inputs, first.Concat(rest).ToArray());
    }

    [Fact]
    public void RestoringTheStateResumesExactly()
    {
        var tokens = Positions(5000);
        var original = new TrainingBatches(tokens, 32, seed: 11);
        for (int i = 0; i < 3; i++) Draw(original, 4);
        ulong saved = original.State;
        var expected = Enumerable.Range(0, 3).Select(_ => Draw(original, 4)).ToArray();

        var resumed = new TrainingBatches(tokens, 32, seed: 999) { State = saved };
        foreach (var (inputs, targets) in expected)
        {
            var again = Draw(resumed, 4);
            Assert.Equal(inputs, again.Inputs);
            Assert.Equal(targets, again.Targets);
        }
        Assert.Equal(original.State, resumed.State);
    }

    [Fact]
    public void RejectsBadShapes()
    {
        Assert.Equal("training batches: the train split has 8 tokens, fewer than context + 1 = 9.",
            Assert.Throws<ArgumentException>(() => new TrainingBatches(Positions(8), 8, 0)).Message);
        Assert.Throws<ArgumentException>(() => new TrainingBatches(Positions(8), 0, 0));
        var batches = new TrainingBatches(Positions(100), 10, 0);
        Assert.Equal("training batches: inputs (15) and targets (15) must have the same positive multiple of context 10 elements.",
            Assert.Throws<ArgumentException>(() => batches.Next(new int[15], new int[15])).Message);
        Assert.Throws<ArgumentException>(() => batches.Next(new int[10], new int[20]));
        Assert.Throws<ArgumentException>(() => batches.Next([], []));
    }
}
