using System.Text;
using MinRnn.Data;

namespace MinRnn.Tests.Data;

public class VocabularyTests
{
    const string Grin = "\U0001F600"; // one scalar value, two UTF-16 units

    [Fact]
    public void HoldsTheSortedDistinctCharacters()
    {
        var vocabulary = Vocabulary.FromText("hello, world\n");
        Assert.Equal("\n ,dehlorw", vocabulary.Characters);
        Assert.Equal(10, vocabulary.Count);
        Assert.Equal(new Rune('d'), vocabulary[3]);
    }

    [Fact]
    public void CountsAnAstralCharacterOnceAndSortsByScalarValue()
    {
        // U+FF21 sorts before U+1F600 by scalar value, although its UTF-16 unit is above the surrogates.
        var vocabulary = Vocabulary.FromText($"b{Grin}\uFF21a{Grin}");
        Assert.Equal(4, vocabulary.Count);
        Assert.Equal($"ab\uFF21{Grin}", vocabulary.Characters);
        Assert.Equal([1, 3, 2, 0, 3], vocabulary.Encode($"b{Grin}\uFF21a{Grin}"));
    }

    [Fact]
    public void EncodeThenDecodeGivesTheTextBack()
    {
        string text = $"To be, or not to be {Grin}\nthat is the question: é\t{Grin}";
        var vocabulary = Vocabulary.FromText(text);
        int[] ids = vocabulary.Encode(text);
        Assert.Equal(text.EnumerateRunes().Count(), ids.Length);
        Assert.Equal(text, vocabulary.Decode(ids));
        Assert.True(vocabulary.TryGetId(new Rune(0x1F600), out int grin));
        Assert.Equal(vocabulary.Count - 1, grin);
        Assert.False(vocabulary.TryGetId(new Rune('z'), out _));
    }

    [Fact]
    public void EncodeNamesEachUnknownCharacterOnceEscapingControls()
    {
        var vocabulary = Vocabulary.FromText("abc");
        var e = Assert.Throws<ArgumentException>(() => vocabulary.Encode($"abxyx\u0001\n{Grin}y"));
        Assert.Equal($"the text contains 5 characters not in the vocabulary of 3: 'x', 'y', '\\u0001', '\\n', '{Grin}'.", e.Message);
    }

    [Fact]
    public void EncodeListsAtMostTwentyUnknownCharacters()
    {
        var vocabulary = Vocabulary.FromText("a");
        var e = Assert.Throws<ArgumentException>(() => vocabulary.Encode("bcdefghijklmnopqrstuvwxyz"));
        Assert.StartsWith("the text contains 25 characters not in the vocabulary of 1: 'b', ", e.Message);
        Assert.EndsWith("'u' and 5 more.", e.Message);
    }

    [Fact]
    public void RejectsUnpairedSurrogates()
    {
        var vocabulary = Vocabulary.FromText("ab");
        Assert.Contains("unpaired surrogate U+D83D at UTF-16 index 1", Assert.Throws<ArgumentException>(() => vocabulary.Encode("a\uD83Db")).Message);
        Assert.Contains("unpaired surrogate U+DE00", Assert.Throws<ArgumentException>(() => Vocabulary.FromText("\uDE00")).Message);
        Assert.Throws<ArgumentException>(() => Vocabulary.FromText(""));
    }

    [Fact]
    public void DecodeRejectsIdsOutsideTheVocabulary()
    {
        var vocabulary = Vocabulary.FromText("abc");
        Assert.Equal("cab", vocabulary.Decode([2, 0, 1]));
        Assert.Equal("", vocabulary.Decode([]));
        var e = Assert.Throws<ArgumentException>(() => vocabulary.Decode([0, 3]));
        Assert.Equal("vocabulary: token ids[1] = 3 is outside [0, 3).", e.Message);
        Assert.Throws<ArgumentException>(() => vocabulary.Decode([-1]));
    }

    [Fact]
    public void ParseReadsBackTheCharacters()
    {
        var vocabulary = Vocabulary.FromText($"the {Grin} quick\u0000 brown fox");
        var parsed = Vocabulary.Parse(vocabulary.Characters);
        Assert.Equal(vocabulary.Characters, parsed.Characters);
        Assert.Equal(vocabulary.Count, parsed.Count);
        Assert.Equal(vocabulary.Encode("quick fox"), parsed.Encode("quick fox"));
    }

    [Theory]
    [InlineData("", "vocabulary: the character list is empty.")]
    [InlineData("ba", "vocabulary: the characters must be sorted and distinct, but 'a' (token 1) follows 'b'.")]
    [InlineData("a\nb", "vocabulary: the characters must be sorted and distinct, but '\\n' (token 1) follows 'a'.")]
    [InlineData("abb", "vocabulary: the characters must be sorted and distinct, but 'b' (token 2) follows 'b'.")]
    public void ParseRejectsMalformedLists(string characters, string message)
    {
        Assert.Equal(message, Assert.Throws<FormatException>(() => Vocabulary.Parse(characters)).Message);
    }

    [Fact]
    public void ParseRejectsAnUnpairedSurrogate() // not an InlineData case: test-case serialisation would replace it
    {
        var e = Assert.Throws<FormatException>(() => Vocabulary.Parse("a\uD800"));
        Assert.Equal("vocabulary: unpaired surrogate U+D800 at UTF-16 index 1.", e.Message);
    }
}
