using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using MinRnn.Tests.Serving;

namespace MinRnn.Tests.Cli;

/// <summary><c>minrnn serve</c> as a user runs it: the addresses it prints, a clean stop on SIGTERM, and bad input.</summary>
public sealed class ServeCommandTests : IDisposable
{
    readonly ServedModels models = new();

    public void Dispose() => models.Dispose();

    [Fact]
    public async Task ItPrintsItsAddressesAndSigtermEndsOpenStreamsAndExitsZero()
    {
        using var process = CliRunner.Start("serve", "--checkpoint", $"poet={models.Checkpoint}", "--port", "0", "--threads", "1", "--max-tokens", "1000000");
        using var stopped = CliRunner.KillWhenDone(process);
        var error = process.StandardError.ReadToEndAsync();
        string? line;
        Uri? api = null;
        var header = new List<string>();
        var limit = TimeSpan.FromSeconds(30);
        while (api is null && (line = await process.StandardOutput.ReadLineAsync().WaitAsync(limit)) is not null)
        {
            header.Add(line);
            if (Regex.Match(line, @"^API\s+(http://127\.0\.0\.1:\d+/v1)$") is { Success: true } match) api = new Uri(match.Groups[1].Value);
        }
        if (api is null) Assert.Fail($"no API address in: {string.Join('\n', header)} {await error.WaitAsync(limit)}");
        Assert.Contains(header, l => l.StartsWith("serving   poet", StringComparison.Ordinal));
        Assert.Contains(header, l => Regex.IsMatch(l, @"^page\s+http://127\.0\.0\.1:\d+/$"));

        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false });
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(api, "v1/completions"))
        {
            Content = JsonContent.Create(new { model = "poet", prompt = "A", max_tokens = 1_000_000, stream = true }),
        };
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).WaitAsync(limit);
        var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        Assert.StartsWith("data: ", await reader.ReadLineAsync().WaitAsync(limit));

        var stopwatch = Stopwatch.StartNew();
        using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString()])) await kill.WaitForExitAsync().WaitAsync(limit);
        string rest = await reader.ReadToEndAsync().WaitAsync(limit);
        Assert.EndsWith("data: [DONE]\n\n", rest);
        Assert.Contains("\"finish_reason\":\"length\"", rest);
        Assert.True(process.WaitForExit(TimeSpan.FromSeconds(20)), "the server did not exit");
        Assert.Equal(0, process.ExitCode);
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(15), $"stopping took {stopwatch.Elapsed}");
        Assert.Equal("", (await error.WaitAsync(limit)).Trim());
    }

    [Fact]
    public void BadInputIsOneLineAndNonZero()
    {
        CliRunner.AssertOneLineError(CliRunner.Run("serve", "--checkpoint", "/nonexistent/best.safetensors", "--port", "0"), 1, "best.safetensors");
        CliRunner.AssertOneLineError(CliRunner.Run("serve", "--checkpoint", models.Checkpoint, "--chat-names", "robot=R2", "--port", "0"), 2, "--chat-names");
        CliRunner.AssertOneLineError(CliRunner.Run("serve", "--checkpoint", $"a={models.Checkpoint}", "--checkpoint", $"a={models.Checkpoint}", "--port", "0"), 2, "two checkpoints are named 'a'");
        CliRunner.AssertOneLineError(CliRunner.Run("serve", "--checkpoint", models.Checkpoint, "--port", "70000"), 2, "--port");
        CliRunner.AssertOneLineError(CliRunner.Run("serve"), 2, "--checkpoint");

        using var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        taken.Start();
        int port = ((System.Net.IPEndPoint)taken.LocalEndpoint).Port;
        CliRunner.AssertOneLineError(CliRunner.Run("serve", "--checkpoint", models.Checkpoint, "--port", port.ToString()), 1, $"could not listen on 127.0.0.1:{port}");
    }
}
