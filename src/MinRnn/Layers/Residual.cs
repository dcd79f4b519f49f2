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
        if (!y.Overlaps(x)) x.CopyTo(y);
        else if (!Unsafe.AreSame(ref MemoryMarshal.GetReference(x), ref MemoryMarshal.GetReference(y)))
            throw new ArgumentException($"{op}: y partly overlaps x.");
        fixed (float* py = y) fixed (float* pb = branch)
            VectorJob.For(Blocks(x.Length), Block, new AddBlocks(py, pb, x.Length));
    }

    const int Block = 4096;
    static int Blocks(int length) => (length + Block - 1) / Block;

    /// <summary>y[i] += branch[i] over blocks of <see cref="Block"/> elements.</summary>
    readonly struct AddBlocks(float* y, float* branch, int length) : IVectorJob
    {
        public long BytesMoved(int count) => 12L * Math.Min((long)count * Block, length); // y and branch in, y out

        public void Run<TOps, TV>(int start, int end) where TOps : struct, ISimd<TV> where TV : struct
        {
            long first = (long)start * Block, last = Math.Min((long)end * Block, length);
            VectorOps.AddTo<TOps, TV>(y + first, branch + first, (int)(last - first));
        }
    }
}
