namespace MinRnn.Data;

/// <summary>The shape checks shared by the sequence sources that fill caller-provided batches.</summary>
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

    /// <summary>
    /// B = inputs / T for sequences of T inputs whose last P positions carry a target; throws unless inputs hold a
    /// positive multiple of T elements and targets B·P.
    /// </summary>
    public static int Rows(string owner, int length, int scored, int inputs, int targets)
    {
        if (inputs == 0 || inputs % length != 0 || (long)inputs / length * scored != targets)
            throw new ArgumentException(
                $"{owner}: inputs ({inputs}) must be a positive multiple of the sequence length {length}, and targets ({targets}) {scored} per sequence.");
        return inputs / length;
    }
}
