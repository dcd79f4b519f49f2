using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;
using static MinRnn.IO.FormatError;

namespace MinRnn.IO;

/// <summary>
/// A safetensors file opened for reading float32 tensors. <see cref="Open(string)"/> reads and validates the whole
/// header before anything else, so every later read is known to fit inside the file: a forged header can never make the
/// reader allocate more than the file holds. Not thread-safe: reads share one stream position.
/// </summary>
internal sealed class SafetensorsFile : IDisposable
{
    /// <summary>How many differences <see cref="CheckTensors"/> lists before summarising the rest.</summary>
    private const int MaxListedDifferences = 5;

    private readonly Stream _stream;
    private readonly bool _leaveOpen;
    private readonly long _dataStart;
    private readonly Dictionary<string, SafetensorsEntry> _byName;
    private bool _disposed;

    private SafetensorsFile(Stream stream, bool leaveOpen, string fileName, long dataStart, SafetensorsHeader header)
    {
        _stream = stream;
        _leaveOpen = leaveOpen;
        FileName = fileName;
        _dataStart = dataStart;
        Tensors = header.Tensors;
        Metadata = header.Metadata;
        _byName = header.Tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
    }

    /// <summary>The file's path, or the name given with the stream; every error message starts with it.</summary>
    public string FileName { get; }

    /// <summary>Every tensor in the file, sorted by name (ordinal).</summary>
    public IReadOnlyList<SafetensorsEntry> Tensors { get; }

    /// <summary>The header's <c>__metadata__</c> strings; empty when it has none.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Opens and validates the file at <paramref name="path"/>; a malformed file throws <see cref="InvalidDataException"/>.</summary>
    public static SafetensorsFile Open(string path) =>
        Open(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read), path, leaveOpen: false);

    /// <summary>
    /// Reads and validates a safetensors file that starts at the current position of <paramref name="stream"/> and runs
    /// to its end. <paramref name="fileName"/> names the source in error messages. Unless <paramref name="leaveOpen"/>,
    /// the stream is disposed with the returned object, or at once if opening fails.
    /// </summary>
    public static SafetensorsFile Open(Stream stream, string fileName, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(fileName);
        try
        {
            SafetensorsFormat.RequireLittleEndian();
            if (!stream.CanRead || !stream.CanSeek)
                throw new ArgumentException("SafetensorsFile: the stream must be readable and seekable.", nameof(stream));
            long origin = stream.Position;
            long length = stream.Length - origin;
            const int prefix = SafetensorsFormat.LengthPrefixBytes;
            if (length < prefix)
                throw Create(fileName, $"file is {length} bytes, too short for the {prefix}-byte header length");
            Span<byte> lengthBytes = stackalloc byte[prefix];
            ReadExactly(stream, lengthBytes, fileName, "the header length");
            ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes);
            // Both bounds are checked before the header is allocated, so a forged length costs nothing.
            if (headerLength > (ulong)SafetensorsFormat.MaxHeaderBytes)
                throw Create(fileName, $"header length {headerLength} exceeds the {SafetensorsFormat.MaxHeaderBytes}-byte limit");
            if (headerLength > (ulong)(length - prefix))
                throw Create(fileName, $"header length {headerLength} runs past the end of the {length}-byte file");
            var json = new byte[headerLength];
            ReadExactly(stream, json, fileName, "the header");
            long dataLength = length - prefix - json.Length;
            var header = SafetensorsHeader.Parse(json, dataLength, fileName);
            return new SafetensorsFile(stream, leaveOpen, fileName, origin + prefix + json.Length, header);
        }
        catch
        {
            if (!leaveOpen) stream.Dispose();
            throw;
        }
    }

    /// <summary>Finds a tensor's entry by name.</summary>
    public bool TryGetTensor(string name, [NotNullWhen(true)] out SafetensorsEntry? entry) => _byName.TryGetValue(name, out entry);

    /// <summary>Reads the tensor <paramref name="name"/>; a tensor the file lacks throws <see cref="InvalidDataException"/>.</summary>
    public float[] ReadTensor(string name)
    {
        var data = new float[Get(name).ElementCount];
        ReadTensor(name, data);
        return data;
    }

    /// <summary>
    /// Reads the tensor <paramref name="name"/> into <paramref name="destination"/>, which must hold exactly its
    /// element count; a tensor the file lacks throws <see cref="InvalidDataException"/>.
    /// </summary>
    public void ReadTensor(string name, Span<float> destination)
    {
        var entry = Get(name);
        if (destination.Length != entry.ElementCount)
            throw new ArgumentException(
                $"SafetensorsFile: tensor {Quote(name)} has {entry.ElementCount} elements, the destination {destination.Length}.", nameof(destination));
        _stream.Position = _dataStart + entry.DataBegin;
        ReadExactly(_stream, MemoryMarshal.AsBytes(destination), FileName, $"tensor {Quote(name)}");
    }

    /// <summary>Reads the tensor <paramref name="name"/> if the file has it.</summary>
    public bool TryReadTensor(string name, [NotNullWhen(true)] out float[]? data)
    {
        data = _byName.ContainsKey(name) ? ReadTensor(name) : null;
        return data is not null;
    }

    /// <summary>
    /// Throws <see cref="InvalidDataException"/> unless the file holds exactly the tensors in <paramref name="expected"/>
    /// with exactly those shapes; the message lists the first few missing, unexpected and misshapen tensors.
    /// </summary>
    public void CheckTensors(IEnumerable<(string Name, int[] Shape)> expected)
    {
        ArgumentNullException.ThrowIfNull(expected);
        var differences = new List<string>();
        var expectedNames = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, shape) in expected)
        {
            if (!expectedNames.Add(name))
                throw new ArgumentException($"SafetensorsFile: {Quote(name)} is expected twice.", nameof(expected));
            if (!_byName.TryGetValue(name, out var entry))
                differences.Add($"missing {Quote(name)} {SafetensorsEntry.Format(shape)}");
            else if (!entry.Shape.SequenceEqual(shape))
                differences.Add($"{Quote(name)} is {SafetensorsEntry.Format(entry.Shape)}, expected {SafetensorsEntry.Format(shape)}");
        }
        foreach (var entry in Tensors)
            if (!expectedNames.Contains(entry.Name))
                differences.Add($"unexpected {Quote(entry.Name)} {SafetensorsEntry.Format(entry.Shape)}");
        if (differences.Count == 0) return;

        string listed = string.Join("; ", differences.Take(MaxListedDifferences));
        string rest = differences.Count > MaxListedDifferences ? $"; and {differences.Count - MaxListedDifferences} more" : "";
        throw Create(FileName, $"tensors do not match the model ({differences.Count} differences): {listed}{rest}");
    }

    /// <summary>Closes the stream unless it was opened with leaveOpen.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (!_leaveOpen) _stream.Dispose();
    }

    private SafetensorsEntry Get(string name)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _byName.TryGetValue(name, out var entry) ? entry : throw Create(FileName, $"no tensor named {Quote(name)}");
    }

    /// <summary>The length was checked against the stream's, so running short means the file shrank after it was opened.</summary>
    private static void ReadExactly(Stream stream, Span<byte> buffer, string fileName, string what)
    {
        try
        {
            stream.ReadExactly(buffer);
        }
        catch (EndOfStreamException e)
        {
            throw Create(fileName, $"file ended inside {what}; was it truncated while being read?", e);
        }
    }
}
