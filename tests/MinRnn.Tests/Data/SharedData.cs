using MinRnn.Data;

namespace MinRnn.Tests.Data;

/// <summary>Provides Tiny Shakespeare to the real-data tests (it is never committed to the repository).</summary>
internal static class SharedData
{
    const string Relative = "shared/data/tinyshakespeare.txt";

    /// <summary>
    /// The nearest <c>shared/data/tinyshakespeare.txt</c> above the test binaries, else what <c>minrnn train</c> uses:
    /// the verified copy in the download cache, downloaded (checksum-verified) when the cache has none. Fails the
    /// test with one line saying what to do when there is no copy and the download fails.
    /// </summary>
    public static string TinyShakespearePath()
    {
        try
        {
            return Locate(AppContext.BaseDirectory, new TinyShakespeare());
        }
        catch (DownloadException e)
        {
            Assert.Fail(e.Message);
            return "";
        }
    }

    /// <summary>
    /// The first <see cref="Relative"/> in <paramref name="start"/> or a folder above it, else <paramref name="source"/>'s
    /// cached or freshly downloaded copy.
    /// </summary>
    /// <exception cref="DownloadException">Neither copy exists and the download failed: one line naming both places.</exception>
    public static string Locate(string start, TinyShakespeare source)
    {
        for (var directory = new DirectoryInfo(start); directory is not null; directory = directory.Parent)
        {
            string candidate = Path.Combine(directory.FullName, Relative);
            if (File.Exists(candidate)) return candidate;
        }
        try
        {
            return source.FetchAsync().GetAwaiter().GetResult();
        }
        catch (DownloadException e)
        {
            throw new DownloadException(
                $"Tiny Shakespeare is neither in {Relative} above {start} nor in the cache {source.CachePath}, and {e.Message}; " +
                "copy tinyshakespeare.txt to either place (or set MINRNN_CACHE to a folder that holds it), or allow the download.", e);
        }
    }
}
