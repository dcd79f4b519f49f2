namespace MinRnn.Kernels;

/// <summary>
/// Argument checks shared by every operation. Each failure is an <see cref="ArgumentException"/>
/// whose message starts with the operation's name and states the shapes involved.
/// </summary>
public static class Check
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
}
