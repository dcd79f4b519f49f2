namespace MinRnn.Layers;

/// <summary>How the recurrence h_t = a_t h_{t-1} + b_t is evaluated over the sequence.</summary>
internal enum ScanAlgorithm
{
    /// <summary>The log-space scan of the paper (spec §2), as a running log-sum-exp per channel.</summary>
    LogSpace,
    /// <summary>The plain linear-space recurrence, one multiply-add per step.</summary>
    Sequential,
}

/// <summary>Facts about a cell that callers need to size buffers.</summary>
internal static class RecurrentCells
{
    /// <summary>Pre-activations per hidden unit: 2 for minGRU (k, u), 3 for minLSTM (p, k, u), 3 for GRU (r, z, n), 4 for LSTM (i, f, g, o).</summary>
    public static int Gates(this RecurrentCell cell) => cell switch
    {
        RecurrentCell.MinGru => 2,
        RecurrentCell.MinLstm => 3,
        RecurrentCell.Gru => 3,
        RecurrentCell.Lstm => 4,
        _ => throw new ArgumentOutOfRangeException(nameof(cell), cell, "Unknown cell."),
    };

    /// <summary>Whether the cell is one of the minimal cells (a scan over pre-activations from x alone).</summary>
    public static bool IsMinimal(this RecurrentCell cell) => cell is RecurrentCell.MinGru or RecurrentCell.MinLstm;

    /// <summary>A short display name: "minGRU", "minLSTM", "GRU" or "LSTM".</summary>
    public static string DisplayName(this RecurrentCell cell) => cell switch
    {
        RecurrentCell.MinGru => "minGRU",
        RecurrentCell.MinLstm => "minLSTM",
        RecurrentCell.Gru => "GRU",
        _ => "LSTM",
    };

    /// <summary>The name used on the command line and in checkpoints: "mingru", "minlstm", "gru" or "lstm".</summary>
    public static string Name(this RecurrentCell cell) => cell.DisplayName().ToLowerInvariant();

    /// <summary>The cell called <paramref name="name"/> (any case), or null.</summary>
    public static RecurrentCell? Parse(string name) =>
        Enum.GetValues<RecurrentCell>().Cast<RecurrentCell?>().FirstOrDefault(c => c!.Value.Name() == name.ToLowerInvariant());
}
