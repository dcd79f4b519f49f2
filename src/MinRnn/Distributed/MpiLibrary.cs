using System.Runtime.InteropServices;

namespace MinRnn.Distributed;

/// <summary>
/// The few functions of Open MPI's C API that data-parallel training needs, bound at run time from <c>libmpi.so.40</c>: the
/// library is loaded only by a process that mpirun started, so a machine without MPI trains in one process as before.
/// Open MPI's handles (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, ...) are the addresses of global objects the library exports.
/// </summary>
internal sealed unsafe class MpiLibrary
{
    /// <summary>The shared library of Open MPI 4 and 5 (the ABI its soname names).</summary>
    public const string FileName = "libmpi.so.40";

    /// <summary>MPI_IN_PLACE in Open MPI: the send buffer is the receive buffer.</summary>
    static readonly nint InPlace = 1;

    readonly delegate* unmanaged<int*, nint*, int> init;
    readonly delegate* unmanaged<int*, int> initialized;
    readonly delegate* unmanaged<int> finalize;
    readonly delegate* unmanaged<nint, int*, int> commRank, commSize;
    readonly delegate* unmanaged<nint, nint, int, nint, nint, nint, int> allReduce;
    readonly delegate* unmanaged<nint, int, nint, int, nint, int> broadcast;
    readonly delegate* unmanaged<nint, int> barrier;
    readonly delegate* unmanaged<nint, int, int> abort;
    readonly nint world, floatType, doubleType, intType, byteType, sum, max;

    MpiLibrary(nint library)
    {
        nint Export(string name) => NativeLibrary.GetExport(library, name);
        init = (delegate* unmanaged<int*, nint*, int>)Export("MPI_Init");
        initialized = (delegate* unmanaged<int*, int>)Export("MPI_Initialized");
        finalize = (delegate* unmanaged<int>)Export("MPI_Finalize");
        commRank = (delegate* unmanaged<nint, int*, int>)Export("MPI_Comm_rank");
        commSize = (delegate* unmanaged<nint, int*, int>)Export("MPI_Comm_size");
        allReduce = (delegate* unmanaged<nint, nint, int, nint, nint, nint, int>)Export("MPI_Allreduce");
        broadcast = (delegate* unmanaged<nint, int, nint, int, nint, int>)Export("MPI_Bcast");
        barrier = (delegate* unmanaged<nint, int>)Export("MPI_Barrier");
        abort = (delegate* unmanaged<nint, int, int>)Export("MPI_Abort");
        world = Export("ompi_mpi_comm_world");
        floatType = Export("ompi_mpi_float");
        doubleType = Export("ompi_mpi_double");
        intType = Export("ompi_mpi_int");
        byteType = Export("ompi_mpi_byte");
        sum = Export("ompi_mpi_op_sum");
        max = Export("ompi_mpi_op_max");
    }

    /// <summary>The environment variable that names another file for the library (an Open MPI installed elsewhere).</summary>
    public const string PathVariable = "MINRNN_MPI_LIBRARY";

    /// <summary>Loads the library (<see cref="PathVariable"/>, else <see cref="FileName"/> from the system's paths) and calls MPI_Init.</summary>
    /// <exception cref="DllNotFoundException">Open MPI's library is not installed, or is not Open MPI.</exception>
    public static MpiLibrary Initialize()
    {
        string file = Environment.GetEnvironmentVariable(PathVariable) ?? FileName;
        MpiLibrary mpi;
        try
        {
            nint handle = NativeLibrary.Load(file);
            mpi = new MpiLibrary(handle);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException)
        {
            throw new DllNotFoundException($"{file} (Open MPI) could not be loaded ({e.GetType().Name}); install Open MPI ('apt-get install openmpi-bin'), or name its libmpi.so.40 in {PathVariable}.");
        }
        int done;
        mpi.initialized(&done);
        if (done == 0) Check(mpi.init(null, null), "MPI_Init");
        return mpi;
    }

    public int Rank
    {
        get
        {
            int rank;
            Check(commRank(world, &rank), "MPI_Comm_rank");
            return rank;
        }
    }

    public int Size
    {
        get
        {
            int size;
            Check(commSize(world, &size), "MPI_Comm_size");
            return size;
        }
    }

    /// <summary>x = Σ over ranks of x, in place.</summary>
    public void SumInPlace(Span<float> x)
    {
        fixed (float* p = x) Check(allReduce(InPlace, (nint)p, x.Length, floatType, sum, world), "MPI_Allreduce");
    }

    /// <summary>x = Σ over ranks of x, in place.</summary>
    public void SumInPlace(Span<double> x)
    {
        fixed (double* p = x) Check(allReduce(InPlace, (nint)p, x.Length, doubleType, sum, world), "MPI_Allreduce");
    }

    /// <summary>x = max over ranks of x, in place.</summary>
    public void MaxInPlace(Span<int> x)
    {
        fixed (int* p = x) Check(allReduce(InPlace, (nint)p, x.Length, intType, max, world), "MPI_Allreduce");
    }

    /// <summary>Every rank's <paramref name="bytes"/> become rank <paramref name="root"/>'s.</summary>
    public void Broadcast(Span<byte> bytes, int root)
    {
        fixed (byte* p = bytes) Check(broadcast((nint)p, bytes.Length, byteType, root, world), "MPI_Bcast");
    }

    public void Barrier() => Check(barrier(world), "MPI_Barrier");

    /// <summary>Ends every rank of the job with <paramref name="exitCode"/> (mpirun kills the others).</summary>
    public void Abort(int exitCode) => abort(world, exitCode);

    public void Close() => Check(finalize(), "MPI_Finalize");

    static void Check(int code, string function)
    {
        if (code != 0) throw new InvalidOperationException($"{function} failed with MPI error code {code}.");
    }
}
