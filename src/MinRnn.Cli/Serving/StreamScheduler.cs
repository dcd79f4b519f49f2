using System.Threading.Channels;
using MinRnn.Kernels;
using MinRnn.Model;

namespace MinRnn.Cli.Serving;

/// <summary>
/// Continuous batching for one model, on a thread of its own. Every iteration admits the streams that arrived (their
/// prompts read from a zero state, those of one length in one batched forward), then advances every active stream by one
/// character in a single batched step. A stream leaves as soon as it stops, reaches its length, or its client goes away: its slot is
/// freed at once and nothing more is computed for it. Each stream samples with its own generator, and a step computes
/// every row as it would alone, so a seeded request gives the same text beside any number of others (a step's and a prompt forward's rows are
/// computed the same whatever the batch: tested).
/// </summary>
internal sealed class StreamScheduler : IDisposable
{
    readonly ServedModel served;
    readonly StreamSlots slots;
    readonly ServerMetrics metrics;
    readonly Channel<GenerationStream[]> incoming = Channel.CreateUnbounded<GenerationStream[]>(new UnboundedChannelOptions { SingleReader = true });
    readonly Thread thread;
    readonly List<GenerationStream> active = [];
    readonly List<(GenerationStream Stream, RecurrentState State, int Row)> joining = [];
    readonly Dictionary<GenerationStream, int> slotOf = [];
    readonly Action<int, int> acceptRows;
    RecurrentState? state;
    volatile bool cutting;

    public StreamScheduler(ServedModel served, StreamSlots slots, ServerMetrics metrics)
    {
        acceptRows = AcceptRows;
        this.served = served;
        this.slots = slots;
        this.metrics = metrics;
        thread = new Thread(Run) { IsBackground = true, Name = $"minrnn scheduler {served.Name}" };
        thread.Start();
    }

    /// <summary>Queues a request's streams, whose slots are already taken; they join the batch together before the next step.</summary>
    public void Submit(GenerationStream[] streams)
    {
        if (incoming.Writer.TryWrite(streams)) return;
        foreach (var stream in streams) Drop(stream);
    }

    /// <summary>Ends every open stream now, as at its length limit, and admits no more (the server is stopping).</summary>
    public void CutAll()
    {
        cutting = true;
        incoming.Writer.TryComplete();
    }

    void Run()
    {
        var reader = incoming.Reader;
        while (true)
        {
            if (active.Count == 0 && !reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult()) return;
            bool changed = Admit(reader);
            if (cutting)
            {
                foreach (var stream in active) Drop(stream);
                active.Clear();
                while (reader.TryRead(out var queued))
                    foreach (var stream in queued) Drop(stream);
                if (reader.Completion.IsCompleted) return;
                continue;
            }
            changed |= RemoveFinished();
            if (active.Count == 0) continue;
            try
            {
                if (changed) Rebatch();
                Step();
            }
            catch (Exception e) when (e is ArgumentException or NotFiniteNumberException or InvalidOperationException)
            {
                Fail(e, active);
                active.Clear();
                joining.Clear();
            }
        }
    }

    /// <summary>
    /// Ends <paramref name="streams"/> when the model fails on them (a checkpoint whose weights give NaN, say): their
    /// clients get a server error after what was generated, the server says why on stderr, and it serves on.
    /// </summary>
    void Fail(Exception e, IEnumerable<GenerationStream> streams)
    {
        Console.Error.WriteLine($"minrnn: serve: model '{served.Name}' failed ({e.Message.TrimEnd('.')}); its open streams were ended.");
        foreach (var stream in streams)
        {
            if (!stream.Finished) stream.Abort();
            Release();
        }
    }

    /// <summary>
    /// Reads the prompts of every queued stream and samples their first characters; returns whether any joined. Prompts
    /// of one length are read in one batched forward, which computes each row as a forward of its own would.
    /// </summary>
    bool Admit(ChannelReader<GenerationStream[]> reader)
    {
        var arrived = new List<GenerationStream>();
        while (reader.TryRead(out var streams))
            foreach (var stream in streams)
                if (stream.Cancellation.IsCancellationRequested || cutting) Drop(stream);
                else arrived.Add(stream);
        bool joined = false;
        foreach (var group in arrived.GroupBy(s => s.Tokens.Length))
        {
            var streams = group.ToArray();
            int length = group.Key, v = served.Vocabulary.Count;
            var tokens = new int[streams.Length * length];
            for (int i = 0; i < streams.Length; i++) streams[i].Tokens.CopyTo(tokens, i * length);
            var prompts = new RecurrentState(served.Model.Config, streams.Length);
            Span<float> logits;
            try
            {
                logits = served.Model.Forward(tokens, streams.Length, length, state: prompts);
            }
            catch (Exception e) when (e is ArgumentException or NotFiniteNumberException)
            {
                Fail(e, streams);
                continue;
            }
            for (int i = 0; i < streams.Length; i++)
            {
                streams[i].Start(logits.Slice(i * length * v, length * v));
                if (streams[i].Finished)
                {
                    Release();
                    continue;
                }
                joining.Add((streams[i], prompts, i));
                active.Add(streams[i]);
                joined = true;
            }
            metrics.Generated(served.Name, characters: streams.Length, batch: null);
        }
        return joined;
    }

    /// <summary>Drops finished and abandoned streams from the batch; returns whether any left.</summary>
    bool RemoveFinished()
    {
        int removed = active.RemoveAll(stream =>
        {
            if (!stream.Finished && !stream.Cancellation.IsCancellationRequested) return false;
            Release();
            return true;
        });
        return removed > 0;
    }

    /// <summary>A state for the streams now active: each keeps its row's state, newcomers bring theirs from their prompt.</summary>
    void Rebatch()
    {
        var next = new RecurrentState(served.Model.Config, active.Count);
        var fresh = joining.ToDictionary(j => j.Stream, j => (j.State, j.Row));
        for (int row = 0; row < active.Count; row++)
        {
            var stream = active[row];
            if (fresh.TryGetValue(stream, out var prompt)) next.CopyStream(row, prompt.State, prompt.Row);
            else next.CopyStream(row, state!, slotOf[stream]);
        }
        joining.Clear();
        slotOf.Clear();
        for (int row = 0; row < active.Count; row++) slotOf[active[row]] = row;
        state = next;
    }

    /// <summary>
    /// One character for every active stream: one batched step, then each stream samples from its row (split between
    /// the threads when there are many: each stream has its own sampler, so the split changes no result).
    /// </summary>
    void Step()
    {
        if (tokens.Length < active.Count) tokens = new int[active.Count];
        for (int row = 0; row < active.Count; row++) tokens[row] = active[row].Next;
        var rows = served.Model.Step(tokens.AsSpan(0, active.Count), state!, served.Weights);
        if (logits.Length < rows.Length) logits = new float[rows.Length];
        rows.CopyTo(logits);
        if (active.Count >= ParallelSampling) Parallelism.For(active.Count, acceptRows);
        else AcceptRows(0, active.Count);
        metrics.Generated(served.Name, characters: active.Count, batch: active.Count);
    }

    /// <summary>Streams from which sampling is split between the threads.</summary>
    const int ParallelSampling = 8;
    float[] logits = [];
    int[] tokens = [];

    void AcceptRows(int first, int end)
    {
        int v = served.Vocabulary.Count;
        for (int row = first; row < end; row++) active[row].Accept(logits.AsSpan(row * v, v));
    }

    /// <summary>Ends a stream that will not run on (its client is still there: it gets what was held back and "length").</summary>
    void Drop(GenerationStream stream)
    {
        if (!stream.Finished && !stream.Cancellation.IsCancellationRequested) stream.Cut();
        Release();
    }

    void Release()
    {
        slots.Release(1);
        metrics.StreamEnded();
    }

    public void Dispose()
    {
        CutAll();
        thread.Join(TimeSpan.FromSeconds(10));
    }
}
