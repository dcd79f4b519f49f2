using System.Text;
using MinRnn.Data;

namespace MinRnn.Tests.Data;

public class CharCorpusTests
{
    static InvalidDataException LoadFails(byte[] bytes, out string path)
    {
        using var directory = new TempDirectory();
        path = directory.File("corpus.txt");
        File.WriteAllBytes(path, bytes);
        string written = path;
        var e = Assert.Throws<InvalidDataException>(() => CharCorpus.Load(written));
        Assert.DoesNotContain('\n', e.Message);
        return e;
    }

    [Fact]
    public void LoadsUtf8TextWithoutItsByteOrderMark()
    {
        using var directory = new TempDirectory();
        string path = directory.File("corpus.txt");
        File.WriteAllBytes(path, [0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes("héllo \U0001F600")]);
        var corpus = CharCorpus.Load(path);
        Assert.Equal(path, corpus.Source);
        Assert.Equal(7, corpus.Length);
        Assert.Equal(" hlo\u00E9\U0001F600", corpus.Vocabulary.Characters);
        Assert.Equal("héllo \U0001F600", corpus.Vocabulary.Decode(corpus.Tokens.Span));
    }

    [Fact]
    public void MissingFileIsNamed()
    {
        using var directory = new TempDirectory();
        string path = directory.File("absent.txt");
        var e = Assert.Throws<FileNotFoundException>(() => CharCorpus.Load(path));
        Assert.Equal($"{path}: no such file.", e.Message);
    }

    [Fact]
    public void DirectoryIsRejected()
    {
        using var directory = new TempDirectory();
        var e = Assert.Throws<InvalidDataException>(() => CharCorpus.Load(directory.Path));
        Assert.Equal($"{directory.Path} is a directory, not a text file.", e.Message);
    }

    [Fact]
    public void EmptyFileIsRejected()
    {
        var empty = LoadFails([], out string path);
        Assert.Equal($"{path} is empty.", empty.Message);
        var bomOnly = LoadFails([0xEF, 0xBB, 0xBF], out path);
        Assert.Equal($"{path} is empty.", bomOnly.Message);
    }

    [Fact]
    public void NulByteMeansBinary()
    {
        var e = LoadFails([(byte)'a', (byte)'b', 0, (byte)'c'], out string path);
        Assert.Equal($"{path} looks binary (a NUL byte at offset 2); expected a UTF-8 text file.", e.Message);
    }

    [Fact]
    public void ManyControlCharactersMeanBinary()
    {
        byte[] bytes = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("text\x1B\x02\x7F line\n", 20)));
        var e = LoadFails(bytes, out string path);
        Assert.Equal($"{path} looks binary (60 of its 260 characters are control characters); expected a UTF-8 text file.", e.Message);
    }

    [Fact]
    public void TabsNewlinesAndFormFeedsAreText()
    {
        var corpus = CharCorpus.FromText(string.Concat(Enumerable.Repeat("a\tb\r\n\f\v", 10)), "layout");
        Assert.Equal(70, corpus.Length);
    }

    [Theory]
    [InlineData(new byte[] { (byte)'a', (byte)'b', (byte)'c', 0xFF, (byte)'d' }, "at byte offset 3: FF")]
    [InlineData(new byte[] { 0xEF, 0xBB, 0xBF, (byte)'a', 0xC3, (byte)'b' }, "at byte offset 4: C3")]
    [InlineData(new byte[] { (byte)'a', (byte)'b', 0xE2, 0x82 }, "at byte offset 2: E282")]
    public void InvalidUtf8IsReportedWithItsOffset(byte[] bytes, string where)
    {
        var e = LoadFails(bytes, out string path);
        Assert.Equal($"{path} is not valid UTF-8 {where}; expected a UTF-8 text file.", e.Message);
    }

    [Fact]
    public void SplitsNinetyTen()
    {
        string text = string.Concat(Enumerable.Range(0, 105).Select(i => (char)('a' + i % 26)));
        var corpus = CharCorpus.FromText(text, "letters");
        Assert.Equal(94, corpus.TrainLength);
        Assert.Equal(94, corpus.Train.Length);
        Assert.Equal(11, corpus.Validation.Length);
        Assert.Equal(text[94..], corpus.Vocabulary.Decode(corpus.Validation.Span));
    }

    [Fact]
    public void TrainLengthMatchesPythonsIntOfPointNineTimesN()
    {
        for (int n = 0; n < 200_000; n++)
            Assert.Equal((int)(n * 0.9), CharCorpus.TrainLengthFor(n));
        Assert.Equal((int)(int.MaxValue * 0.9), CharCorpus.TrainLengthFor(int.MaxValue));
    }

    [Fact]
    public void EnsureFitsNamesBothSplitsAndTheNeed()
    {
        var corpus = CharCorpus.FromText(new string('x', 100), "tiny.txt");
        corpus.EnsureFits(9); // validation holds 10 = 9 + 1
        var e = Assert.Throws<InvalidDataException>(() => corpus.EnsureFits(10));
        Assert.Equal("tiny.txt is too short for context 10: its train split has 90 characters and its validation split 10; each needs at least 11 (context + 1).", e.Message);
    }

    [Fact]
    public void TinyShakespeareSplitsAsTheSpecSays()
    {
        var corpus = CharCorpus.Load(SharedData.TinyShakespearePath());
        Assert.Equal(1_115_394, corpus.Length);
        Assert.Equal(1_003_854, corpus.Train.Length);
        Assert.Equal(111_540, corpus.Validation.Length);
        Assert.Equal(65, corpus.Vocabulary.Count);
        corpus.EnsureFits(256);
    }
}
