using System.Globalization;

namespace MinRnn;

/// <summary>
/// The selective copying task (Gu and Dao, "Mamba", 2023, §4.1), as "Were RNNs All We Needed?" trains minGRU and
/// minLSTM on it: each sequence holds <see cref="Tokens"/> data tokens at random positions among the noise of its first
/// <see cref="Length"/> positions, then as many markers; at the i-th marker the model must output the i-th data token,
/// so it has to keep the tokens and skip the noise whatever their spacing. Only those M outputs are scored (loss and
/// accuracy). Token ids, as the authors' code has them: V - 1 is the noise, 0 the marker and 1 … V - 2 the data tokens,
/// drawn uniformly; the M positions are a uniform M-subset of the first L, sorted.
/// </summary>
/// <param name="Length">L: the positions that hold the data tokens among the noise (the paper's 4096).</param>
/// <param name="Tokens">M: the data tokens to copy, fewer than L (the paper's 16).</param>
/// <param name="VocabularySize">V: token ids, at least 3 — noise, marker and one data token (the paper's 16).</param>
/// <param name="ValidationSequences">The fixed validation set's size (the paper's 200 batches of 64).</param>
public sealed record SelectiveCopyTask(int Length = 4096, int Tokens = 16, int VocabularySize = 16, int ValidationSequences = 12_800)
{
    /// <summary>What <c>minrnn train --task</c> calls it, and what a checkpoint's metadata records.</summary>
    public const string TaskName = "selective-copy";

    const string TaskKey = "task", LengthKey = "copy_length", TokensKey = "copy_tokens", ValidationKey = "copy_validation";

    /// <summary>T = L + M: the inputs of one sequence, the markers included.</summary>
    public int SequenceLength => Length + Tokens;

    /// <summary>The token id of the noise between the data tokens.</summary>
    internal int Noise => VocabularySize - 1;

    /// <summary>The token id of the markers at which the data tokens are recalled.</summary>
    internal const int Marker = 0;

    /// <summary>The number of distinct data tokens, V - 2 (ids 1 … V - 2).</summary>
    internal int DataTokens => VocabularySize - 2;

    /// <summary>Throws <see cref="ArgumentException"/> with one line naming the first invalid value.</summary>
    public SelectiveCopyTask Validated()
    {
        if (Tokens < 1) throw new ArgumentException($"--copy-tokens must be at least 1, got {Tokens}.");
        if (Tokens >= Length) throw new ArgumentException($"--copy-tokens ({Tokens}) must be fewer than --copy-length ({Length}), the positions that hold them among the noise.");
        if ((long)Length + Tokens > int.MaxValue / 8) throw new ArgumentException($"--copy-length {Length} is too long.");
        if (VocabularySize < 3)
            throw new ArgumentException($"--copy-vocab must be at least 3 (the noise, the marker and one data token), got {VocabularySize}.");
        if (ValidationSequences < 1) throw new ArgumentException($"--copy-validation must be at least 1 sequence, got {ValidationSequences}.");
        return this;
    }

    /// <summary>"selective-copy (L 4096, M 16, vocabulary 16)": the task and its sizes, for messages.</summary>
    internal string Description => string.Create(CultureInfo.InvariantCulture, $"{TaskName} (L {Length}, M {Tokens}, vocabulary {VocabularySize})");

    /// <summary>The task as checkpoint metadata entries (its vocabulary size is the model's vocab_size).</summary>
    internal Dictionary<string, string> ToMetadata() => new()
    {
        [TaskKey] = TaskName,
        [LengthKey] = Invariant(Length),
        [TokensKey] = Invariant(Tokens),
        [ValidationKey] = Invariant(ValidationSequences),
    };

    /// <summary>The task a checkpoint's metadata records, or null when it records none (a character model).</summary>
    /// <exception cref="InvalidDataException">An entry is missing, does not parse, names an unknown task or an invalid one.</exception>
    internal static SelectiveCopyTask? FromMetadata(IReadOnlyDictionary<string, string> metadata, int vocabularySize)
    {
        if (!metadata.TryGetValue(TaskKey, out var name)) return null;
        if (name != TaskName) throw new InvalidDataException($"unknown task \"{name}\" (this version knows \"{TaskName}\").");
        int Int(string key) => metadata.TryGetValue(key, out var text) && int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int value)
            ? value : throw new InvalidDataException($"metadata \"{key}\" is missing or not an integer.");
        try
        {
            return new SelectiveCopyTask(Int(LengthKey), Int(TokensKey), vocabularySize, Int(ValidationKey)).Validated();
        }
        catch (ArgumentException e) { throw new InvalidDataException($"invalid task in metadata: {e.Message}"); }
    }

    static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);
}
