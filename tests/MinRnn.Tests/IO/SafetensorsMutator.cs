using System.Buffers.Binary;
using System.Text;

namespace MinRnn.Tests.IO;

/// <summary>
/// Seeded random corruptions of valid safetensors files: header edits that keep the JSON well-formed but break one
/// rule (or none: reordering and removing tensors stay valid), followed by raw byte damage. Every case is reproducible
/// from its seed, and <see cref="Description"/> says what was done.
/// </summary>
internal sealed class SafetensorsMutator(int seed)
{
    private static readonly string[] Dtypes = ["\"F32\"", "\"F16\"", "\"BF16\"", "\"F64\"", "\"I64\"", "\"U8\"", "\"f32\"", "\"\"", "32", "null", "[\"F32\"]"];

    private static readonly string[] OddValues =
    [
        "null", "true", "0", "-1", "1.5", "1e3", "\"x\"", "[]", "{}", "[0]", "[-1]", "[1.5]", "[\"2\"]", "[null]", "[0,4,8]",
        "[2147483648]", "[2147483647,2147483647,2147483647,2147483647,2147483647]", "[9223372036854775807,9223372036854775807]",
        "[0,18446744073709551616]", "[4,0]", "[0,-4]", new string('[', 100) + new string(']', 100),
    ];

    private static readonly string[] OddNames =
    [
        "\"__metadata__\"", "\"\"", "\"\\ud800\"", "\"a\\nb\"", "\"\\u0000\"", "\"é✓😀\"", "\"" + new string('n', 5000) + "\"",
    ];

    private static readonly byte[] InterestingBytes = "{}[]\":,-0123456789 eE.\\nu"u8.ToArray().Concat(new byte[] { 0, 0x7F, 0x80, 0xC3, 0xFF }).ToArray();

    private readonly Random _random = new(seed);
    private readonly List<string> _log = [];

    /// <summary>What the mutations did, for a failure message.</summary>
    public string Description => string.Join("; ", _log);

    /// <summary>Returns a damaged copy of <paramref name="seed"/>; applies at least one mutation.</summary>
    public byte[] Mutate(FuzzSeed seed)
    {
        var members = seed.Members.Select(m => m.Clone()).ToList();
        int edits = _random.Next(3);
        for (int i = 0; i < edits; i++) EditHeader(members);

        byte[] header = FuzzSeed.Header(members, padding: _random.Next(8));
        byte[] file = SafetensorsBytes.Build(header, seed.Data);
        int damages = edits == 0 ? 1 + _random.Next(3) : _random.Next(3);
        for (int i = 0; i < damages; i++) file = Damage(file, header.Length);
        return file;
    }

    private void EditHeader(List<FuzzMember> members)
    {
        var tensors = members.Where(m => m.Fields is not null && m.Key != "\"__metadata__\"").ToList();
        var metadata = members.Find(m => m.Key == "\"__metadata__\"");
        int choice = _random.Next(13);
        if (tensors.Count == 0 && choice < 10) choice = 12;
        var tensor = tensors.Count > 0 ? tensors[_random.Next(tensors.Count)] : null;
        var other = tensors.Count > 0 ? tensors[_random.Next(tensors.Count)] : null;
        switch (choice)
        {
            case 0:
                Log($"dtype of {tensor!.Key} = {tensor.Set("\"dtype\"", Pick(Dtypes))}");
                break;
            case 1:
                Log($"shape of {tensor!.Key} = {tensor.Set("\"shape\"", MutatedShape(tensor.Get("\"shape\"")))}");
                break;
            case 2:
                Log($"data_offsets of {tensor!.Key} = {tensor.Set("\"data_offsets\"", MutatedOffsets(tensor.Get("\"data_offsets\""), other!.Get("\"data_offsets\"")))}");
                break;
            case 3:
                members.Insert(_random.Next(members.Count + 1), tensor!.Clone());
                Log($"duplicated {tensor.Key}");
                break;
            case 4 or 5 when tensor!.Fields!.Count == 0:
                break;
            case 4:
                var field = tensor!.Fields![_random.Next(tensor.Fields.Count)];
                tensor.Fields.Insert(_random.Next(tensor.Fields.Count + 1), field);
                Log($"duplicated {field.Key} in {tensor.Key}");
                break;
            case 5:
                int removed = _random.Next(tensor!.Fields!.Count);
                Log($"removed {tensor.Fields[removed].Key} from {tensor.Key}");
                tensor.Fields.RemoveAt(removed);
                break;
            case 6:
                tensor!.Fields!.Add(("\"extra\"", Pick(OddValues)));
                Log($"added a key to {tensor.Key}");
                break;
            case 7:
                members.Remove(tensor!);
                Log($"removed {tensor!.Key}");
                break;
            case 8:
                string name = _random.Next(2) == 0 ? other!.Key : Pick(OddNames);
                Log($"renamed {tensor!.Key} to {name}");
                tensor.Key = name;
                break;
            case 9:
                (tensor!.Key, other!.Key) = (other.Key, tensor.Key);
                Log($"swapped the names {tensor.Key} and {other.Key}");
                break;
            case 10:
                EditMetadata(members, metadata);
                break;
            case 11:
                var victim = members.Count > 0 ? members[_random.Next(members.Count)] : null;
                if (victim is null) break;
                victim.Fields = null;
                victim.Value = Pick(OddValues);
                Log($"value of {victim.Key} = {victim.Value}");
                break;
            default:
                var moved = members.Count > 0 ? members[_random.Next(members.Count)] : FuzzMember.Raw("\"a\"", "{}");
                members.Remove(moved);
                members.Insert(_random.Next(members.Count + 1), moved);
                Log($"moved {moved.Key}");
                break;
        }
    }

    private void EditMetadata(List<FuzzMember> members, FuzzMember? metadata)
    {
        if (metadata?.Fields is not { Count: > 0 } fields)
        {
            members.Insert(0, FuzzMember.Raw("\"__metadata__\"", Pick(["{\"k\":\"v\"}", "{\"k\":1}", "[]", "null", "{\"k\":\"v\",\"k\":\"w\"}"])));
            Log($"inserted {members[0].Value} as metadata");
            return;
        }
        int i = _random.Next(fields.Count);
        if (_random.Next(2) == 0)
        {
            fields.Insert(_random.Next(fields.Count + 1), fields[i]);
            Log($"duplicated metadata {fields[i].Key}");
        }
        else
        {
            fields[i] = (fields[i].Key, Pick(["1", "null", "{}", "[\"v\"]", "\"\\ud800\"", "\"ok\""]));
            Log($"metadata {fields[i].Key} = {fields[i].Value}");
        }
    }

    private string MutatedShape(string shape)
    {
        if (_random.Next(3) == 0 || Numbers(shape) is not { } parsed) return Pick(OddValues);
        var dims = parsed.ToList();
        switch (_random.Next(5))
        {
            case 0 when dims.Count > 0: dims[_random.Next(dims.Count)] += _random.Next(2) * 2 - 1; break;
            case 1: dims.Insert(_random.Next(dims.Count + 1), _random.Next(3)); break;
            case 2 when dims.Count > 0: dims.RemoveAt(_random.Next(dims.Count)); break;
            case 3: dims.Reverse(); break;
            default: dims.Add(int.MaxValue); break;
        }
        return $"[{string.Join(",", dims)}]";
    }

    private string MutatedOffsets(string offsets, string otherOffsets)
    {
        if (_random.Next(4) == 0 || Numbers(offsets) is not [_, _] o || Numbers(otherOffsets) is not [_, _] p) return Pick(OddValues);
        long shift = Pick([-8L, -4, -1, 1, 4, 8]);
        return _random.Next(6) switch
        {
            0 => $"[{o[1]},{o[0]}]",
            1 => $"[{o[0] + shift},{o[1] + shift}]",
            2 => $"[{o[0]},{o[1] + shift}]",
            3 => $"[{p[0]},{p[1]}]",
            4 => $"[{p[0]},{p[0] + o[1] - o[0]}]",
            _ => $"[{o[0] + long.MaxValue / 2},{o[1] + long.MaxValue / 2}]",
        };
    }

    /// <summary>The integers of a JSON array such as <c>[2,3]</c>, or null once earlier edits made it something else.</summary>
    private static long[]? Numbers(string array)
    {
        if (!array.StartsWith('[') || !array.EndsWith(']')) return null;
        var parts = array[1..^1].Split(',', StringSplitOptions.RemoveEmptyEntries);
        var numbers = new long[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!long.TryParse(parts[i], out numbers[i])) return null;
        return numbers;
    }

    private byte[] Damage(byte[] file, int headerLength)
    {
        // Most damage lands in the length prefix and header, where the parser is; data bytes are opaque floats.
        int Position(int length) => _random.Next(4) > 0 ? _random.Next(Math.Min(length, 8 + headerLength)) : _random.Next(length);
        if (file.Length == 0) return [(byte)_random.Next(256)];
        switch (_random.Next(7))
        {
            case 0:
                int flips = 1 + _random.Next(8);
                for (int i = 0; i < flips; i++) file[Position(file.Length)] ^= (byte)(1 << _random.Next(8));
                Log($"flipped {flips} bits");
                return file;
            case 1:
                int at = Position(file.Length);
                file[at] = Pick(InterestingBytes);
                Log($"byte {at} = 0x{file[at]:X2}");
                return file;
            case 2:
                int keep = _random.Next(file.Length);
                Log($"truncated to {keep} bytes");
                return file[..keep];
            case 3:
                var garbage = new byte[1 + _random.Next(64)];
                _random.NextBytes(garbage);
                Log($"appended {garbage.Length} bytes");
                return [.. file, .. garbage];
            case 4:
                if (file.Length < 8) return file;
                ulong declared = Pick(new ulong[] { 0, 1, 2, (ulong)headerLength - 1, (ulong)headerLength + 1, (ulong)file.Length - 8, (ulong)file.Length - 7,
                    (ulong)file.Length, 100_000_000, 100_000_001, int.MaxValue, uint.MaxValue, long.MaxValue, 1UL << 63, ulong.MaxValue,
                    (ulong)_random.NextInt64() * 2 + (ulong)_random.Next(2) });
                BinaryPrimitives.WriteUInt64LittleEndian(file, declared);
                Log($"header length = {declared}");
                return file;
            case 5:
                int insertAt = Position(file.Length);
                var inserted = new byte[1 + _random.Next(8)];
                for (int i = 0; i < inserted.Length; i++) inserted[i] = Pick(InterestingBytes);
                Log($"inserted {inserted.Length} bytes at {insertAt}");
                return [.. file[..insertAt], .. inserted, .. file[insertAt..]];
            default:
                int from = Position(file.Length);
                int to = Math.Min(file.Length, from + 1 + _random.Next(16));
                Log($"deleted bytes {from}..{to}");
                return [.. file[..from], .. file[to..]];
        }
    }

    private T Pick<T>(T[] choices) => choices[_random.Next(choices.Length)];

    /// <summary>Records a step, shortened: names and values may be thousands of characters long.</summary>
    private void Log(string step) => _log.Add(step.Length <= 120 ? step : step[..120] + "...");
}

/// <summary>A valid file to mutate: its header as editable JSON members, and its data section.</summary>
internal sealed record FuzzSeed(string Description, List<FuzzMember> Members, byte[] Data)
{
    /// <summary>A valid seed holding float32 tensors with contiguous data and the given metadata.</summary>
    public static FuzzSeed Create(string description, (string Name, int[] Shape)[] tensors, (string Key, string Value)[] metadata, int seed)
    {
        var members = new List<FuzzMember>();
        if (metadata.Length > 0)
            members.Add(new FuzzMember("\"__metadata__\"", metadata.Select(p => (Json(p.Key), Json(p.Value))).ToList()));
        long offset = 0;
        foreach (var (name, shape) in tensors)
        {
            long end = offset + 4L * shape.Aggregate(1L, (a, d) => a * d);
            members.Add(new FuzzMember(Json(name), [("\"dtype\"", "\"F32\""), ("\"shape\"", $"[{string.Join(",", shape)}]"), ("\"data_offsets\"", $"[{offset},{end}]")]));
            offset = end;
        }
        var data = new byte[offset];
        new Random(seed).NextBytes(data);
        return new FuzzSeed(description, members, data);
    }

    /// <summary>The header object built from <paramref name="members"/>, followed by <paramref name="padding"/> spaces.</summary>
    public static byte[] Header(IEnumerable<FuzzMember> members, int padding) =>
        Encoding.UTF8.GetBytes(string.Concat("{", string.Join(",", members.Select(m => m.ToJson())), "}", new string(' ', padding)));

    /// <summary>The unmutated file.</summary>
    public byte[] ToFile() => SafetensorsBytes.Build(Header(Members, padding: 0), Data);

    private static string Json(string text) => System.Text.Json.JsonSerializer.Serialize(text);

    public override string ToString() => Description;
}

/// <summary>One member of the header object: a raw JSON key and either a raw JSON value or an object of raw fields.</summary>
internal sealed class FuzzMember(string key, List<(string Key, string Value)>? fields, string value = "")
{
    public string Key { get; set; } = key;

    public List<(string Key, string Value)>? Fields { get; set; } = fields;

    public string Value { get; set; } = value;

    public static FuzzMember Raw(string key, string value) => new(key, null, value);

    public FuzzMember Clone() => new(Key, Fields?.ToList(), Value);

    public string Get(string field) => Fields!.Find(f => f.Key == field).Value ?? "[]";

    /// <summary>Replaces every field named <paramref name="field"/> (or adds one) and returns the value.</summary>
    public string Set(string field, string value)
    {
        Fields!.RemoveAll(f => f.Key == field);
        Fields.Add((field, value));
        return value;
    }

    public string ToJson() => Fields is null ? $"{Key}:{Value}" : $"{Key}:{{{string.Join(",", Fields.Select(f => $"{f.Key}:{f.Value}"))}}}";
}
