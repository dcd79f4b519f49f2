using MinRnn.Kernels;

namespace MinRnn.Layers;

/// <summary>
/// Moves a block of columns between row-major matrices of different widths: row r of the destination, width floats at
/// r · destinationStride, gets the width floats at r · sourceStride of the source. Callers slice
/// both spans at the first column; a model uses it to split a projection's output ([x | z]) into the contiguous inputs of
/// the next operations, and to put their gradients back.
/// </summary>
internal static unsafe class Columns
{
    /// <summary>destination[r · destinationStride + j] = source[r · sourceStride + j] for r &lt; rows, j &lt; width.</summary>
    /// <exception cref="ArgumentException">A dimension is not positive, a stride is below the width, a span is too short
    /// for its rows, or the two overlap.</exception>
    public static void Copy(ReadOnlySpan<float> source, int sourceStride, Span<float> destination, int destinationStride, int rows, int width)
    {
        const string op = "Columns.Copy";
        Check.Positive(op, ("rows", rows), ("width", width));
        Strided(op, "source", source.Length, rows, width, sourceStride);
        Strided(op, "destination", destination.Length, rows, width, destinationStride);
        Check.Disjoint(op, "source", source, "destination", destination);
        fixed (float* s = source) fixed (float* d = destination)
            VectorJob.For(rows, width, new Job(s, sourceStride, d, destinationStride, width));
    }

    /// <summary>Throws unless a span of <paramref name="length"/> floats holds <paramref name="rows"/> rows of
    /// <paramref name="width"/> floats, <paramref name="stride"/> apart.</summary>
    internal static void Strided(string op, string name, int length, int rows, int width, int stride)
    {
        if (stride < width) throw new ArgumentException($"{op}: {name}'s row stride {stride} is below its width {width}.");
        long needed = (long)(rows - 1) * stride + width;
        if (length < needed)
            throw new ArgumentException($"{op}: {name} has {length} elements, expected at least {needed} for {rows} rows of {width} with stride {stride}.");
    }

    readonly struct Job(float* source, int sourceStride, float* destination, int destinationStride, int width) : IVectorJob
    {
        public long BytesMoved(int count) => 8L * count * width;

        public void Run<TOps, TV>(int start, int end) where TOps : struct, ISimd<TV> where TV : struct
        {
            for (long r = start; r < end; r++)
                new ReadOnlySpan<float>(source + r * sourceStride, width).CopyTo(new Span<float>(destination + r * destinationStride, width));
        }
    }
}
