using System.Text;

namespace MinRnn.Data;

/// <summary>
/// A character-level corpus: the text as token ids over its own <see cref="Data.Vocabulary"/>, split
/// into the first 90% for training and the last 10% for validation (spec §4).
/// </summary>
internal sealed class CharCorpus
{
    /// <summary>Text whose share of control characters (other than tab, newlines and form feeds) exceeds this is taken for binary.</summary>
    const double MaxControlFraction = 0.01;

    static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    readonly int[] tokens;

    CharCorpus(string source, Vocabulary vocabulary, int[] tokens)
    {
        Source = source;
        Vocabulary = vocabulary;
        this.tokens = tokens;
        TrainLength = TrainLengthFor(tokens.Length);
    }

    /// <summary>Where the text came from (the path as given), for messages.</summary>
    public string Source { get; }

    /// <summary>The sorted distinct characters of the whole text.</summary>
    public Vocabulary Vocabulary { get; }

    /// <summary>The number of characters (Unicode scalar values), n.</summary>
    public int Length => tokens.Length;

    /// <summary>The whole text as token ids.</summary>
    public ReadOnlyMemory<int> Tokens => tokens;

    /// <summary>The number of training characters, floor(0.9 n).</summary>
    public int TrainLength { get; }

    /// <summary>The training split: the first <see cref="TrainLength"/> tokens.</summary>
    public ReadOnlyMemory<int> Train => tokens.AsMemory(0, TrainLength);

    /// <summary>The validation split: the remaining n - floor(0.9 n) tokens.</summary>
    public ReadOnlyMemory<int> Validation => tokens.AsMemory(TrainLength);

    /// <summary>
    /// floor(9n / 10) in integers. It equals Python's <c>int(0.9 * n)</c> for every int n, since the
    /// double 0.9 lies above 9/10 and 9n/10 is exact whenever it is whole (Tiny Shakespeare:
    /// 1,115,394 → 1,003,854 / 111,540).
    /// </summary>
    public static int TrainLengthFor(int length) => (int)(length * 9L / 10);

    /// <summary>
    /// Reads a UTF-8 text file (a leading byte order mark is dropped), in the characters of <paramref name="vocabulary"/>
    /// when one is given, else of its own.
    /// </summary>
    /// <exception cref="FileNotFoundException">No file exists at <paramref name="path"/>.</exception>
    /// <exception cref="InvalidDataException">The file is empty, binary, not valid UTF-8, or holds characters outside
    /// <paramref name="vocabulary"/> (named).</exception>
    public static CharCorpus Load(string path, Vocabulary? vocabulary = null)
    {
        if (Directory.Exists(path)) throw new InvalidDataException($"{path} is a directory, not a text file.");
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such file.", path);
        byte[] bytes = File.ReadAllBytes(path);
        int nul = Array.IndexOf(bytes, (byte)0);
        if (nul >= 0) throw new InvalidDataException($"{path} looks binary (a NUL byte at offset {nul}); expected a UTF-8 text file.");
        ReadOnlySpan<byte> bom = [0xEF, 0xBB, 0xBF];
        int start = bytes.AsSpan().StartsWith(bom) ? bom.Length : 0;
        string text;
        try
        {
            text = StrictUtf8.GetString(bytes, start, bytes.Length - start);
        }
        catch (DecoderFallbackException e)
        {
            string at = e.Index >= 0 ? $" at byte offset {start + e.Index}" : "";
            string found = e.BytesUnknown is { Length: > 0 } unknown ? $": {Convert.ToHexString(unknown)}" : "";
            throw new InvalidDataException($"{path} is not valid UTF-8{at}{found}; expected a UTF-8 text file.");
        }
        return FromText(text, path, vocabulary);
    }

    /// <summary>
    /// A corpus of <paramref name="text"/> in the characters of <paramref name="vocabulary"/> when one is given, else of
    /// its own; <paramref name="source"/> names it in messages.
    /// </summary>
    /// <exception cref="InvalidDataException">The text is empty, mostly control characters, or holds characters outside
    /// <paramref name="vocabulary"/> (named).</exception>
    /// <exception cref="ArgumentException">The text holds an unpaired surrogate.</exception>
    public static CharCorpus FromText(string text, string source, Vocabulary? vocabulary = null)
    {
        if (text.Length == 0) throw new InvalidDataException($"{source} is empty.");
        int control = 0;
        foreach (char c in text)
            if (char.IsControl(c) && c is not ('\t' or '\n' or '\r' or '\f' or '\v')) control++;
        if (control > MaxControlFraction * text.Length)
            throw new InvalidDataException(
                $"{source} looks binary ({control} of its {text.Length} characters are control characters); expected a UTF-8 text file.");
        if (vocabulary is null)
        {
            vocabulary = Vocabulary.FromText(text);
            return new CharCorpus(source, vocabulary, vocabulary.Encode(text));
        }
        try
        {
            return new CharCorpus(source, vocabulary, vocabulary.Encode(text));
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"{source} does not fit the model's vocabulary: {e.Message}", e);
        }
    }

    /// <summary>Throws unless both splits hold at least one window of <paramref name="context"/> + 1 characters.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The context is not positive.</exception>
    /// <exception cref="InvalidDataException">A split is shorter than context + 1.</exception>
    public void EnsureFits(int context)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(context);
        int train = TrainLength, validation = Length - TrainLength;
        if (train < context + 1 || validation < context + 1)
            throw new InvalidDataException(
                $"{Source} is too short for context {context}: its train split has {train} characters and its validation split {validation}; each needs at least {context + 1} (context + 1).");
    }
}
