namespace MinRnn.IO;

/// <summary>Replaces a file all at once, so that a reader (or a crash) never sees a half-written file.</summary>
internal static class AtomicFile
{
    /// <summary>
    /// Lets <paramref name="write"/> fill a temporary file in the same directory as <paramref name="path"/>, flushes it to
    /// disk, and renames it over <paramref name="path"/>. If anything fails the temporary file is deleted, the exception
    /// propagates, and whatever was at <paramref name="path"/> before is untouched.
    /// </summary>
    public static void Write(string path, Action<Stream> write)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(write);
        string target = Path.GetFullPath(path);
        // Same directory, hence same file system: the rename is atomic there, and a copy across devices never happens.
        // The leading dot keeps the temporary file out of globs such as *.safetensors.
        string temp = Path.Combine(Path.GetDirectoryName(target)!, $".{Path.GetFileName(target)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                write(stream);
                // Without this the rename could reach the disk before the data, and a power cut would leave an empty file.
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, target, overwrite: true);
        }
        catch
        {
            DeleteQuietly(temp);
            throw;
        }
    }

    /// <summary>
    /// Deletes the temporary files that writes into <paramref name="directory"/> left behind when the process was
    /// killed in the middle of one (".NAME.32-hex-digits.tmp"); other files are not touched. Returns how many.
    /// </summary>
    public static int RemoveLeftovers(string directory)
    {
        int removed = 0;
        foreach (string path in Directory.EnumerateFiles(directory, ".*.tmp"))
        {
            string name = Path.GetFileName(path);
            string[] parts = name[1..^".tmp".Length].Split('.');
            if (parts.Length < 2 || parts[^1].Length != 32 || !parts[^1].All(char.IsAsciiHexDigitLower)) continue;
            DeleteQuietly(path);
            removed++;
        }
        return removed;
    }

    /// <summary>Deletes a leftover temporary file; a failure here must not hide the exception that caused the cleanup.</summary>
    private static void DeleteQuietly(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The original exception is the one worth reporting; a stray hidden .tmp file is harmless.
        }
    }
}
