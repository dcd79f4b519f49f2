namespace MinRnn.Tests.Data;

/// <summary>Finds the datasets kept beside the repository (never committed to it).</summary>
internal static class SharedData
{
    const string Relative = "shared/data/tinyshakespeare.txt";

    /// <summary>The nearest <c>shared/data/tinyshakespeare.txt</c> above the test binaries; fails the test when there is none.</summary>
    public static string TinyShakespearePath()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            string candidate = Path.Combine(directory.FullName, Relative);
            if (File.Exists(candidate)) return candidate;
        }
        Assert.Fail($"no {Relative} in {AppContext.BaseDirectory} or any directory above it; the real-data tests need Tiny Shakespeare there.");
        return "";
    }
}
