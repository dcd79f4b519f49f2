using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using MinRnn.Kernels;

namespace MinRnn.Layers;

/// <summary>The residual connection y = x + branch (y may be x or branch itself); its backward is the identity on both inputs.</summary>
internal static unsafe class Residual
{
    /// <summary>y = x + branch, element-wise.</summary>
    /// <exception cref="ArgumentException">The three buffers differ in length or are empty.</exception>
    public static void Add(ReadOnlySpan<float> x, ReadOnlySpan<float> branch, Span<float> y)
    {
        const string op = "Residual.Add";
        Check.Positive(op, ("length", x.Length));
        Check.Length(op, "branch", branch.Length, x.Length);
        Check.Length(op, "y", y.Length, x.Length);
        CheckAliasing(op, x, y);
        CheckAliasing(op, branch, y);
        fixed (float* px = x) fixed (float* py = y) fixed (float* pb = branch)
            VectorJob.For(Blocks(x.Length), Block, new AddBlocks(px, pb, py, x.Length));
    }

    /// <summary>Refuses an output that overlaps an input without being it: element i of y may only replace element i.</summary>
    internal static void CheckAliasing(string op, ReadOnlySpan<float> input, ReadOnlySpan<float> y)
    {
        if (y.Overlaps(input) && !Unsafe.AreSame(ref MemoryMarshal.GetReference(input), ref MemoryMarshal.GetReference(y)))
            throw new ArgumentException($"{op}: y partly overlaps an input.");
    }

    const int Block = 4096;
    static int Blocks(int length) => (length + Block - 1) / Block;

    /// <summary>y[i] = x[i] + branch[i] over blocks of <see cref="Block"/> elements, in one pass.</summary>
    readonly struct AddBlocks(float* x, float* branch, float* y, int length) : IVectorJob
    {
        public long BytesMoved(int count) => 12L * Math.Min((long)count * Block, length); // x and branch in, y out

        public void Run<TOps, TV>(int start, int end) where TOps : struct, ISimd<TV> where TV : struct
        {
            long first = (long)start * Block, last = Math.Min((long)end * Block, length);
            VectorOps.Add<TOps, TV>(x + first, branch + first, y + first, (int)(last - first));
        }
    }
}
