using MinRnn.Kernels;

namespace MinRnn;

/// <summary>The process-wide settings of the compute engine that every <see cref="CharModel"/> shares.</summary>
public static class Engine
{
    /// <summary>
    /// How many threads the kernels use (1 to 256; default: all processors). The same thread count gives the same
    /// results bit for bit. Set it before a run: it applies to the whole process, from the next parallel operation.
    /// An operation that finds the threads busy with another model's runs on its own thread alone (with the results
    /// of one thread).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is outside 1 to 256.</exception>
    public static int Threads
    {
        get => Parallelism.Threads;
        set => Parallelism.Threads = value;
    }

    /// <summary>The vector width the kernels use on this processor: the widest it runs in hardware.</summary>
    public static SimdWidth VectorWidth => Simd.Best;
}
