using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using MinRnn.Cli.Serving;

namespace MinRnn.Cli.Bench;

/// <summary>
/// <c>minrnn serve</c>'s server for one model on a free loopback port, and its speed as streaming clients in this process
/// see it. A run starts every client at once, each asking for the same number of characters with a seed of its own, and
/// ends at the last <c>data: [DONE]</c>; a client count is measured by runs repeated for a set time after a third as long
/// of untimed runs, which also open the connections the timed runs reuse.
/// </summary>
internal sealed class ServeBench : IAsyncDisposable
{
    /// <summary>The length of every request's prompt, in characters.</summary>
    public const int PromptLength = 100;

    /// <summary>Fewer timed runs than this would make a poor median, however long each takes.</summary>
    const int MinRuns = 3;

    /// <summary>
    /// The figures of one client count. The rate is the median over runs of the characters received divided by the time
    /// from the first request sent to the last <c>[DONE]</c>. The percentiles (nearest rank) pool every client of every
    /// timed run: time to first character from sending the request to the first event with text; the gap between
    /// characters as <see cref="StreamingClient.Trace.Gaps"/> counts it.
    /// </summary>
    public sealed record Result(int Clients, int Runs, double CharactersPerSecond,
        double FirstCharacterP50Ms, double FirstCharacterP99Ms, double GapP50Ms, double GapP99Ms);

    readonly WebApplication app;
    readonly HttpClient http;
    readonly string model, prompt;
    readonly int characters;
    ulong seed;

    ServeBench(WebApplication app, string address, ServedModel served, int characters)
    {
        this.app = app;
        Address = address;
        model = served.Name;
        prompt = string.Concat(Enumerable.Range(0, PromptLength).Select(i => served.Vocabulary[i % served.Vocabulary.Count].ToString()));
        this.characters = characters;
        // One client object for all, as a real client application would hold; a proxy would measure something else.
        http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = new Uri(address + "/") };
    }

    /// <summary>Where the server listens, e.g. http://127.0.0.1:40123.</summary>
    public string Address { get; }

    /// <summary>Starts serving <paramref name="served"/> for up to <paramref name="maxClients"/> streams of <paramref name="characters"/> characters each.</summary>
    public static async Task<ServeBench> StartAsync(ServedModel served, int maxClients, int characters)
    {
        var options = ServeOptions.Defaults with
        {
            Host = "127.0.0.1", Port = 0, MaxConcurrent = maxClients,
            MaxTokens = Math.Max(characters, ServeOptions.Defaults.MaxTokens), ShutdownGrace = TimeSpan.Zero,
        };
        var app = ServerApp.Build(new Dictionary<string, ServedModel> { [served.Name] = served }, options,
            builder => builder.Services.AddSingleton<IHostLifetime, CommandLifetime>());
        await app.StartAsync();
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new ServeBench(app, address, served, characters);
    }

    /// <summary>Measures <paramref name="clients"/> concurrent clients for <paramref name="duration"/> of timed runs (at least three).</summary>
    public async Task<Result> MeasureAsync(int clients, TimeSpan duration)
    {
        long warmStart = Stopwatch.GetTimestamp();
        do await RunAsync(clients);
        while (Stopwatch.GetElapsedTime(warmStart) < duration / 3);

        var rates = new List<double>();
        var firsts = new List<double>();
        var gaps = new List<double>();
        long start = Stopwatch.GetTimestamp();
        while (rates.Count < MinRuns || Stopwatch.GetElapsedTime(start) < duration)
        {
            var traces = await RunAsync(clients);
            double wall = Stopwatch.GetElapsedTime(traces.Min(t => t.Sent), traces.Max(t => t.Done)).TotalSeconds;
            rates.Add(traces.Sum(t => t.Characters) / wall);
            foreach (var trace in traces)
            {
                firsts.Add(Stopwatch.GetElapsedTime(trace.Sent, trace.FirstCharacter).TotalSeconds);
                gaps.AddRange(trace.Gaps);
            }
        }
        return new Result(clients, rates.Count, BenchTimer.Median([.. rates]),
            1e3 * BenchTimer.Percentile([.. firsts], 50), 1e3 * BenchTimer.Percentile([.. firsts], 99),
            // With no gap at all every response came whole in its first event (a small model, a short response): nothing waited.
            gaps.Count == 0 ? 0 : 1e3 * BenchTimer.Percentile([.. gaps], 50), gaps.Count == 0 ? 0 : 1e3 * BenchTimer.Percentile([.. gaps], 99));
    }

    /// <summary>One run: every client sends its request at once and reads its stream to the end.</summary>
    Task<StreamingClient.Trace[]> RunAsync(int clients) =>
        Task.WhenAll(Enumerable.Range(0, clients).Select(_ => StreamingClient.CompleteAsync(http, model, prompt, characters, seed++)).ToArray());

    public async ValueTask DisposeAsync()
    {
        http.Dispose();
        await app.StopAsync();
        await app.DisposeAsync();
    }

    /// <summary>
    /// Leaves Ctrl+C and SIGTERM alone: the server lives exactly as long as the benchmark, so a signal ends the process as
    /// it ends any other command, instead of asking the server to stop while its clients still wait on it.
    /// </summary>
    sealed class CommandLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
