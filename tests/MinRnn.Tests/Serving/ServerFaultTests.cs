using System.Net.Http.Json;
using System.Text;
using MinRnn.Cli.Serving;

namespace MinRnn.Tests.Serving;

/// <summary>Runs alone, so that the managed heap it measures is its own.</summary>
[CollectionDefinition(nameof(ServerFaultTests), DisableParallelization = true)]
public sealed class ServerFaultCollection;

/// <summary>
/// 200 requests from 32 concurrent clients on a real loopback socket, with clients that leave mid-stream and a share of
/// malformed bodies: the server stays up, every well-formed request completes or is cancelled, no stream is left
/// active, and the managed heap ends where it began. Bounded in count and time.
/// </summary>
[Collection(nameof(ServerFaultTests))]
public sealed class ServerFaultTests(ServerApiTests.Models models) : IClassFixture<ServerApiTests.Models>
{
    const int Requests = 200, Clients = 32;

    enum Outcome { Completed, Cancelled, Refused }

    [Fact]
    public async Task TheServerSurvivesDisconnectsAndMalformedRequestsAndLeaksNothing()
    {
        await using var server = await RunningServer.KestrelAsync(models.Served, ServeOptions.Defaults with { MaxConcurrent = 256 });
        await Run(server, count: 40, seed: 1); // warm-up: code paths, pools and buffers
        await server.AssertNoActiveStreamsAsync();
        long before = Heap();

        var outcomes = await Run(server, Requests, seed: 2);

        Assert.Equal(Requests, outcomes.Count);
        Assert.True(outcomes.Count(o => o == Outcome.Completed) > Requests / 3, string.Join(", ", outcomes.GroupBy(o => o).Select(g => $"{g.Key} {g.Count()}")));
        Assert.Contains(Outcome.Cancelled, outcomes);
        Assert.Contains(Outcome.Refused, outcomes);
        await server.AssertNoActiveStreamsAsync();
        Assert.Equal("ok", (await server.Client.GetFromJsonAsync<Dictionary<string, object>>("/health"))!["status"].ToString());
        long after = Heap();
        Assert.True(after <= 1.2 * before, $"managed heap {before:N0} bytes before, {after:N0} after");
    }

    static long Heap()
    {
        for (int i = 0; i < 3; i++)
        {
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
        }
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    /// <summary>
    /// <paramref name="count"/> requests over <see cref="Clients"/> concurrent clients: about a fifth malformed, a quarter
    /// abandoned after their first events, the rest read to the end (streamed or whole). Each client has a deadline.
    /// </summary>
    static async Task<List<Outcome>> Run(RunningServer server, int count, int seed)
    {
        var random = new Random(seed);
        var plans = Enumerable.Range(0, count).Select(_ => (Kind: random.Next(10), Tokens: random.Next(20, 400), Seed: random.Next())).ToList();
        var outcomes = new List<Outcome>();
        int next = -1;
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await Task.WhenAll(Enumerable.Range(0, Clients).Select(async _ =>
        {
            for (int i = Interlocked.Increment(ref next); i < count; i = Interlocked.Increment(ref next))
            {
                var outcome = await Send(server.Client, plans[i], deadline.Token);
                lock (outcomes) outcomes.Add(outcome);
            }
        }));
        return outcomes;
    }

    static async Task<Outcome> Send(HttpClient client, (int Kind, int Tokens, int Seed) plan, CancellationToken deadline)
    {
        string body = plan.Kind switch
        {
            0 => "{\"model\": \"tiny\", \"prompt\": \"A\", \"max_tokens\": ",
            1 => $"{{\"model\": \"tiny\", \"prompt\": \"A\", \"max_tokens\": {plan.Tokens}, \"temperature\": \"warm\"}}",
            _ => $"{{\"model\": \"tiny\", \"prompt\": \"To be\", \"max_tokens\": {plan.Tokens}, \"seed\": {plan.Seed}, \"stream\": {(plan.Kind < 7 ? "true" : "false")}}}",
        };
        using var leave = CancellationTokenSource.CreateLinkedTokenSource(deadline);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        try
        {
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, leave.Token);
            if ((int)response.StatusCode is >= 400 and < 500) return Outcome.Refused;
            Assert.True(response.IsSuccessStatusCode, $"status {(int)response.StatusCode} for {body}");
            var reader = new StreamReader(await response.Content.ReadAsStreamAsync(leave.Token));
            bool abandon = plan.Kind is 2 or 3;
            string? line;
            int lines = 0;
            while ((line = await reader.ReadLineAsync(leave.Token)) is not null)
            {
                if (abandon && ++lines == 3) leave.Cancel(); // the client goes away mid-stream
                if (line == "data: [DONE]" || line.StartsWith("{\"id\"", StringComparison.Ordinal)) return Outcome.Completed;
            }
            return Outcome.Completed;
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or HttpRequestException
                                   && leave.IsCancellationRequested && !deadline.IsCancellationRequested)
        {
            return Outcome.Cancelled;
        }
    }
}
