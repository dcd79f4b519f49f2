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

    /// <summary>Floats of one state per sequence, [batch, N, channels].</summary>
    public int StateLength => checked(Batch * State * Channels);
}

/// <summary>
/// The inputs of a selective scan, for rows r = (b, t) of a [batch, time] grid:
/// x [rows, channels] (u_t, the conv's SiLU output); delta [rows, channels], Δ's pre-activation (Δ = softplus(delta));
/// rates [N, channels], A = -exp(A_log) tabulated by <see cref="SelectiveScan.Rates"/> (a parameter's values, so a
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
