namespace MinRnn.Tests.Cli;

/// <summary><c>minrnn generate</c> end to end on a tiny trained model.</summary>
public sealed class GenerateCommandTests : IDisposable
{
    readonly string directory = Directory.CreateTempSubdirectory("minrnn-generate").FullName;
    readonly string checkpoint;

    public GenerateCommandTests()
    {
        string corpus = Path.Combine(directory, "corpus.txt");
        File.WriteAllText(corpus, string.Concat(Enumerable.Repeat("abc abd bcd. dab cab\n", 400)));
        var run = CliRunner.Run("train", "--data", corpus, "--out", Path.Combine(directory, "run"), "--dim", "16", "--layers", "1",
            "--batch", "4", "--context", "32", "--steps", "6", "--eval-every", "6", "--threads", "1");
        Assert.True(run.ExitCode == 0, run.Error);
        checkpoint = Path.Combine(directory, "run", "best.safetensors");
    }

    public void Dispose() => Directory.Delete(directory, recursive: true);

    [Fact]
    public void PrintsThePromptAndTheRequestedLengthAndTheSameSeedGivesTheSameText()
    {
        var a = CliRunner.Run("generate", "--checkpoint", checkpoint, "--prompt", "abc", "--length", "40", "--seed", "3");
        var b = CliRunner.Run("generate", "--checkpoint", checkpoint, "--prompt", "abc", "--length", "40", "--seed", "3");
        Assert.True(a.ExitCode == 0, a.Error);
        Assert.Equal(a.Output, b.Output);
        Assert.StartsWith("abc", a.Output);
        Assert.Equal("abc".Length + 40 + 1, a.Output.Length); // prompt, 40 characters, the closing newline
        var greedy = CliRunner.Run("generate", "--checkpoint", checkpoint, "--prompt", "abc", "--length", "20", "--temperature", "0");
        var topOne = CliRunner.Run("generate", "--checkpoint", checkpoint, "--prompt", "abc", "--length", "20", "--top-k", "1", "--seed", "9");
        Assert.Equal(greedy.Output, topOne.Output);
        var batch = CliRunner.Run("generate", "--checkpoint", checkpoint, "--length", "10", "--num-samples", "3");
        Assert.Equal(3, batch.Output.Split("--- sample").Length - 1);
    }

    [Theory]
    [InlineData("--temperature", "-1", "--temperature")]
    [InlineData("--top-p", "0", "--top-p")]
    [InlineData("--top-k", "-2", "--top-k")]
    [InlineData("--length", "-5", "--length")]
    public void InvalidSamplingValuesAreUsageErrors(string flag, string value, string fragment) =>
        CliRunner.AssertOneLineError(CliRunner.Run("generate", "--checkpoint", checkpoint, flag, value), 2, fragment);

    [Fact]
    public void UnknownPromptCharactersAndBadCheckpointsAreOneLine()
    {
        CliRunner.AssertOneLineError(CliRunner.Run("generate", "--checkpoint", checkpoint, "--prompt", "abxyz"), 2, "'x'");
        CliRunner.AssertOneLineError(CliRunner.Run("generate", "--checkpoint", Path.Combine(directory, "nope.safetensors")), 1, "nope.safetensors");
        string corrupt = Path.Combine(directory, "corrupt.safetensors");
        var bytes = File.ReadAllBytes(checkpoint);
        File.WriteAllBytes(corrupt, bytes[..(bytes.Length / 2)]);
        CliRunner.AssertOneLineError(CliRunner.Run("generate", "--checkpoint", corrupt), 1, "corrupt.safetensors");
    }
}
