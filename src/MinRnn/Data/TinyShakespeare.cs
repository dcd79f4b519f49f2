using System.Security.Cryptography;

namespace MinRnn;

/// <summary>
/// Fetches Tiny Shakespeare, the default corpus, into a cache directory. The file is downloaded once
/// to a temporary file beside its final name, checked against the expected length and SHA-256, then
/// renamed into place, so the cache never holds a partial or corrupt copy; a cached copy is checked
/// again before each use and fetched afresh when it fails. The source, checksum, length, cache
/// directory and HTTP client can all be replaced (tests point them at a local server).
/// </summary>
public sealed class TinyShakespeare
{
    /// <summary>Karpathy's char-rnn copy, the corpus of the paper's Shakespeare experiment.</summary>
    public const string CanonicalUrl = "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt";

    /// <summary>The canonical file's size in bytes (all ASCII, so also its length in characters).</summary>
    public const long CanonicalLength = 1_115_394;

    /// <summary>The canonical file's SHA-256, lowercase hexadecimal.</summary>
    public const string CanonicalSha256 = "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed";

    /// <summary>The name of the cached file inside <see cref="CacheDirectory"/>.</summary>
    public const string FileName = "tinyshakespeare.txt";

    /// <summary>Where the file is fetched from.</summary>
    public Uri Url { get; init; } = new(CanonicalUrl);

    /// <summary>The size in bytes the fetched file must have.</summary>
    public long ExpectedLength { get; init; } = CanonicalLength;

    /// <summary>The SHA-256 the fetched file must have, hexadecimal (either case).</summary>
    public string ExpectedSha256 { get; init; } = CanonicalSha256;

    /// <summary>The directory that holds the cached file; <see cref="DefaultCacheDirectory()"/> unless set.</summary>
    public string CacheDirectory { get; init; } = DefaultCacheDirectory();

    /// <summary>The client to download with; null creates (and disposes) a default one per fetch.</summary>
    public HttpClient? Client { get; init; }

    /// <summary>The limit on one whole download, from the request to the last byte.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>The path of the cached file.</summary>
    public string CachePath => Path.Combine(CacheDirectory, FileName);

    /// <summary>
    /// <c>$MINRNN_CACHE</c> if set; otherwise <c>$XDG_CACHE_HOME/minrnn</c>, or <c>~/.cache/minrnn</c> on
    /// Linux and other Unix systems; otherwise (Windows, macOS) <c>minrnn</c> under the local
    /// application data folder.
    /// </summary>
    public static string DefaultCacheDirectory() => DefaultCacheDirectory(Environment.GetEnvironmentVariable);

    internal static string DefaultCacheDirectory(Func<string, string?> environment)
    {
        if (environment("MINRNN_CACHE") is { Length: > 0 } explicitDirectory) return explicitDirectory;
        // The XDG base-directory specification ignores relative paths.
        if (environment("XDG_CACHE_HOME") is { Length: > 0 } xdg && Path.IsPathRooted(xdg)) return Path.Combine(xdg, "minrnn");
        string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        if (!OperatingSystem.IsWindows() && !OperatingSystem.IsMacOS() && home.Length > 0)
            return Path.Combine(home, ".cache", "minrnn");
        return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData), "minrnn");
    }

    /// <summary>The path of a verified copy of the file, downloading it first unless the cache holds one.</summary>
    /// <exception cref="DownloadException">The download failed or the file did not verify; nothing is left in the cache.</exception>
    public async Task<string> FetchAsync(CancellationToken cancellationToken = default)
    {
        string path = CachePath;
        if (File.Exists(path))
        {
            if (await IsIntactAsync(path, cancellationToken)) return path;
            File.Delete(path);
        }
        Directory.CreateDirectory(CacheDirectory);
        // Unique per fetch, so concurrent fetches never write the same file; the rename within one
        // directory is atomic, so a reader sees either no file or a whole verified one.
        string partial = Path.Combine(CacheDirectory, $".{FileName}.{Guid.NewGuid():N}.partial");
        try
        {
            await DownloadAsync(partial, cancellationToken);
            File.Move(partial, path, overwrite: true);
            return path;
        }
        finally
        {
            File.Delete(partial);
        }
    }

    async Task<bool> IsIntactAsync(string path, CancellationToken cancellationToken)
    {
        if (new FileInfo(path).Length != ExpectedLength) return false;
        await using var file = File.OpenRead(path);
        byte[] hash = await SHA256.HashDataAsync(file, cancellationToken);
        return MatchesExpected(hash);
    }

    bool MatchesExpected(byte[] sha256) => Convert.ToHexStringLower(sha256).Equals(ExpectedSha256, StringComparison.OrdinalIgnoreCase);

    async Task DownloadAsync(string destination, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(Timeout);
        var client = Client ?? new HttpClient();
        long received = 0;
        try
        {
            using var response = await client.GetAsync(Url, HttpCompletionOption.ResponseHeadersRead, deadline.Token);
            if (!response.IsSuccessStatusCode) throw Failure($"HTTP {(int)response.StatusCode} {response.ReasonPhrase}".TrimEnd());
            if (response.Content.Headers.ContentLength is long announced && announced != ExpectedLength)
                throw Failure($"the server announced {announced} bytes, expected {ExpectedLength}");

            await using var body = await response.Content.ReadAsStreamAsync(deadline.Token);
            await using var file = new FileStream(destination, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true);
            using var sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var buffer = new byte[1 << 16];
            while (true)
            {
                int n;
                try
                {
                    n = await body.ReadAsync(buffer, deadline.Token);
                }
                catch (IOException e)
                {
                    throw Failure($"the connection closed after {received} of {ExpectedLength} bytes: {OneLine(e.Message)}", e);
                }
                if (n == 0) break;
                received += n;
                if (received > ExpectedLength) throw Failure($"the file is larger than the expected {ExpectedLength} bytes");
                sha256.AppendData(buffer, 0, n);
                await file.WriteAsync(buffer.AsMemory(0, n), deadline.Token);
            }
            if (received != ExpectedLength) throw Failure($"received {received} bytes, expected {ExpectedLength}");
            byte[] hash = sha256.GetHashAndReset();
            if (!MatchesExpected(hash))
                throw Failure($"SHA-256 mismatch: got {Convert.ToHexStringLower(hash)}, expected {ExpectedSha256.ToLowerInvariant()}; the file was discarded");
        }
        catch (HttpRequestException e)
        {
            throw Failure(OneLine(e.Message), e);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            // Our deadline, or the injected client's own timeout.
            string reason = deadline.IsCancellationRequested ? $"timed out after {Timeout.TotalSeconds:0.###} s" : "timed out";
            throw Failure($"{reason}, {received} of {ExpectedLength} bytes received", e);
        }
        finally
        {
            if (Client is null) client.Dispose();
        }
    }

    DownloadException Failure(string reason, Exception? inner = null) =>
        new($"could not download Tiny Shakespeare from {Url} ({reason})", inner);

    static string OneLine(string message) =>
        string.Join(' ', message.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}
