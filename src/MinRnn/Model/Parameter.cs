namespace MinRnn.Model;

/// <summary>A named trainable tensor with its gradient, laid out as in PyTorch (spec §5).</summary>
internal sealed class Parameter
{
    /// <summary>Creates a zero-filled parameter and gradient of the given shape.</summary>
    public Parameter(string name, int[] shape, bool decay)
    {
        Name = name;
        Shape = shape;
        long size = 1;
        foreach (int d in shape) size *= d;
        Value = new float[size];
        Gradient = new float[size];
        Decay = decay;
    }

    /// <summary>The checkpoint name, e.g. "layers.0.gate_hidden.weight".</summary>
    public string Name { get; }
    /// <summary>The shape, outermost first.</summary>
    public int[] Shape { get; }
    /// <summary>The values, row-major.</summary>
    public float[] Value { get; }
    /// <summary>dLoss/dValue, accumulated by the backward pass.</summary>
    public float[] Gradient { get; }
    /// <summary>Whether AdamW's weight decay applies (matrices and embeddings; not biases or norm weights).</summary>
    public bool Decay { get; }
}
