namespace MinRnn;

/// <summary>
/// The recurrent cells: the two minimal cells of Feng et al. (2024), trained with a scan, and the
/// classic GRU and LSTM they are compared with, trained by backpropagation through time.
/// </summary>
public enum RecurrentCell
{
    /// <summary>minGRU: one linear map gives the gate k and the candidate u (2H pre-activations).</summary>
    MinGru,
    /// <summary>minLSTM: one linear map gives forget p, input k and candidate u (3H pre-activations).</summary>
    MinLstm,
    /// <summary>PyTorch's GRU: gates r, z, n from x and from h_{t-1} (3H pre-activations each).</summary>
    Gru,
    /// <summary>PyTorch's LSTM: gates i, f, g, o from x and from h_{t-1} (4H pre-activations each).</summary>
    Lstm,
}
