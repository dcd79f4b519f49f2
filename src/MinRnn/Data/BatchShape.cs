namespace MinRnn.Data;

/// <summary>The shape check shared by the window sources that fill caller-provided [B, C] batches.</summary>
internal static class BatchShape
{
    /// <summary>B = inputs / C; throws unless inputs and targets hold the same positive multiple of C elements.</summary>
    public static int Rows(string owner, int context, int inputs, int targets)
    {
        if (inputs != targets || inputs == 0 || inputs % context != 0)
            throw new ArgumentException(
                $"{owner}: inputs ({inputs}) and targets ({targets}) must have the same positive multiple of context {context} elements.");
        return inputs / context;
    }
}
