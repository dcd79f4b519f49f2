using System.Threading.Channels;
using MinRnn.Model;

namespace MinRnn.Cli.Serving;

/// <summary>
/// Continuous batching for one model, on a thread of its own. Every iteration admits the streams that arrived (each
/// prompt read in a forward of its own, from a zero state), then advances every active stream by one character in a
/// single batched step. A stream leaves as soon as it stops, reaches its length, or its client goes away: its slot is
/// freed at once and nothing more is computed for it. Each stream samples with its own generator, and a step computes
/// every row as it would alone, so a seeded request gives the same text beside any number of others.
/// </summary>
internal sealed class StreamScheduler : IDisposable
{
    readonly ServedModel served;
    readonly StreamSlots slots;
    readonly ServerMetrics metrics;
    readonly Channel<GenerationStream[]> incoming = Channel.CreateUnbounded<GenerationStream[]>(new UnboundedChannelOptions { SingleReader = true });
    readonly Thread thread;
    readonly List<GenerationStream> active = [];
    readonly List<(GenerationStream Stream, RecurrentState State)> joining = [];
    readonly Dictionary<GenerationStream, int> slotOf = [];
    RecurrentState? state;
    volatile bool cutting;

    public StreamScheduler(ServedModel served, StreamSlots slots, ServerMetrics metrics)
    {
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
            if (changed) Rebatch();
            Step();
        }
    }

    /// <summary>Reads the prompt of every queued stream and samples its first character; returns whether any joined.</summary>
    bool Admit(ChannelReader<GenerationStream[]> reader)
    {
        bool joined = false;
        while (reader.TryRead(out var streams))
        {
            foreach (var stream in streams) joined |= Admit(stream);
        }
        return joined;
    }

    bool Admit(GenerationStream stream)
    {
        if (stream.Cancellation.IsCancellationRequested || cutting)
        {
            Drop(stream);
            return false;
        }
        var single = new RecurrentState(served.Model.Config, 1);
        var logits = served.Model.Forward(stream.Tokens, 1, stream.Tokens.Length, state: single);
        stream.Start(logits);
        metrics.Generated(served.Name, characters: 1, batch: null);
        if (stream.Finished)
        {
            Release();
            return false;
        }
        joining.Add((stream, single));
        active.Add(stream);
        return true;
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
        var fresh = joining.ToDictionary(j => j.Stream, j => j.State);
        for (int row = 0; row < active.Count; row++)
        {
            var stream = active[row];
            if (fresh.TryGetValue(stream, out var own)) next.CopyStream(row, own);
            else next.CopyStream(row, state!, slotOf[stream]);
        }
        joining.Clear();
        slotOf.Clear();
        for (int row = 0; row < active.Count; row++) slotOf[active[row]] = row;
        state = next;
    }

    /// <summary>One character for every active stream: one batched step, then each stream samples from its row.</summary>
    void Step()
    {
        int v = served.Vocabulary.Count;
        var tokens = new int[active.Count];
        for (int row = 0; row < active.Count; row++) tokens[row] = active[row].Next;
        var logits = served.Model.Step(tokens, state!, served.Weights);
        for (int row = 0; row < active.Count; row++) active[row].Accept(logits.Slice(row * v, v));
        metrics.Generated(served.Name, characters: active.Count, batch: active.Count);
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
