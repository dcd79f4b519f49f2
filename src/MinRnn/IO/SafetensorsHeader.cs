using System.Text;
using System.Text.Json;
using static MinRnn.IO.FormatError;

namespace MinRnn.IO;

/// <summary>
/// The parsed and fully validated JSON header of a safetensors file. Every tensor it lists is float32, its shape matches
/// its byte range, and its byte range lies inside the data section without overlapping another, so a reader can trust
/// it before allocating anything.
/// </summary>
internal sealed class SafetensorsHeader
{
    private SafetensorsHeader(IReadOnlyList<SafetensorsEntry> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        Tensors = tensors;
        Metadata = metadata;
    }

    /// <summary>The tensors, sorted by name (ordinal).</summary>
    public IReadOnlyList<SafetensorsEntry> Tensors { get; }

    /// <summary>The <c>__metadata__</c> object; empty when the header has none.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>
    /// Parses <paramref name="json"/>, the header of <paramref name="fileName"/> whose data section holds
    /// <paramref name="dataLength"/> bytes. Throws <see cref="InvalidDataException"/> on any violation.
    /// </summary>
    public static SafetensorsHeader Parse(ReadOnlySpan<byte> json, long dataLength, string fileName)
    {
        // Walked token by token rather than through JsonDocument because JsonDocument keeps the last of two equal keys
        // without a word, and a duplicated tensor name must be an error.
        var parser = new Parser(fileName, dataLength);
        try
        {
            var reader = new Utf8JsonReader(json);
            return parser.Parse(ref reader);
        }
        catch (JsonException e)
        {
            throw Create(fileName, $"header is not valid JSON: {e.Message}", e);
        }
    }

    /// <summary>The state of one parse: the file name for messages and the size every byte range must fit in.</summary>
    private readonly struct Parser(string fileName, long dataLength)
    {
        public SafetensorsHeader Parse(ref Utf8JsonReader reader)
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                throw Fail("header is not a JSON object");
            var tensors = new Dictionary<string, SafetensorsEntry>(StringComparer.Ordinal);
            Dictionary<string, string>? metadata = null;
            while (Next(ref reader) != JsonTokenType.EndObject)
            {
                string key = GetString(ref reader);
                if (tensors.ContainsKey(key) || (key == SafetensorsFormat.MetadataKey && metadata is not null))
                    throw Fail($"header lists {Quote(key)} twice");
                if (key == SafetensorsFormat.MetadataKey) metadata = ParseMetadata(ref reader);
                else tensors.Add(key, ParseTensor(ref reader, key));
            }
            // Reading past the root object throws on anything but whitespace: the space padding passes, trailing garbage does not.
            _ = reader.Read();

            var sorted = tensors.Values.OrderBy(t => t.Name, StringComparer.Ordinal).ToArray();
            CheckDisjoint(sorted);
            return new SafetensorsHeader(Array.AsReadOnly(sorted), (metadata ?? new Dictionary<string, string>(StringComparer.Ordinal)).AsReadOnly());
        }

        private Dictionary<string, string> ParseMetadata(ref Utf8JsonReader reader)
        {
            if (Next(ref reader) != JsonTokenType.StartObject)
                throw Fail($"{SafetensorsFormat.MetadataKey} is not a JSON object");
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            while (Next(ref reader) != JsonTokenType.EndObject)
            {
                string key = GetString(ref reader);
                if (Next(ref reader) != JsonTokenType.String)
                    throw Fail($"{SafetensorsFormat.MetadataKey} value of {Quote(key)} is not a string");
                if (!metadata.TryAdd(key, GetString(ref reader)))
                    throw Fail($"{SafetensorsFormat.MetadataKey} lists {Quote(key)} twice");
            }
            return metadata;
        }

        private SafetensorsEntry ParseTensor(ref Utf8JsonReader reader, string name)
        {
            string tensor = $"tensor {Quote(name)}";
            if (Next(ref reader) != JsonTokenType.StartObject) throw Fail($"{tensor} is not a JSON object");
            string? dtype = null;
            int[]? shape = null;
            (long Begin, long End)? offsets = null;
            while (Next(ref reader) != JsonTokenType.EndObject)
            {
                string key = GetString(ref reader);
                switch (key)
                {
                    case "dtype" when dtype is null:
                        if (Next(ref reader) != JsonTokenType.String) throw Fail($"{tensor}: dtype is not a string");
                        dtype = GetString(ref reader);
                        break;
                    case "shape" when shape is null:
                        shape = ParseShape(ref reader, tensor);
                        break;
                    case "data_offsets" when offsets is null:
                        offsets = ParseOffsets(ref reader, tensor);
                        break;
                    case "dtype" or "shape" or "data_offsets":
                        throw Fail($"{tensor} lists {Quote(key)} twice");
                    default:
                        throw Fail($"{tensor} has unexpected key {Quote(key)}");
                }
            }
            if (dtype is null || shape is null || offsets is null)
                throw Fail($"{tensor} lacks {(dtype is null ? "dtype" : shape is null ? "shape" : "data_offsets")}");

            if (dtype != SafetensorsFormat.Float32)
                throw Fail(SafetensorsFormat.KnownDtypes.Contains(dtype)
                    ? $"{tensor} has unsupported dtype {dtype} (only {SafetensorsFormat.Float32} can be loaded)"
                    : $"{tensor} has unknown dtype {Quote(dtype)}");
            var (begin, end) = offsets.Value;
            string range = $"data_offsets [{begin}, {end}]";
            if (end < begin) throw Fail($"{tensor}: {range} end before they begin");
            if (end > dataLength) throw Fail($"{tensor}: {range} run past the {dataLength}-byte data section");
            long bytes = end - begin;
            if (ByteLength(shape, bytes) != bytes)
                throw Fail($"{tensor}: shape {SafetensorsEntry.Format(shape)} of {SafetensorsFormat.Float32} does not fill {range} ({bytes} bytes)");
            long count = bytes / SafetensorsFormat.Float32Bytes;
            if (count > Array.MaxLength) throw Fail($"{tensor} has {count} elements, more than one array can hold");
            return new SafetensorsEntry(name, shape, (int)count, begin, end);
        }

        /// <summary>
        /// Bytes the shape needs, or -1 once that exceeds <paramref name="limit"/>: stopping early keeps the product
        /// of a forged shape from overflowing, and any larger value cannot match the byte range anyway.
        /// </summary>
        private static long ByteLength(int[] shape, long limit)
        {
            if (shape.Contains(0)) return 0;
            long bytes = SafetensorsFormat.Float32Bytes;
            foreach (int d in shape)
            {
                if (bytes > limit / d) return -1;
                bytes *= d;
            }
            return bytes;
        }

        private int[] ParseShape(ref Utf8JsonReader reader, string tensor)
        {
            if (Next(ref reader) != JsonTokenType.StartArray) throw Fail($"{tensor}: shape is not a JSON array");
            var shape = new List<int>();
            while (Next(ref reader) != JsonTokenType.EndArray)
            {
                if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt32(out int d) || d < 0)
                    throw Fail($"{tensor}: shape holds {Token(ref reader)}, not an integer from 0 to {int.MaxValue}");
                shape.Add(d);
            }
            return shape.ToArray();
        }

        private (long Begin, long End) ParseOffsets(ref Utf8JsonReader reader, string tensor)
        {
            string problem = $"{tensor}: data_offsets is not an array of two integers from 0 to {long.MaxValue}";
            if (Next(ref reader) != JsonTokenType.StartArray) throw Fail(problem);
            Span<long> offsets = stackalloc long[2];
            int count = 0;
            while (Next(ref reader) != JsonTokenType.EndArray)
            {
                if (count == offsets.Length || reader.TokenType != JsonTokenType.Number
                    || !reader.TryGetInt64(out offsets[count]) || offsets[count] < 0)
                    throw Fail(problem);
                count++;
            }
            if (count != offsets.Length) throw Fail(problem);
            return (offsets[0], offsets[1]);
        }

        /// <summary>Byte ranges may leave gaps but must not share a byte, which also bounds their total by the file size.</summary>
        private void CheckDisjoint(SafetensorsEntry[] tensors)
        {
            var byOffset = tensors.OrderBy(t => t.DataBegin).ThenBy(t => t.DataEnd).ToArray();
            for (int i = 1; i < byOffset.Length; i++)
            {
                SafetensorsEntry a = byOffset[i - 1], b = byOffset[i];
                if (b.DataBegin < a.DataEnd)
                    throw Fail($"tensors {Quote(a.Name)} [{a.DataBegin}, {a.DataEnd}] and {Quote(b.Name)} [{b.DataBegin}, {b.DataEnd}] overlap");
            }
        }

        /// <summary>Advances to the next token; running out of input is a parse error, not the end of the header.</summary>
        private JsonTokenType Next(ref Utf8JsonReader reader)
        {
            if (!reader.Read()) throw Fail("header JSON ends early");
            return reader.TokenType;
        }

        /// <summary>Reads a string or property name; an escaped lone surrogate decodes to no valid string.</summary>
        private string GetString(ref Utf8JsonReader reader)
        {
            try
            {
                return reader.GetString()!;
            }
            catch (InvalidOperationException e)
            {
                throw Create(fileName, $"header holds a string that is not valid Unicode ({e.Message})", e);
            }
        }

        /// <summary>The current token as text for a message, quoted and shortened.</summary>
        private static string Token(ref Utf8JsonReader reader) =>
            reader.TokenType is JsonTokenType.Number or JsonTokenType.True or JsonTokenType.False or JsonTokenType.Null
                ? Quote(Encoding.UTF8.GetString(reader.ValueSpan))
                : $"a JSON {reader.TokenType}";

        private InvalidDataException Fail(string problem) => Create(fileName, problem);
    }
}
