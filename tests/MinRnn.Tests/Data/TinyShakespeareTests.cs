using System.Security.Cryptography;
using MinRnn.Data;

namespace MinRnn.Tests.Data;

public class TinyShakespeareTests
{
    static readonly byte[] Body = Enumerable.Range(0, 5000).Select(i => (byte)('a' + i * 7 % 26)).ToArray();
    static readonly string BodySha256 = Convert.ToHexStringLower(SHA256.HashData(Body));

    /// <summary>A client that never consults a proxy, so requests stay on loopback.</summary>
    static HttpClient DirectClient() => new(new SocketsHttpHandler { UseProxy = false });

    static TinyShakespeare Source(Uri url, TempDirectory cache, HttpClient client, string? sha256 = null, TimeSpan? timeout = null) => new()
    {
        Url = url,
        ExpectedLength = Body.Length,
        ExpectedSha256 = sha256 ?? BodySha256,
        CacheDirectory = cache.Path,
        Client = client,
        Timeout = timeout ?? TimeSpan.FromSeconds(10),
    };

    /// <summary>Fetches expecting failure; checks the message is one line with the advice and that the cache holds nothing.</summary>
    static async Task<string> FetchFails(TinyShakespeare source, TempDirectory cache)
    {
        var e = await Assert.ThrowsAsync<DownloadException>(() => source.FetchAsync());
        Assert.StartsWith($"could not download Tiny Shakespeare from {source.Url} (", e.Message);
        Assert.EndsWith(")", e.Message);
        Assert.DoesNotContain('\n', e.Message);
        Assert.Empty(cache.Files());
        return e.Message;
    }

    [Fact]
    public void CanonicalConstantsDescribeTheSharedCopy()
    {
        byte[] real = File.ReadAllBytes(SharedData.TinyShakespearePath());
        Assert.Equal(TinyShakespeare.CanonicalLength, real.Length);
        Assert.Equal(TinyShakespeare.CanonicalSha256, Convert.ToHexStringLower(SHA256.HashData(real)));
        var defaults = new TinyShakespeare();
        Assert.Equal(new Uri(TinyShakespeare.CanonicalUrl), defaults.Url);
        Assert.Equal(TinyShakespeare.CanonicalLength, defaults.ExpectedLength);
        Assert.Equal(TinyShakespeare.CanonicalSha256, defaults.ExpectedSha256);
    }

    [Fact]
    public async Task DownloadsVerifiesAndCaches()
    {
        using var cache = new TempDirectory();
        using var client = DirectClient();
        await using var server = new LoopbackHttpServer(new Reply(200, Body));
        var source = Source(server.Url, cache, client);

        string path = await source.FetchAsync();
        Assert.Equal(source.CachePath, path);
        Assert.Equal(Body, File.ReadAllBytes(path));
        Assert.Equal([TinyShakespeare.FileName], cache.Files());

        Assert.Equal(path, await source.FetchAsync()); // served from the cache
        Assert.Equal(1, server.Requests);
    }

    [Fact]
    public async Task CorruptCacheIsFetchedAgain()
    {
        using var cache = new TempDirectory();
        using var client = DirectClient();
        await using var server = new LoopbackHttpServer(new Reply(200, Body));
        var source = Source(server.Url, cache, client);
        var corrupt = (byte[])Body.Clone();
        corrupt[1234] ^= 1; // same length, different checksum
        File.WriteAllBytes(source.CachePath, corrupt);

        Assert.Equal(Body, File.ReadAllBytes(await source.FetchAsync()));
        Assert.Equal(1, server.Requests);
    }

    [Fact]
    public async Task WrongChecksumKeepsNothing()
    {
        using var cache = new TempDirectory();
        using var client = DirectClient();
        await using var server = new LoopbackHttpServer(new Reply(200, Body));
        string expected = new('0', 64);
        string message = await FetchFails(Source(server.Url, cache, client, expected), cache);
        Assert.Contains($"(SHA-256 mismatch: got {BodySha256}, expected {expected}; the file was discarded)", message);
    }

    [Fact]
    public async Task HttpErrorNamesTheStatus()
    {
        using var cache = new TempDirectory();
        using var client = DirectClient();
        await using var server = new LoopbackHttpServer(new Reply(404, "no such file"u8.ToArray()));
        Assert.Contains("(HTTP 404 Not Found)", await FetchFails(Source(server.Url, cache, client), cache));
    }

    [Fact]
    public async Task ConnectionCutMidBodyLeavesNoPartialFile()
    {
        using var cache = new TempDirectory();
        using var client = DirectClient();
        await using var server = new LoopbackHttpServer(new Reply(200, Body[..2000], DeclaredLength: Body.Length));
        Assert.Contains("(the connection closed after 2000 of 5000 bytes: ", await FetchFails(Source(server.Url, cache, client), cache));
    }

    [Fact]
    public async Task WrongAnnouncedLengthIsRefusedBeforeTheBody()
    {
        using var cache = new TempDirectory();
        using var client = DirectClient();
        await using var server = new LoopbackHttpServer(new Reply(200, Body[..100]));
        Assert.Contains("(the server announced 100 bytes, expected 5000)", await FetchFails(Source(server.Url, cache, client), cache));
    }

    [Fact]
    public async Task UnreachableServerSaysSo()
    {
        using var cache = new TempDirectory();
        using var client = DirectClient();
        string message = await FetchFails(Source(LoopbackHttpServer.Unreachable(), cache, client), cache);
        Assert.Contains("refused", message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task SilentServerTimesOut()
    {
        using var cache = new TempDirectory();
        using var client = DirectClient();
        await using var server = new LoopbackHttpServer(new Reply(200, Body, Hang: true));
        string message = await FetchFails(Source(server.Url, cache, client, timeout: TimeSpan.FromMilliseconds(300)), cache);
        Assert.Contains("(timed out after 0.3 s, 0 of 5000 bytes received)", message);
    }

    [Fact]
    public void CacheDirectoryFollowsTheEnvironment()
    {
        string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        Func<string, string?> env(params (string Name, string Value)[] set) =>
            name => set.FirstOrDefault(v => v.Name == name).Value;

        Assert.Equal("/data/cache", TinyShakespeare.DefaultCacheDirectory(env(("MINRNN_CACHE", "/data/cache"), ("XDG_CACHE_HOME", "/xdg"))));
        if (OperatingSystem.IsLinux())
        {
            Assert.Equal(Path.Combine("/xdg", "minrnn"), TinyShakespeare.DefaultCacheDirectory(env(("XDG_CACHE_HOME", "/xdg"))));
            Assert.Equal(Path.Combine(home, ".cache", "minrnn"), TinyShakespeare.DefaultCacheDirectory(env(("XDG_CACHE_HOME", "relative"))));
            Assert.Equal(Path.Combine(home, ".cache", "minrnn"), TinyShakespeare.DefaultCacheDirectory(env()));
        }
    }
}
