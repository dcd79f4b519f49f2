namespace MinRnn.Distributed;

/// <summary>
/// The processes that train one model together: one process alone, or the ranks mpirun started. Rank r of N takes its share
/// of every global batch; gradients, losses and evaluation sums are added across the ranks, so that every rank takes the
/// same optimiser step. A single process does none of this and needs no MPI.
/// </summary>
internal sealed class ProcessGroup : IDisposable
{
    readonly MpiLibrary? mpi;

    ProcessGroup(MpiLibrary? mpi)
    {
        this.mpi = mpi;
        Rank = mpi?.Rank ?? 0;
        Size = mpi?.Size ?? 1;
    }

    /// <summary>One process, alone.</summary>
    public static ProcessGroup Single { get; } = new(null);

    /// <summary>
    /// The environment variable a launcher sets when it starts this process as one of several: Open MPI's mpirun sets
    /// OMPI_COMM_WORLD_SIZE, MPICH's and Intel's PMI_SIZE (MPICH is not supported, but is recognised to say so).
    /// </summary>
    public static string? LauncherSize(Func<string, string?> environment) =>
        environment("OMPI_COMM_WORLD_SIZE") ?? environment("PMI_SIZE");

    /// <summary>This process's rank as the launcher gave it (OMPI_COMM_WORLD_RANK or PMI_RANK), or null outside a launcher: known even when MPI is not.</summary>
    public static int? LauncherRank(Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        return int.TryParse(environment("OMPI_COMM_WORLD_RANK") ?? environment("PMI_RANK"), out int rank) ? rank : null;
    }

    /// <summary>The ranks of mpirun when it started this process, else <see cref="Single"/>.</summary>
    /// <exception cref="DllNotFoundException">mpirun started this process but Open MPI's library cannot be loaded.</exception>
    public static ProcessGroup FromEnvironment(Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        if (LauncherSize(environment) is null) return Single;
        if (environment("OMPI_COMM_WORLD_SIZE") is null)
            throw new DllNotFoundException("started by an MPI launcher other than Open MPI's mpirun (PMI_SIZE is set); only Open MPI is supported.");
        return new ProcessGroup(MpiLibrary.Initialize());
    }

    /// <summary>This process's rank, 0 for the first (which alone writes files and prints progress).</summary>
    public int Rank { get; }

    /// <summary>The number of ranks.</summary>
    public int Size { get; }

    /// <summary>Whether there is more than one process.</summary>
    public bool IsDistributed => Size > 1;

    /// <summary>Whether this is rank 0.</summary>
    public bool IsFirst => Rank == 0;

    /// <summary>x = Σ over ranks, in place (nothing to do alone).</summary>
    public void Sum(Span<float> x)
    {
        if (IsDistributed) mpi!.SumInPlace(x);
    }

    /// <summary>x = Σ over ranks, in place.</summary>
    public void Sum(Span<double> x)
    {
        if (IsDistributed) mpi!.SumInPlace(x);
    }

    /// <summary>Whether <paramref name="value"/> is the same on every rank (rank 0's is sent to all and compared).</summary>
    public bool AllAgree(ulong value)
    {
        if (!IsDistributed) return true;
        Span<byte> bytes = stackalloc byte[sizeof(ulong)];
        BitConverter.TryWriteBytes(bytes, value);
        mpi!.Broadcast(bytes, root: 0);
        Span<int> differs = [BitConverter.ToUInt64(bytes) == value ? 0 : 1];
        mpi.MaxInPlace(differs);
        return differs[0] == 0;
    }

    /// <summary>Whether <paramref name="value"/> is true on any rank.</summary>
    public bool Any(bool value)
    {
        if (!IsDistributed) return value;
        Span<int> flag = [value ? 1 : 0];
        mpi!.MaxInPlace(flag);
        return flag[0] != 0;
    }

    /// <summary>Waits until every rank is here.</summary>
    public void Barrier() => mpi?.Barrier();

    /// <summary>Ends every rank of the job at once with <paramref name="exitCode"/>: one rank's failure must not leave the others waiting in a reduction.</summary>
    public void Abort(int exitCode) => mpi?.Abort(exitCode);

    /// <summary>Finalises MPI.</summary>
    public void Dispose() => mpi?.Close();
}
