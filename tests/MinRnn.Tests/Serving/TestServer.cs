using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using MinRnn.Cli.Serving;

namespace MinRnn.Tests.Serving;

/// <summary>
/// A served model for the server tests: a small residual minGRU (untrained: the API's behaviour does not depend on the
/// weights) over the characters of a dialogue-like text, saved as a checkpoint with a loss curve beside it.
/// </summary>
internal sealed class ServedModels : IDisposable
{
    /// <summary>Letters of both cases, digits, punctuation, space and newline: what prompts and chat names need.</summary>
    public const string Characters = "\n !',-.:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    readonly string directory = Directory.CreateTempSubdirectory("minrnn-serve").FullName;

    public ServedModels()
    {
        string run = Directory.CreateDirectory(Path.Combine(directory, "tiny")).FullName;
        Checkpoint = Path.Combine(run, "best.safetensors");
        var model = CharModel.Create(Preset.Quick.Model with { Dim = 24, Layers = 1 }, Characters, seed: 11);
        model.Save(Checkpoint);
        File.WriteAllBytes(Path.Combine(run, "loss.png"), BlankLossCurve);
        Models = new Dictionary<string, ServedModel> { ["tiny"] = ServedModel.Load("tiny", Checkpoint) };
    }

    /// <summary>
    /// A valid 5x3 white PNG, the shape of a real loss curve: the playground shows it as an image of the right size
    /// rather than a broken one, and the untrained model has no curve to draw.
    /// </summary>
    static readonly byte[] BlankLossCurve = Convert.FromBase64String(
        "iVBORw0KGgoAAAANSUhEUgAAAAUAAAADCAAAAAB+XZokAAAADklEQVR42mP4DwIMSCQAhosO8iKEW2EAAAAASUVORK5CYII=");

    public string Checkpoint { get; }
    public IReadOnlyDictionary<string, ServedModel> Models { get; }

    public void Dispose() => Directory.Delete(directory, recursive: true);
}

/// <summary>A server for one test: in memory (TestHost) or on a real Kestrel loopback port.</summary>
internal sealed class RunningServer : IAsyncDisposable
{
    readonly WebApplication app;

    RunningServer(WebApplication app, HttpClient client)
    {
        this.app = app;
        Client = client;
    }

    public HttpClient Client { get; }

    /// <summary>The generation service, to watch its active streams.</summary>
    public GenerationService Service => app.Services.GetRequiredService<GenerationService>();

    /// <summary>The base address ("http://127.0.0.1:PORT") of a Kestrel server.</summary>
    public Uri Address => new(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());

    public static Task<RunningServer> InMemoryAsync(ServedModels models, ServeOptions? options = null) => InMemoryAsync(models.Models, options);

    public static async Task<RunningServer> InMemoryAsync(IReadOnlyDictionary<string, ServedModel> models, ServeOptions? options = null)
    {
        var app = ServerApp.Build(models, options ?? ServeOptions.Defaults, builder => builder.WebHost.UseTestServer());
        await app.StartAsync();
        return new RunningServer(app, app.GetTestClient());
    }

    public static async Task<RunningServer> KestrelAsync(ServedModels models, ServeOptions? options = null)
    {
        var app = ServerApp.Build(models.Models, (options ?? ServeOptions.Defaults) with { Port = 0 });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = new Uri(address) };
        return new RunningServer(app, client);
    }

    /// <summary>Waits until no stream is active, or fails after <paramref name="seconds"/>.</summary>
    public async Task AssertNoActiveStreamsAsync(double seconds = 10)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (Service.ActiveStreams != 0 && DateTime.UtcNow < deadline) await Task.Delay(20);
        Assert.Equal(0, Service.ActiveStreams);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
