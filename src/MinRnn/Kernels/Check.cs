namespace MinRnn.Kernels;

/// <summary>
/// Argument checks shared by every operation. Each failure is an <see cref="ArgumentException"/>
/// whose message starts with the operation's name and states the shapes involved.
/// </summary>
internal static class Check
{
    /// <summary>Throws unless every named dimension is positive.</summary>
    public static void Positive(string op, params ReadOnlySpan<(string Name, int Value)> dimensions)
    {
        foreach (var (name, value) in dimensions)
            if (value <= 0)
                throw new ArgumentException($"{op}: {name} must be positive, got {value}.");
    }

    /// <summary>Throws unless a buffer of <paramref name="length"/> elements holds exactly the shape <paramref name="shape"/>.</summary>
    public static void Length(string op, string name, int length, params ReadOnlySpan<int> shape)
    {
        long expected = 1;
        foreach (int d in shape) expected *= d;
        if (length != expected)
            throw new ArgumentException($"{op}: {name} has {length} elements, expected [{string.Join(", ", shape.ToArray())}] = {expected}.");
    }

    /// <summary>Throws unless every id lies in [0, <paramref name="count"/>); names the first one that does not.</summary>
    public static void Indices(string op, string name, ReadOnlySpan<int> ids, int count)
    {
        for (int i = 0; i < ids.Length; i++)
            if ((uint)ids[i] >= (uint)count)
                throw new ArgumentException($"{op}: {name}[{i}] = {ids[i]} is outside [0, {count}).");
    }

    /// <summary>Throws if the two buffers share memory, for operations that read one while writing the other.</summary>
    public static void Disjoint<T>(string op, string nameA, ReadOnlySpan<T> a, string nameB, ReadOnlySpan<T> b)
    {
        if (a.Overlaps(b))
            throw new ArgumentException($"{op}: {nameB} overlaps {nameA}; the operation needs separate buffers.");
    }
}
