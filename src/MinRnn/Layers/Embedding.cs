using MinRnn.Kernels;

namespace MinRnn.Layers;

/// <summary>
/// Token embedding: output[n, :] = table[tokens[n], :] with table [vocab, dim] and output [tokens, dim].
/// <see cref="EmbeddingReference"/> is the double-precision oracle.
/// </summary>
internal static unsafe class Embedding
{
    /// <summary>Copies row tokens[n] of the table into row n of the output.</summary>
    /// <exception cref="ArgumentException">A dimension is not positive, a buffer's length does not match
    /// its shape, a token id is outside [0, vocab), or output overlaps table.</exception>
    public static void Forward(ReadOnlySpan<int> tokens, ReadOnlySpan<float> table, Span<float> output, int vocab, int dim)
    {
        const string op = "Embedding.Forward";
        Validate(op, tokens, "table", table.Length, "output", output.Length, vocab, dim);
        Check.Disjoint(op, "table", table, "output", output);
        fixed (int* t = tokens) fixed (float* w = table) fixed (float* o = output)
            VectorJob.For(tokens.Length, dim, new Gather(t, w, o, dim));
    }

    /// <summary>
    /// dTable[v, :] += Σ over n with tokens[n] = v of dOutput[n, :]. Threads take column ranges of dim
    /// and add the rows in token order, so there are no races and the sums do not depend on the thread count.
    /// </summary>
    /// <exception cref="ArgumentException">As for <see cref="Forward"/>.</exception>
    public static void Backward(ReadOnlySpan<int> tokens, ReadOnlySpan<float> dOutput, Span<float> dTable, int vocab, int dim)
    {
        const string op = "Embedding.Backward";
        Validate(op, tokens, "dTable", dTable.Length, "dOutput", dOutput.Length, vocab, dim);
        Check.Disjoint(op, "dOutput", dOutput, "dTable", dTable);
        fixed (int* t = tokens) fixed (float* g = dOutput) fixed (float* d = dTable)
            VectorJob.For(dim, tokens.Length, new Scatter(t, g, d, tokens.Length, dim));
    }

    internal static void Validate(string op, ReadOnlySpan<int> tokens, string tableName, int tableLength,
        string rowsName, int rowsLength, int vocab, int dim)
    {
        Check.Positive(op, ("tokens", tokens.Length), ("vocab", vocab), ("dim", dim));
        Check.Length(op, tableName, tableLength, vocab, dim);
        Check.Length(op, rowsName, rowsLength, tokens.Length, dim);
        Check.Indices(op, "tokens", tokens, vocab);
    }

    readonly struct Gather(int* tokens, float* table, float* output, int dim) : IVectorJob
    {
        public long BytesMoved(int count) => 8L * count * dim;

        public void Run<TOps, TV>(int start, int end) where TOps : struct, ISimd<TV> where TV : struct
        {
            for (int n = start; n < end; n++)
                new ReadOnlySpan<float>(table + (long)tokens[n] * dim, dim).CopyTo(new Span<float>(output + (long)n * dim, dim));
        }
    }

    readonly struct Scatter(int* tokens, float* dOutput, float* dTable, int count, int dim) : IVectorJob
    {
        public long BytesMoved(int columns) => 12L * count * dim; // dOutput in, a table row in and out per token

        public void Run<TOps, TV>(int start, int end) where TOps : struct, ISimd<TV> where TV : struct
        {
            for (int n = 0; n < count; n++)
                VectorOps.AddTo<TOps, TV>(dTable + (long)tokens[n] * dim + start, dOutput + (long)n * dim + start, end - start);
        }
    }
}
