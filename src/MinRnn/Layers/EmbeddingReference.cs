namespace MinRnn.Layers;

/// <summary>The plain double-precision oracle for <see cref="Embedding"/>, same layouts and checks.</summary>
internal static class EmbeddingReference
{
    /// <summary>output[n, :] = table[tokens[n], :].</summary>
    public static void Forward(ReadOnlySpan<int> tokens, ReadOnlySpan<double> table, Span<double> output, int vocab, int dim)
    {
        Embedding.Validate("EmbeddingReference.Forward", tokens, "table", table.Length, "output", output.Length, vocab, dim);
        for (int n = 0; n < tokens.Length; n++)
        for (int c = 0; c < dim; c++)
            output[n * dim + c] = table[tokens[n] * dim + c];
    }

    /// <summary>dTable[tokens[n], :] += dOutput[n, :] for every n.</summary>
    public static void Backward(ReadOnlySpan<int> tokens, ReadOnlySpan<double> dOutput, Span<double> dTable, int vocab, int dim)
    {
        Embedding.Validate("EmbeddingReference.Backward", tokens, "dTable", dTable.Length, "dOutput", dOutput.Length, vocab, dim);
        for (int n = 0; n < tokens.Length; n++)
        for (int c = 0; c < dim; c++)
            dTable[tokens[n] * dim + c] += dOutput[n * dim + c];
    }
}
