using MinRnn.Data;

namespace MinRnn.Tests.Data;

/// <summary>Finds Tiny Shakespeare for the real-data tests (it is never committed to the repository).</summary>
internal static class SharedData
{
    const string Relative = "shared/data/tinyshakespeare.txt";

    /// <summary>
    /// The nearest <c>shared/data/tinyshakespeare.txt</c> above the test binaries (CI's copy), else the copy
    /// that <c>minrnn train</c> downloads into its cache; fails the test, saying how to get one, when neither exists.
    /// </summary>
    public static string TinyShakespearePath()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            string candidate = Path.Combine(directory.FullName, Relative);
            if (File.Exists(candidate)) return candidate;
        }
        string cached = new TinyShakespeare().CachePath;
        if (File.Exists(cached)) return cached;
        Assert.Fail($"Tiny Shakespeare not found: no {Relative} above {AppContext.BaseDirectory} and no {cached}; " +
                    "run 'minrnn train' once to download it, or copy it to either place.");
        return "";
    }
}
