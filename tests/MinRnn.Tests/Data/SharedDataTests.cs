using System.Security.Cryptography;
using MinRnn.Data;

namespace MinRnn.Tests.Data;

/// <summary>How the real-data tests obtain Tiny Shakespeare on a machine that may or may not have a copy.</summary>
public class SharedDataTests
{
    static readonly byte[] Body = Enumerable.Range(0, 3000).Select(i => (byte)('a' + i * 5 % 26)).ToArray();

    static TinyShakespeare Source(Uri url, TempDirectory cache) => new()
    {
        Url = url,
        ExpectedLength = Body.Length,
        ExpectedSha256 = Convert.ToHexStringLower(SHA256.HashData(Body)),
        CacheDirectory = cache.Path,
        Client = new HttpClient(new SocketsHttpHandler { UseProxy = false }),
        Timeout = TimeSpan.FromSeconds(10),
    };

    [Fact]
    public async Task TheSharedCopyAboveTheStartComesFirst()
    {
        using var tree = new TempDirectory();
        using var cache = new TempDirectory();
        string shared = Directory.CreateDirectory(Path.Combine(tree.Path, "shared", "data")).FullName;
        File.WriteAllBytes(Path.Combine(shared, "tinyshakespeare.txt"), Body);
        string start = Directory.CreateDirectory(Path.Combine(tree.Path, "repo", "tests", "bin")).FullName;
        await using var server = new LoopbackHttpServer(new Reply(200, Body));

        Assert.Equal(Path.Combine(shared, "tinyshakespeare.txt"), SharedData.Locate(start, Source(server.Url, cache)));
        Assert.Equal(0, server.Requests);
    }

    [Fact]
    public async Task WithoutACopyItDownloadsIntoTheCacheAndVerifies()
    {
        using var start = new TempDirectory();
        using var cache = new TempDirectory();
        await using var server = new LoopbackHttpServer(new Reply(200, Body));

        string path = SharedData.Locate(start.Path, Source(server.Url, cache));

        Assert.Equal(cache.File(TinyShakespeare.FileName), path);
        Assert.Equal(Body, File.ReadAllBytes(path));
        Assert.Equal(1, server.Requests);
        Assert.Equal(path, SharedData.Locate(start.Path, Source(server.Url, cache)));
        Assert.Equal(1, server.Requests); // the verified cached copy is used the second time
    }

    [Fact]
    public void WithoutACopyAndWithoutNetworkOneLineSaysWhatToDo()
    {
        using var start = new TempDirectory();
        using var cache = new TempDirectory();

        var e = Assert.Throws<DownloadException>(() => SharedData.Locate(start.Path, Source(LoopbackHttpServer.Unreachable(), cache)));

        Assert.DoesNotContain('\n', e.Message);
        Assert.Contains("shared/data/tinyshakespeare.txt", e.Message);
        Assert.Contains(cache.Path, e.Message);
        Assert.Contains("could not download Tiny Shakespeare", e.Message);
        Assert.EndsWith("copy tinyshakespeare.txt to either place (or set MINRNN_CACHE to a folder that holds it), or allow the download.", e.Message);
        Assert.Empty(cache.Files());
    }
}
