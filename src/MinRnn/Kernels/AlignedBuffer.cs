using System.Runtime.InteropServices;

namespace MinRnn.Kernels;

/// <summary>
/// A 64-byte aligned native scratch buffer that grows on demand, zeroed when it grows (as a new array is), and is kept per
/// thread or per owner. Aligned so that a vector of the widest width never straddles two cache lines: a managed array's
/// elements start 16 bytes into a line, which makes every 64-byte load and store of a scratch row a split access.
/// </summary>
internal sealed unsafe class AlignedBuffer
{
    float* data;
    long capacity;

    /// <summary>At least <paramref name="floats"/> floats, 64-byte aligned; the contents are whatever the last user left.</summary>
    public float* Get(long floats)
    {
        if (floats > capacity)
        {
            if (data != null) NativeMemory.AlignedFree(data);
            data = (float*)NativeMemory.AlignedAlloc((nuint)(floats * sizeof(float)), 64);
            NativeMemory.Clear(data, (nuint)(floats * sizeof(float)));
            capacity = floats;
        }
        return data;
    }

    ~AlignedBuffer()
    {
        if (data != null) NativeMemory.AlignedFree(data);
    }
}
