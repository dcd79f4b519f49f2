namespace MinRnn.IO;

/// <summary>One validated float32 tensor listed in a safetensors header.</summary>
internal sealed class SafetensorsEntry
{
    internal SafetensorsEntry(string name, int[] shape, int elementCount, long dataBegin, long dataEnd)
    {
        Name = name;
        Shape = Array.AsReadOnly(shape);
        ElementCount = elementCount;
        DataBegin = dataBegin;
        DataEnd = dataEnd;
    }

    /// <summary>The tensor's name.</summary>
    public string Name { get; }

    /// <summary>Dimensions, outermost first; empty for a scalar.</summary>
    public IReadOnlyList<int> Shape { get; }

    /// <summary>Number of float32 elements: the product of <see cref="Shape"/>.</summary>
    public int ElementCount { get; }

    /// <summary>First byte of the tensor's data, counted from the first byte after the header.</summary>
    public long DataBegin { get; }

    /// <summary>One past the last byte of the tensor's data, counted from the first byte after the header.</summary>
    public long DataEnd { get; }

    /// <summary>Most dimensions a message lists; a forged header may hold millions.</summary>
    private const int MaxFormattedDims = 8;

    /// <summary>Formats a shape as <c>[2, 3]</c> for messages.</summary>
    internal static string Format(IReadOnlyCollection<int> shape) =>
        shape.Count <= MaxFormattedDims
            ? $"[{string.Join(", ", shape)}]"
            : $"[{string.Join(", ", shape.Take(MaxFormattedDims))}, ... ({shape.Count} dimensions)]";
}
