using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace MinRnn.IO;

/// <summary>
/// Writes float32 tensors in the safetensors format. Output is deterministic: tensors sorted by name (ordinal) with
/// contiguous data, metadata sorted by key, and the header space-padded to a multiple of 8 bytes as the reference
/// implementation pads it, so equal inputs give equal bytes.
/// </summary>
internal static class SafetensorsWriter
{
    /// <summary>Writes <paramref name="tensors"/> and <paramref name="metadata"/> to <paramref name="stream"/> at its current position.</summary>
    public static void Write(Stream stream, IEnumerable<NamedTensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        SafetensorsFormat.RequireLittleEndian();
        var sorted = Validate(tensors);
        byte[] header = Header(sorted, metadata);
        Span<byte> length = stackalloc byte[SafetensorsFormat.LengthPrefixBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
        stream.Write(length);
        stream.Write(header);
        foreach (var tensor in sorted)
            stream.Write(MemoryMarshal.AsBytes(tensor.Data.Span));
    }

    /// <summary>
    /// Writes the file at <paramref name="path"/> atomically (see <see cref="AtomicFile.Write"/>): on any failure an
    /// existing file there is left as it was.
    /// </summary>
    public static void WriteFile(string path, IEnumerable<NamedTensor> tensors, IReadOnlyDictionary<string, string>? metadata = null) =>
        AtomicFile.Write(path, stream => Write(stream, tensors, metadata));

    /// <summary>Checks names and shapes, and returns the tensors in file order.</summary>
    private static NamedTensor[] Validate(IEnumerable<NamedTensor> tensors)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var sorted = tensors.ToArray();
        Array.Sort(sorted, (a, b) => string.CompareOrdinal(a.Name, b.Name));
        for (int i = 0; i < sorted.Length; i++)
        {
            var (name, shape, data) = sorted[i];
            if (name is null || shape is null)
                throw new ArgumentNullException(nameof(tensors), "SafetensorsWriter: a tensor has no name or no shape.");
            if (name == SafetensorsFormat.MetadataKey)
                throw new ArgumentException($"SafetensorsWriter: {SafetensorsFormat.MetadataKey} is reserved for metadata.", nameof(tensors));
            if (i > 0 && sorted[i - 1].Name == name)
                throw new ArgumentException($"SafetensorsWriter: tensor '{name}' is given twice.", nameof(tensors));
            long count = 1;
            foreach (int d in shape)
            {
                if (d < 0) throw new ArgumentException($"SafetensorsWriter: tensor '{name}' has a negative dimension.", nameof(tensors));
                // Saturating keeps a huge shape from overflowing; it cannot match any array length anyway.
                count = Math.Min((long)int.MaxValue + 1, count * d);
            }
            if (count != data.Length)
                throw new ArgumentException(
                    $"SafetensorsWriter: tensor '{name}' has {data.Length} elements, shape {SafetensorsEntry.Format(shape)} needs {count}.", nameof(tensors));
        }
        return sorted;
    }

    /// <summary>The header JSON, space-padded so that its length is a multiple of <see cref="SafetensorsFormat.HeaderAlignment"/>.</summary>
    private static byte[] Header(NamedTensor[] sorted, IReadOnlyDictionary<string, string>? metadata)
    {
        var buffer = new ArrayBufferWriter<byte>();
        // The relaxed encoder writes non-ASCII text (vocabularies) as UTF-8 instead of \uXXXX escapes; the header is
        // never embedded in HTML, which is all the default encoder's extra escaping guards against.
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject(SafetensorsFormat.MetadataKey);
                foreach (var (key, value) in metadata.OrderBy(p => p.Key, StringComparer.Ordinal))
                    json.WriteString(key, value ?? throw new ArgumentNullException(nameof(metadata), $"SafetensorsWriter: metadata '{key}' is null."));
                json.WriteEndObject();
            }
            long offset = 0;
            foreach (var (name, shape, data) in sorted)
            {
                json.WriteStartObject(name);
                json.WriteString("dtype", SafetensorsFormat.Float32);
                json.WriteStartArray("shape");
                foreach (int d in shape) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                offset += (long)data.Length * SafetensorsFormat.Float32Bytes;
                json.WriteNumberValue(offset);
                json.WriteEndArray();
                json.WriteEndObject();
            }
            json.WriteEndObject();
        }
        int padded = (buffer.WrittenCount + SafetensorsFormat.HeaderAlignment - 1) / SafetensorsFormat.HeaderAlignment * SafetensorsFormat.HeaderAlignment;
        var header = new byte[padded];
        header.AsSpan().Fill((byte)' ');
        buffer.WrittenSpan.CopyTo(header);
        return header;
    }
}
