namespace MinRnn;

/// <summary>The vector width a kernel runs with: 512, 256 or 128 bits, or plain scalar code.</summary>
public enum SimdWidth
{
    /// <summary>One float at a time, no vector instructions.</summary>
    Scalar = 1,
    /// <summary>Vector128: 4 floats (SSE / NEON).</summary>
    Bits128 = 4,
    /// <summary>Vector256: 8 floats (AVX2).</summary>
    Bits256 = 8,
    /// <summary>Vector512: 16 floats (AVX-512).</summary>
    Bits512 = 16,
}
