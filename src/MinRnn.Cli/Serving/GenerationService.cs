using System.Threading.Channels;

namespace MinRnn.Cli.Serving;

/// <summary>Admits requests: takes their stream slots, makes their streams and hands them to their model's scheduler.</summary>
internal sealed class GenerationService : IDisposable
{
    readonly Dictionary<string, StreamScheduler> schedulers;
    readonly StreamSlots slots;
    readonly ServerMetrics metrics;
    volatile bool stopping;

    public GenerationService(IReadOnlyDictionary<string, ServedModel> models, ServeOptions options, ServerMetrics metrics)
    {
        slots = new StreamSlots(options.MaxConcurrent);
        this.metrics = metrics;
        schedulers = models.ToDictionary(m => m.Key, m => new StreamScheduler(m.Value, slots, metrics));
    }

    /// <summary>Streams admitted and not yet finished, over every model.</summary>
    public int ActiveStreams => slots.Used;

    /// <summary>
    /// Starts the request's streams and returns the channel their text arrives on, in order per choice, each choice
    /// ending with an event that holds its finish reason. Leaving <paramref name="aborted"/> cancelled stops them.
    /// </summary>
    /// <exception cref="ApiException">503 while the server stops; 400 when the request alone exceeds the stream limit;
    /// 429 (with Retry-After) while the limit is reached.</exception>
    public ChannelReader<StreamEvent> Start(GenerationRequest request, CancellationToken aborted)
    {
        if (stopping) throw new ApiException(503, "the server is shutting down.", null, "server_shutting_down", "server_error");
        int streams = request.Streams;
        if (streams > slots.Capacity)
            throw ApiException.Invalid("n", $"the request needs {streams} streams (prompts × n) but this server runs at most {slots.Capacity} at once (--max-concurrent).");
        if (!slots.TryTake(streams))
            throw new ApiException(429, $"the server is generating its limit of {slots.Capacity} streams (--max-concurrent); retry in a moment.", null, "rate_limit_exceeded", "rate_limit_error");
        metrics.StreamsStarted(streams);
        var channel = Channel.CreateUnbounded<StreamEvent>(new UnboundedChannelOptions { SingleReader = true });
        var streamsOfRequest = new GenerationStream[streams];
        for (int choice = 0; choice < streams; choice++)
        {
            var (text, tokens) = request.Prompts[choice / request.N];
            streamsOfRequest[choice] = new GenerationStream(choice, text, tokens, request, channel.Writer, aborted);
        }
        schedulers[request.Model.Name].Submit(streamsOfRequest);
        return channel.Reader;
    }

    /// <summary>Refuses new requests; the open streams run on until <see cref="CutAll"/>.</summary>
    public void Stop() => stopping = true;

    /// <summary>Ends every open stream now.</summary>
    public void CutAll()
    {
        stopping = true;
        foreach (var scheduler in schedulers.Values) scheduler.CutAll();
    }

    public void Dispose()
    {
        foreach (var scheduler in schedulers.Values) scheduler.Dispose();
    }
}
