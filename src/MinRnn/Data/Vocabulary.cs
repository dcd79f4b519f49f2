using System.Text;

namespace MinRnn.Data;

/// <summary>
/// The characters a model knows: the sorted set of distinct Unicode scalar values of a corpus, token
/// id = index in that list (spec §3). Characters are <see cref="Rune"/>s, not UTF-16 code units, so a
/// character outside the Basic Multilingual Plane is one token, and the order is by scalar value (as
/// Python's <c>sorted(set(text))</c>), which differs from UTF-16 ordinal order above U+D7FF.
/// </summary>
internal sealed class Vocabulary
{
    /// <summary>At most this many unknown characters are listed in an error message.</summary>
    const int MaxListed = 20;

    readonly Rune[] runes;
    readonly int[] bmpIds;                   // id by scalar value below bmpIds.Length; -1 where absent
    readonly Dictionary<int, int> astralIds; // id by scalar value above U+FFFF

    Vocabulary(Rune[] runes)
    {
        this.runes = runes;
        int bmpEnd = 0;
        foreach (var r in runes) if (r.IsBmp) bmpEnd = r.Value + 1;
        bmpIds = new int[bmpEnd];
        Array.Fill(bmpIds, -1);
        astralIds = [];
        for (int id = 0; id < runes.Length; id++)
        {
            if (runes[id].IsBmp) bmpIds[runes[id].Value] = id;
            else astralIds.Add(runes[id].Value, id);
        }
        Characters = string.Concat(runes.Select(r => r.ToString()));
    }

    /// <summary>The number of tokens, V.</summary>
    public int Count => runes.Length;

    /// <summary>The character of token <paramref name="id"/>.</summary>
    public Rune this[int id] => runes[id];

    /// <summary>
    /// The characters in id order, concatenated: the vocabulary's serialised form (for checkpoint
    /// metadata); <see cref="Parse"/> reads it back.
    /// </summary>
    public string Characters { get; }

    /// <summary>The vocabulary of <paramref name="text"/>: every distinct character it contains, sorted by scalar value.</summary>
    /// <exception cref="ArgumentException">The text is empty or holds an unpaired surrogate.</exception>
    public static Vocabulary FromText(string text)
    {
        if (text.Length == 0) throw new ArgumentException("vocabulary: the text is empty, so it has no characters.");
        var distinct = new HashSet<Rune>();
        for (int i = 0; i < text.Length;)
        {
            var rune = RuneAt(text, i);
            distinct.Add(rune);
            i += rune.Utf16SequenceLength;
        }
        var sorted = distinct.ToArray();
        Array.Sort(sorted); // Rune compares by scalar value
        return new Vocabulary(sorted);
    }

    /// <summary>Reads the form written by <see cref="Characters"/>, which must list distinct characters in increasing order.</summary>
    /// <exception cref="FormatException">The string is empty, holds an unpaired surrogate, or is not sorted and distinct.</exception>
    public static Vocabulary Parse(string characters)
    {
        if (characters.Length == 0) throw new FormatException("vocabulary: the character list is empty.");
        var list = new List<Rune>();
        for (int i = 0; i < characters.Length;)
        {
            if (!Rune.TryGetRuneAt(characters, i, out var rune))
                throw new FormatException($"vocabulary: unpaired surrogate U+{(int)characters[i]:X4} at UTF-16 index {i}.");
            if (list.Count > 0 && rune.Value <= list[^1].Value)
                throw new FormatException(
                    $"vocabulary: the characters must be sorted and distinct, but {RuneDisplay.Quote(rune)} (token {list.Count}) follows {RuneDisplay.Quote(list[^1])}.");
            list.Add(rune);
            i += rune.Utf16SequenceLength;
        }
        return new Vocabulary([.. list]);
    }

    /// <summary>Looks up the token id of <paramref name="rune"/>; false when the vocabulary does not hold it.</summary>
    public bool TryGetId(Rune rune, out int id)
    {
        if (rune.IsBmp)
        {
            id = rune.Value < bmpIds.Length ? bmpIds[rune.Value] : -1;
            return id >= 0;
        }
        return astralIds.TryGetValue(rune.Value, out id);
    }

    /// <summary>The token ids of the characters of <paramref name="text"/>, one per Unicode scalar value.</summary>
    /// <exception cref="ArgumentException">
    /// The text holds characters outside the vocabulary (each is named once, in order of first
    /// appearance) or an unpaired surrogate.
    /// </exception>
    public int[] Encode(string text)
    {
        var ids = new int[text.Length]; // an upper bound: a character is one or two UTF-16 units
        int n = 0;
        List<Rune>? unknown = null; // in order of first appearance
        HashSet<Rune>? seen = null;
        for (int i = 0; i < text.Length;)
        {
            var rune = RuneAt(text, i);
            if (TryGetId(rune, out ids[n])) n++;
            else if ((seen ??= []).Add(rune)) (unknown ??= []).Add(rune);
            i += rune.Utf16SequenceLength;
        }
        if (unknown is not null) throw new ArgumentException(UnknownMessage(unknown));
        if (n < ids.Length) Array.Resize(ref ids, n);
        return ids;
    }

    /// <summary>The text of a sequence of token ids.</summary>
    /// <exception cref="ArgumentException">An id lies outside [0, <see cref="Count"/>).</exception>
    public string Decode(ReadOnlySpan<int> ids)
    {
        int length = 0;
        for (int i = 0; i < ids.Length; i++)
        {
            if ((uint)ids[i] >= (uint)runes.Length)
                throw new ArgumentException($"vocabulary: token ids[{i}] = {ids[i]} is outside [0, {runes.Length}).");
            length += runes[ids[i]].Utf16SequenceLength;
        }
        var chars = new char[length];
        int at = 0;
        foreach (int id in ids) at += runes[id].EncodeToUtf16(chars.AsSpan(at));
        return new string(chars);
    }

    string UnknownMessage(List<Rune> unknown)
    {
        string listed = string.Join(", ", unknown.Take(MaxListed).Select(RuneDisplay.Quote));
        string more = unknown.Count > MaxListed ? $" and {unknown.Count - MaxListed} more" : "";
        string noun = unknown.Count == 1 ? "character" : "characters";
        return $"the text contains {unknown.Count} {noun} not in the vocabulary of {Count}: {listed}{more}.";
    }

    static Rune RuneAt(string text, int index) =>
        Rune.TryGetRuneAt(text, index, out var rune)
            ? rune
            : throw new ArgumentException($"the text has an unpaired surrogate U+{(int)text[index]:X4} at UTF-16 index {index}.");
}
