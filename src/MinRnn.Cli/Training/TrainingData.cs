using System.Security.Cryptography;
using MinRnn.Data;

namespace MinRnn.Cli.Training;

/// <summary>Finds the corpus a command reads: --data, the data a run recorded, or Tiny Shakespeare from the verified download cache.</summary>
internal static class TrainingData
{
    /// <summary>The path of the text to use: <paramref name="data"/> when given, else the cached (downloaded if needed) Tiny Shakespeare.</summary>
    public static string Locate(string? data, CancellationToken cancellation)
    {
        if (data is not null) return data;
        var source = new TinyShakespeare();
        if (!File.Exists(source.CachePath)) Console.Error.WriteLine($"minrnn: downloading Tiny Shakespeare to {source.CachePath} ...");
        try
        {
            return source.FetchAsync(cancellation).GetAwaiter().GetResult();
        }
        catch (DownloadException e)
        {
            throw new DownloadException($"{e.Message}; pass --data FILE to use a local text file.", e);
        }
    }

    /// <summary>
    /// The text to evaluate <paramref name="checkpoint"/> on when no --data is given: the data recorded in the run.json
    /// beside it, provided the file is still there and unchanged (its SHA-256); Tiny Shakespeare when there is no run.json.
    /// </summary>
    /// <exception cref="UsageException">The recorded file is missing or has changed since the run.</exception>
    public static string ForCheckpoint(string checkpoint, CancellationToken cancellation)
    {
        string runDirectory = Path.GetDirectoryName(Path.GetFullPath(checkpoint))!;
        if (RunManifest.Load(runDirectory) is not { } run) return Locate(null, cancellation);
        if (run.DataSource == TinyShakespeare.CanonicalUrl) return Locate(null, cancellation);
        string path = run.DataSource;
        if (!File.Exists(path))
            throw new UsageException($"{path}, the data the run in {runDirectory} was trained on, no longer exists; pass --data FILE.");
        string sha256 = Sha256(path);
        if (sha256 != run.DataSha256)
            throw new UsageException($"{path} has changed since the run in {runDirectory} was trained on it (SHA-256 {sha256[..12]}… vs {run.DataSha256[..12]}…); pass --data {path} to evaluate on it as it is now.");
        return path;
    }

    /// <summary>SHA-256 of a file, lower-case hex: identifies the data a run was trained on.</summary>
    public static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}
