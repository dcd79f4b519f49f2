namespace MinRnn.Layers;

/// <summary>The two minimal recurrent cells of Feng et al. (2024).</summary>
public enum MinRnnCell
{
    /// <summary>minGRU: one linear map gives the gate k and the candidate u (2H pre-activations).</summary>
    MinGru,
    /// <summary>minLSTM: one linear map gives forget p, input k and candidate u (3H pre-activations).</summary>
    MinLstm,
}

/// <summary>How the recurrence h_t = a_t h_{t-1} + b_t is evaluated over the sequence.</summary>
public enum ScanAlgorithm
{
    /// <summary>The log-space scan of the paper (spec §2), as a running log-sum-exp per channel.</summary>
    LogSpace,
    /// <summary>The plain linear-space recurrence, one multiply-add per step.</summary>
    Sequential,
}

/// <summary>Facts about a cell that callers need to size buffers.</summary>
public static class MinRnnCells
{
    /// <summary>Pre-activations per hidden unit: 2 for minGRU (k, u), 3 for minLSTM (p, k, u).</summary>
    public static int Gates(this MinRnnCell cell) => cell switch
    {
        MinRnnCell.MinGru => 2,
        MinRnnCell.MinLstm => 3,
        _ => throw new ArgumentOutOfRangeException(nameof(cell), cell, "Unknown cell."),
    };

    /// <summary>A short display name: "minGRU" or "minLSTM".</summary>
    public static string DisplayName(this MinRnnCell cell) => cell == MinRnnCell.MinGru ? "minGRU" : "minLSTM";
}
