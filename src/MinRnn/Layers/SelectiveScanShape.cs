namespace MinRnn.Layers;

/// <summary>
/// The sizes of a selective scan (<see cref="SelectiveScan"/>): <paramref name="Batch"/> independent sequences of
/// <paramref name="Time"/> steps, <paramref name="Channels"/> channels (Mamba's d_inner) and a state of
/// <paramref name="State"/> values (N) per channel.
/// </summary>
internal readonly record struct SelectiveScanShape(int Batch, int Time, int Channels, int State)
{
    /// <summary>Rows of the [batch, time, …] tensors.</summary>
    public int Rows => Batch * Time;

    /// <summary>Time chunks of <see cref="SelectiveScan.ChunkLength"/> steps (the last may be shorter).</summary>
    public int Chunks => (Time + SelectiveScan.ChunkLength - 1) / SelectiveScan.ChunkLength;

    /// <summary>Floats of the states kept at the start of every chunk, [batch, chunks, N, channels].</summary>
    public int ChunkStatesLength => checked(Batch * Chunks * State * Channels);

    /// <summary>Floats of one state per sequence, [batch, N, channels] in <see cref="TableIndex"/>'s layout.</summary>
    public int StateLength => checked(Batch * State * Channels);

    /// <summary>Channels per block of a table in <see cref="TableIndex"/>'s layout: the widest vector's.</summary>
    public const int BlockWidth = 16;

    /// <summary>
    /// Where (state s, channel c) lies in one sequence's [N, channels] table, the layout of the decay rates and of the
    /// carried state: blocks of <see cref="BlockWidth"/> channels one after the other, each [N, block width] (the last block
    /// narrower when the channels do not fill it). A vector of channels then finds its N rows side by side, where a plain
    /// [N, channels] table puts them a row of channels apart (a stride the hardware prefetchers do not follow), and the
    /// channels [c0, c1) of a table, c0 a multiple of the block width and c1 one too or the last channel, are the
    /// elements [c0·N, c1·N): a table of their own.
    /// </summary>
    public long TableIndex(int s, int c) => TableRow(c) + (long)s * TableStride(c);

    /// <summary>Where sequence b's state s of channel c lies in a [batch, N, channels] state: its own table (<see cref="TableIndex"/>).</summary>
    public long StateIndex(int b, int s, int c) => (long)b * State * Channels + TableIndex(s, c);

    /// <summary>Where channel c's value of state 0 lies in a table (<see cref="TableIndex"/>).</summary>
    public long TableRow(int c)
    {
        int block = c - c % BlockWidth;
        return (long)block * State + (c - block);
    }

    /// <summary>How far apart channel c's values of consecutive states lie in a table (<see cref="TableIndex"/>): its block's width.</summary>
    public int TableStride(int c)
    {
        int block = c - c % BlockWidth;
        return Math.Min(BlockWidth, Channels - block);
    }
}

/// <summary>
/// The inputs of a selective scan, for rows r = (b, t) of a [batch, time] grid:
/// x [rows, channels] (u_t, the conv's SiLU output); delta [rows, channels], Δ's pre-activation (Δ = softplus(delta));
/// rates [N, channels] (in <see cref="SelectiveScanShape.TableIndex"/>'s layout), A = -exp(A_log) tabulated by <see cref="SelectiveScan.Rates"/> (a parameter's values, so a
/// caller that steps one character at a time tabulates them once); bc, rows <paramref name="bcStride"/> apart, holding B_t in
/// columns 0..N-1 and C_t in N..2N-1 (the span starts at B of row 0: Mamba's x_proj output past its Δ columns);
/// d [channels] (D); z, rows <paramref name="zStride"/> apart, the gate in columns 0..channels-1 (in_proj's z half).
/// </summary>
internal readonly ref struct SelectiveScanInputs(ReadOnlySpan<float> x, ReadOnlySpan<float> delta, ReadOnlySpan<float> rates,
    ReadOnlySpan<float> bc, int bcStride, ReadOnlySpan<float> d, ReadOnlySpan<float> z, int zStride)
{
    public ReadOnlySpan<float> X { get; } = x;
    public ReadOnlySpan<float> Delta { get; } = delta;
    public ReadOnlySpan<float> Rates { get; } = rates;
    public ReadOnlySpan<float> BC { get; } = bc;
    public int BCStride { get; } = bcStride;
    public ReadOnlySpan<float> D { get; } = d;
    public ReadOnlySpan<float> Z { get; } = z;
    public int ZStride { get; } = zStride;
}

/// <summary>
/// Where a selective scan's backward writes dL/d(each input), laid out as <see cref="SelectiveScanInputs"/> (bc with its
/// stride, z with its own), and dL/d A_log [channels, N] for the rates. X, Delta, BC and Z are overwritten; ALog and D,
/// parameters, are accumulated into.
/// </summary>
internal readonly ref struct SelectiveScanGradients(Span<float> x, Span<float> delta, Span<float> aLog, Span<float> bc, Span<float> d, Span<float> z)
{
    public Span<float> X { get; } = x;
    public Span<float> Delta { get; } = delta;
    public Span<float> ALog { get; } = aLog;
    public Span<float> BC { get; } = bc;
    public Span<float> D { get; } = d;
    public Span<float> Z { get; } = z;
}
