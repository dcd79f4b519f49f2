using Prometheus;

namespace MinRnn.Cli.Serving;

/// <summary>
/// What <c>GET /metrics</c> exports in Prometheus's text format (prometheus-net): requests by status, streams active,
/// characters generated and the batch size of each step. Each server has its own registry.
/// </summary>
internal sealed class ServerMetrics
{
    readonly Counter requests, characters;
    readonly Gauge activeStreams;
    readonly Histogram batchSize;

    public ServerMetrics()
    {
        var factory = Metrics.WithCustomRegistry(Registry);
        requests = factory.CreateCounter("minrnn_http_requests_total", "HTTP requests answered, by status code.", "status");
        activeStreams = factory.CreateGauge("minrnn_active_streams", "Streams admitted and not yet finished.");
        characters = factory.CreateCounter("minrnn_generated_characters_total", "Characters generated, by model.", "model");
        batchSize = factory.CreateHistogram("minrnn_batch_size", "Streams advanced together by one generation step, by model.",
            new HistogramConfiguration { LabelNames = ["model"], Buckets = [1, 2, 4, 8, 16, 32, 64, 128, 256] });
    }

    public CollectorRegistry Registry { get; } = Metrics.NewCustomRegistry();

    public void Answered(int status) => requests.WithLabels(status.ToString(System.Globalization.CultureInfo.InvariantCulture)).Inc();

    public void StreamsStarted(int count) => activeStreams.Inc(count);

    public void StreamEnded() => activeStreams.Dec();

    public void Generated(string model, int characters, int? batch)
    {
        this.characters.WithLabels(model).Inc(characters);
        if (batch is { } size) batchSize.WithLabels(model).Observe(size);
    }
}
