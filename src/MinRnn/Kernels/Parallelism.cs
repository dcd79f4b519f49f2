namespace MinRnn.Kernels;

/// <summary>
/// The engine's threads: a fixed team of <see cref="Threads"/> threads (the caller plus dedicated
/// workers) that run one job together, OpenMP style. Work is split into contiguous ranges by thread
/// index, so a fixed thread count always gives the same partition and the same results.
/// </summary>
internal static class Parallelism
{
    static readonly object gate = new();
    static WorkerTeam team = new(Environment.ProcessorCount);

    /// <summary>How many threads kernels use (default: all processors). Set it before a run.</summary>
    public static int Threads
    {
        get => team.Size;
        set
        {
            if (value < 1 || value > 256)
                throw new ArgumentOutOfRangeException(nameof(value), value, "Parallelism.Threads: the thread count must be between 1 and 256.");
            lock (gate)
            {
                if (value == team.Size) return;
                team.Dispose();
                team = new WorkerTeam(value);
            }
        }
    }

    /// <summary>
    /// Runs <paramref name="body"/> on every thread of the team at once and returns when all are done.
    /// Calls from inside a job, or while another caller holds the team, run on the calling thread alone.
    /// </summary>
    internal static void Run(Action<WorkerContext> body)
    {
        if (WorkerTeam.InsideJob || !Monitor.TryEnter(gate))
        {
            RunInline(body);
            return;
        }
        try { team.Run(body); }
        finally { Monitor.Exit(gate); }
    }

    /// <summary>Splits [0, count) into one contiguous range per thread and runs <c>body(start, end)</c> on each.</summary>
    internal static void For(int count, Action<int, int> body)
    {
        if (count <= 0) return;
        if (count == 1 || Threads == 1) { body(0, count); return; }
        Run(ctx =>
        {
            var (start, end) = ctx.Range(count);
            if (start < end) body(start, end);
        });
    }

    static void RunInline(Action<WorkerContext> body)
    {
        bool outer = WorkerTeam.InsideJob;
        WorkerTeam.InsideJob = true;
        try { body(new WorkerContext(0, 1, null)); }
        finally { WorkerTeam.InsideJob = outer; }
    }
}

/// <summary>One thread's view of a team job: its index, the team size, and a barrier.</summary>
internal readonly struct WorkerContext(int index, int count, SpinBarrier? barrier)
{
    /// <summary>This thread's index, 0 .. Count-1 (0 is the caller).</summary>
    public int Index { get; } = index;
    /// <summary>Threads in the job.</summary>
    public int Count { get; } = count;

    /// <summary>This thread's share of [0, total): contiguous, fixed by Index and Count.</summary>
    public (int Start, int End) Range(int total) =>
        ((int)((long)total * Index / Count), (int)((long)total * (Index + 1) / Count));

    /// <summary>Waits until every thread of the job has reached this point.</summary>
    public void Sync() => barrier?.SignalAndWait();
}

/// <summary>A sense-reversing spin barrier; it throws if another thread of the job failed.</summary>
internal sealed class SpinBarrier(int participants)
{
    readonly int participants = participants;
    int remaining = participants;
    volatile int phase;
    volatile bool faulted;

    public void Fault() => faulted = true;

    /// <summary>Whether a thread of a job failed while at this barrier's jobs: its count may be off, so it is not reused.</summary>
    public bool Faulted => faulted;

    public void SignalAndWait()
    {
        int myPhase = phase;
        if (Interlocked.Decrement(ref remaining) == 0)
        {
            remaining = participants;
            phase = myPhase + 1;
            return;
        }
        var spin = new ShortSpin();
        while (phase == myPhase)
        {
            if (faulted) throw new OperationCanceledException("Another thread of the job failed.");
            spin.Once();
        }
    }
}

/// <summary>
/// Waiting for another core that is about to arrive: threads of one job finish within microseconds of each
/// other, so the first waits are single pauses (a few tens of nanoseconds, where SpinWait starts at several
/// hundred and doubles), and a longer wait falls back to SpinWait's backoff, which also yields the core to
/// the process's other threads (a server's, say) when there are more of them than cores.
/// </summary>
internal struct ShortSpin
{
    const int Pauses = 256; // a few microseconds

    int count;
    SpinWait backoff;

    public void Once()
    {
        if (count++ < Pauses) Thread.SpinWait(1);
        else backoff.SpinOnce(sleep1Threshold: -1);
    }
}

/// <summary>
/// The caller plus Size-1 dedicated background threads that wait for jobs. Between jobs a worker spins
/// for a short while before it sleeps on its semaphore: waking a sleeping thread costs tens of
/// microseconds, as much as a whole generation step's share of work, and jobs often come back to back.
/// </summary>
internal sealed class WorkerTeam : IDisposable
{
    [ThreadStatic] internal static bool InsideJob;

    static readonly long SpinTicks = System.Diagnostics.Stopwatch.Frequency / 5_000; // 200 µs

    readonly Thread[] workers;
    readonly SemaphoreSlim[] start;
    readonly int[] sleeping;
    Action<WorkerContext>? job;
    SpinBarrier barrier;
    Exception? failure;
    int pending;
    long sequence; // jobs posted so far
    volatile bool stopping;

    public int Size { get; }

    public WorkerTeam(int size)
    {
        Size = size;
        barrier = new SpinBarrier(size);
        workers = new Thread[size - 1];
        start = new SemaphoreSlim[size - 1];
        sleeping = new int[size - 1];
        for (int i = 0; i < workers.Length; i++)
        {
            int index = i + 1;
            start[i] = new SemaphoreSlim(0);
            workers[i] = new Thread(() => Loop(index)) { IsBackground = true, Name = $"minrnn-worker-{index}" };
            workers[i].Start();
        }
    }

    public void Run(Action<WorkerContext> body)
    {
        job = body;
        if (barrier.Faulted) barrier = new SpinBarrier(Size);
        failure = null;
        pending = Size - 1;
        Post();
        Execute(0);
        var spin = new ShortSpin();
        while (Volatile.Read(ref pending) > 0) spin.Once();
        job = null;
        if (failure is not null)
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(failure).Throw();
    }

    /// <summary>Announces a new job (or the stop): spinning workers see the sequence move, sleeping ones are woken.</summary>
    void Post()
    {
        Interlocked.Increment(ref sequence);
        for (int i = 0; i < start.Length; i++)
            if (Interlocked.CompareExchange(ref sleeping[i], 0, 1) == 1) start[i].Release();
    }

    void Execute(int index)
    {
        InsideJob = true;
        try { job!(new WorkerContext(index, Size, barrier)); }
        catch (Exception e)
        {
            Interlocked.CompareExchange(ref failure, e, null);
            barrier.Fault();
        }
        finally { InsideJob = false; }
    }

    void Loop(int index)
    {
        long seen = 0;
        while (true)
        {
            WaitForPost(index - 1, seen);
            seen = Volatile.Read(ref sequence);
            if (stopping) return;
            Execute(index);
            Interlocked.Decrement(ref pending);
        }
    }

    /// <summary>
    /// Returns once the sequence differs from <paramref name="seen"/>: spins for <see cref="SpinTicks"/>, then
    /// marks itself sleeping and waits on its semaphore. The mark comes before the last look at the
    /// sequence, so a post either is seen there or finds the mark and releases the semaphore; a release
    /// that finds the worker already awake only makes a later wait return early, and the loop looks again.
    /// </summary>
    void WaitForPost(int worker, long seen)
    {
        long deadline = System.Diagnostics.Stopwatch.GetTimestamp() + SpinTicks;
        int spins = 0; // the clock costs more than a spin: read it every 32nd
        while (Volatile.Read(ref sequence) == seen)
        {
            if ((++spins & 31) != 0 || System.Diagnostics.Stopwatch.GetTimestamp() < deadline)
            {
                Thread.SpinWait(1);
                continue;
            }
            Interlocked.Exchange(ref sleeping[worker], 1);
            if (Volatile.Read(ref sequence) == seen) start[worker].Wait();
            Interlocked.Exchange(ref sleeping[worker], 0);
            deadline = System.Diagnostics.Stopwatch.GetTimestamp() + SpinTicks;
        }
    }

    public void Dispose()
    {
        stopping = true;
        Post();
    }
}
