using MinRnn.Kernels;

namespace MinRnn.Layers;

/// <summary>
/// The last P positions of every sequence of activations x [batch, time, width]: <see cref="Gather"/> copies them into
/// a compact [batch·P, width] buffer, row b·P + j = x[b, time - P + j]; <see cref="Scatter"/> is its backward, which
/// puts each row's gradient back at its position and zero at every other one. With these the head and the loss run
/// on the scored positions alone (the selective-copy task scores the last M of thousands of positions). Copies only,
/// so there is nothing to round and no reference beside it.
/// </summary>
internal static class SequenceTail
{
    /// <summary>tail[b·P + j, :] = x[b·time + time - P + j, :] for P = <paramref name="scored"/>.</summary>
    /// <exception cref="ArgumentException">A dimension is not positive, P exceeds time, or a length does not match its shape.</exception>
    public static void Gather(ReadOnlySpan<float> x, Span<float> tail, int batch, int time, int scored, int width)
    {
        Validate("SequenceTail.Gather", x.Length, tail.Length, batch, time, scored, width);
        for (int b = 0; b < batch; b++)
            x.Slice(((b + 1) * time - scored) * width, scored * width).CopyTo(tail.Slice(b * scored * width, scored * width));
    }

    /// <summary>dx[b·time + time - P + j, :] = dTail[b·P + j, :], and dx = 0 at the first time - P positions of each sequence.</summary>
    /// <exception cref="ArgumentException">As for <see cref="Gather"/>.</exception>
    public static void Scatter(ReadOnlySpan<float> dTail, Span<float> dx, int batch, int time, int scored, int width)
    {
        Validate("SequenceTail.Scatter", dx.Length, dTail.Length, batch, time, scored, width);
        int unscored = (time - scored) * width;
        for (int b = 0; b < batch; b++)
        {
            var sequence = dx.Slice(b * time * width, time * width);
            sequence[..unscored].Clear();
            dTail.Slice(b * scored * width, scored * width).CopyTo(sequence[unscored..]);
        }
    }

    static void Validate(string op, int full, int tail, int batch, int time, int scored, int width)
    {
        Check.Positive(op, ("batch", batch), ("time", time), ("scored", scored), ("width", width));
        if (scored > time) throw new ArgumentException($"{op}: scored ({scored}) must not exceed time ({time}).");
        Check.Length(op, "the full activations", full, batch, time, width);
        Check.Length(op, "the tail", tail, batch, scored, width);
    }
}
