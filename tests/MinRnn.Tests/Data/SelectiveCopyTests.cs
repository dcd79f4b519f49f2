using MinRnn.Data;

namespace MinRnn.Tests.Data;

/// <summary>The selective-copy task's sequences: their layout, their randomness, the sampler's state and the fixed validation set.</summary>
public class SelectiveCopyTests
{
    static readonly SelectiveCopyTask Task = new(Length: 40, Tokens: 6, VocabularySize: 9, ValidationSequences: 50);

    [Fact]
    public void ASequenceHoldsItsTokensInOrderAmongTheNoiseThenOneMarkerPerToken()
    {
        var batches = new SelectiveCopyBatches(Task, seed: 3);
        int rows = 200, length = Task.SequenceLength, m = Task.Tokens;
        var inputs = new int[rows * length];
        var targets = new int[rows * m];
        batches.Next(inputs, targets);
        for (int r = 0; r < rows; r++)
        {
            var sequence = inputs.AsSpan(r * length, length);
            // Noise is V - 1 (8), the marker 0, the data tokens 1 … V - 2: the authors' ids.
            var tokens = sequence[..Task.Length].ToArray().Where(t => t != 8).ToArray();
            Assert.Equal(targets.AsSpan(r * m, m).ToArray(), tokens); // the data tokens, in position order, are the targets
            Assert.All(tokens, t => Assert.InRange(t, 1, 7));
            Assert.All(sequence[Task.Length..].ToArray(), t => Assert.Equal(0, t));
        }
    }

    [Fact]
    public void PositionsAndTokensAreUniform()
    {
        // L 8, M 3: each position holds a token with probability 3/8, each of the 7 data tokens is drawn with probability 1/7.
        var task = new SelectiveCopyTask(Length: 8, Tokens: 3, VocabularySize: 9);
        int rows = 40_000;
        var inputs = new int[rows * task.SequenceLength];
        var targets = new int[rows * task.Tokens];
        new SelectiveCopyBatches(task, seed: 11).Next(inputs, targets);
        for (int position = 0; position < task.Length; position++)
        {
            double share = Enumerable.Range(0, rows).Count(r => inputs[r * task.SequenceLength + position] != 8) / (double)rows;
            Assert.InRange(share, 3.0 / 8 - 0.01, 3.0 / 8 + 0.01);
        }
        for (int token = 1; token <= 7; token++)
            Assert.InRange(targets.Count(t => t == token) / (double)targets.Length, 1.0 / 7 - 0.01, 1.0 / 7 + 0.01);
    }

    [Fact]
    public void TheSameSeedGivesTheSameBatchesAndASavedStateResumesTheStream()
    {
        int length = Task.SequenceLength, m = Task.Tokens;
        (int[] Inputs, int[] Targets) Next(SelectiveCopyBatches batches)
        {
            var inputs = new int[4 * length];
            var targets = new int[4 * m];
            batches.Next(inputs, targets);
            return (inputs, targets);
        }
        var a = new SelectiveCopyBatches(Task, seed: 5);
        var b = new SelectiveCopyBatches(Task, seed: 5);
        AssertSame(Next(a), Next(b));
        ulong saved = a.State;
        var expected = Next(a);
        var resumed = new SelectiveCopyBatches(Task, seed: 99) { State = saved };
        AssertSame(expected, Next(resumed));
        Assert.NotEqual(Next(new SelectiveCopyBatches(Task, seed: 6)).Inputs, Next(new SelectiveCopyBatches(Task, seed: 5)).Inputs);
    }

    [Fact]
    public void TheValidationSetIsTheSameHoweverItIsBatchedAndUnlikeTheTrainingSequences()
    {
        var validation = new SelectiveCopyValidation(Task);
        int length = Task.SequenceLength, m = Task.Tokens;
        Assert.Equal((50, 300L), (validation.Count, validation.Positions));
        var whole = (new int[64 * length], new int[64 * m]);
        Assert.Equal(50, validation.Fill(0, whole.Item1, whole.Item2));
        var pieces = (new int[7 * length], new int[7 * m]);
        for (int first = 0; first < 50; first += 7)
        {
            int rows = validation.Fill(first, pieces.Item1, pieces.Item2);
            Assert.Equal(Math.Min(7, 50 - first), rows);
            Assert.Equal(whole.Item1.AsSpan(first * length, rows * length).ToArray(), pieces.Item1.AsSpan(0, rows * length).ToArray());
            Assert.Equal(whole.Item2.AsSpan(first * m, rows * m).ToArray(), pieces.Item2.AsSpan(0, rows * m).ToArray());
        }
        // Another instance (another run, another seed) scores the same sequences; a training stream draws others.
        var again = (new int[64 * length], new int[64 * m]);
        new SelectiveCopyValidation(Task).Fill(0, again.Item1, again.Item2);
        AssertSame(whole, again);
        var training = (new int[50 * length], new int[50 * m]);
        new SelectiveCopyBatches(Task, seed: 0).Next(training.Item1, training.Item2);
        Assert.NotEqual(whole.Item1.AsSpan(0, 50 * length).ToArray(), training.Item1);
    }

    static void AssertSame((int[] Inputs, int[] Targets) expected, (int[] Inputs, int[] Targets) actual)
    {
        Assert.Equal(expected.Inputs, actual.Inputs);
        Assert.Equal(expected.Targets, actual.Targets);
    }

    [Theory]
    [InlineData(16, 16, 16, 1, "--copy-tokens (16) must be fewer than --copy-length (16)")]
    [InlineData(16, 0, 16, 1, "--copy-tokens must be at least 1")]
    [InlineData(16, 4, 2, 1, "--copy-vocab must be at least 3")]
    [InlineData(16, 4, 16, 0, "--copy-validation must be at least 1")]
    public void AnInvalidTaskIsOneLineNamingTheFlag(int length, int tokens, int vocabulary, int validation, string fragment)
    {
        var e = Assert.Throws<ArgumentException>(() => new SelectiveCopyTask(length, tokens, vocabulary, validation).Validated());
        Assert.Contains(fragment, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void TheTaskRoundTripsThroughCheckpointMetadata()
    {
        var metadata = Task.ToMetadata();
        Assert.Equal(SelectiveCopyTask.TaskName, metadata["task"]);
        Assert.Equal(Task, SelectiveCopyTask.FromMetadata(metadata, Task.VocabularySize));
        Assert.Null(SelectiveCopyTask.FromMetadata(new Dictionary<string, string>(), 9));
        metadata["copy_tokens"] = "40";
        Assert.Contains("--copy-tokens", Assert.Throws<InvalidDataException>(() => SelectiveCopyTask.FromMetadata(metadata, 9)).Message);
    }
}
