using System.Text;
using MinRnn.IO;

namespace MinRnn.Tests.IO;

public class SafetensorsWriterTests
{
    /// <summary>Values whose bits a float round trip through text or arithmetic would lose.</summary>
    private static readonly float[] AwkwardValues =
    [
        -0f, 0f, float.Epsilon, -float.Epsilon, 1e-40f, float.MaxValue, float.MinValue,
        float.PositiveInfinity, float.NegativeInfinity,
        BitConverter.Int32BitsToSingle(0x7FC01234),          // quiet NaN with a payload
        BitConverter.Int32BitsToSingle(0x7F800001),          // signalling NaN
        BitConverter.Int32BitsToSingle(unchecked((int)0xFFFFFFFF)), // negative NaN, all payload bits set
    ];

    private static NamedTensor[] SampleTensors() =>
    [
        new("layers.0.gate_hidden.weight", [4, 3], TestData.Uniform(12, 1)),
        new("embedding.weight", [3, 4], AwkwardValues),
        new("head.bias", [3], TestData.Uniform(3, 2)),
        new("scalar", [], new[] { 42f }),
        new("empty", [0, 5], Array.Empty<float>()),
        new("é \"quoted\" name", [1, 1, 2], new[] { -0f, 1f }),
    ];

    private static Dictionary<string, string> SampleMetadata() => new()
    {
        ["cell"] = "minGRU",
        ["vocab"] = "ab\n\t\"\\é✓😀<>&",
        ["d_model"] = "64",
    };

    [Fact]
    public void RoundTripIsBitExact()
    {
        var tensors = SampleTensors();
        var metadata = SampleMetadata();
        using var file = SafetensorsBytes.Open(SafetensorsBytes.Write(tensors, metadata));

        Assert.Equal(tensors.Select(t => t.Name).Order(StringComparer.Ordinal), file.Tensors.Select(t => t.Name));
        Assert.Equal(metadata.OrderBy(p => p.Key), file.Metadata.OrderBy(p => p.Key));
        foreach (var (name, shape, data) in tensors)
        {
            Assert.True(file.TryGetTensor(name, out var entry));
            Assert.Equal(shape, entry.Shape);
            Assert.Equal(data.Length, entry.ElementCount);
            Assert.Equal(Bits(data.Span), Bits(file.ReadTensor(name)));
        }
    }

    [Fact]
    public void WriteFileRoundTripsThroughDisk()
    {
        using var dir = new TempDirectory();
        string path = Path.Combine(dir.Path, "model.safetensors");
        var tensors = SampleTensors();
        SafetensorsWriter.WriteFile(path, tensors, SampleMetadata());

        Assert.Equal(SafetensorsBytes.Write(tensors, SampleMetadata()), File.ReadAllBytes(path));
        using var file = SafetensorsFile.Open(path);
        Assert.Equal(path, file.FileName);
        Assert.Equal(Bits(AwkwardValues), Bits(file.ReadTensor("embedding.weight")));
    }

    [Fact]
    public void SameInputGivesSameBytesWhateverTheOrder()
    {
        var tensors = SampleTensors();
        var metadata = SampleMetadata();
        var reversedMetadata = metadata.Reverse().ToDictionary(p => p.Key, p => p.Value);

        byte[] first = SafetensorsBytes.Write(tensors, metadata);
        Assert.Equal(first, SafetensorsBytes.Write(tensors, metadata));
        Assert.Equal(first, SafetensorsBytes.Write(tensors.Reverse(), reversedMetadata));
    }

    [Fact]
    public void TensorsAreSortedByNameWithContiguousData()
    {
        using var file = SafetensorsBytes.Open(SafetensorsBytes.Write(SampleTensors()));
        long offset = 0;
        foreach (var entry in file.Tensors)
        {
            Assert.Equal(offset, entry.DataBegin);
            offset = entry.DataEnd;
        }
        Assert.Equal(SampleTensors().Sum(t => t.Data.Length) * 4L, offset);
    }

    [Fact]
    public void HeaderIsSpacePaddedToAMultipleOfEight()
    {
        for (int nameLength = 1; nameLength <= 16; nameLength++)
        {
            byte[] file = SafetensorsBytes.Write([new(new string('w', nameLength), [1], new[] { 1f })]);
            int headerLength = checked((int)SafetensorsBytes.HeaderLength(file));
            Assert.Equal(0, headerLength % 8);
            Assert.Equal(8 + headerLength + 4, file.Length);
            string header = Encoding.UTF8.GetString(file, 8, headerLength);
            string json = header.TrimEnd(' ');
            Assert.EndsWith("}", json);
            Assert.True(header.Length - json.Length < 8, $"{header.Length - json.Length} padding bytes for a {nameLength}-character name");
        }
    }

    [Fact]
    public void OutputMatchesAHandBuiltFile()
    {
        // Built from the format description alone: the header below is 54 bytes, padded with 2 spaces to 56 = 0x38,
        // and the floats 1 and -2 are 0x3F800000 and 0xC0000000, stored little-endian.
        byte[] expected =
        [
            0x38, 0, 0, 0, 0, 0, 0, 0,
            .. """{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}  """u8,
            0x00, 0x00, 0x80, 0x3F,
            0x00, 0x00, 0x00, 0xC0,
        ];
        Assert.Equal(expected, SafetensorsBytes.Write([new("a", [2], new[] { 1f, -2f })]));
    }

    [Fact]
    public void ReadsAHandBuiltFileInAnotherWritersOrder()
    {
        // Laid out as another writer may lay it out: metadata first (as PyTorch's "format": "pt"), header entries not
        // sorted by name, and data in yet another order. 0x3FC00000 is 1.5 and 0x40000000 is 2, stored little-endian.
        byte[] header = """{"__metadata__":{"format":"pt"},"x":{"dtype":"F32","shape":[],"data_offsets":[4,8]},"b":{"dtype":"F32","shape":[1,1],"data_offsets":[0,4]}}     """u8.ToArray();
        Assert.Equal(0, header.Length % 8);
        using var file = SafetensorsBytes.Open(SafetensorsBytes.Build(header, [0x00, 0x00, 0x00, 0x40, 0x00, 0x00, 0xC0, 0x3F]));

        Assert.Equal("pt", Assert.Single(file.Metadata).Value);
        Assert.Equal(["b", "x"], file.Tensors.Select(t => t.Name));
        Assert.Empty(file.Tensors[1].Shape);
        Assert.Equal([1.5f], file.ReadTensor("x"));
        Assert.Equal([2f], file.ReadTensor("b"));
    }

    [Fact]
    public void EmptyInputWritesAnEmptyHeader()
    {
        byte[] expected = [8, 0, 0, 0, 0, 0, 0, 0, .. "{}      "u8];
        Assert.Equal(expected, SafetensorsBytes.Write([]));
        Assert.Equal(expected, SafetensorsBytes.Write([], new Dictionary<string, string>()));
    }

    [Fact]
    public void RejectsBadArguments()
    {
        float[] six = new float[6];
        Assert.Contains("twice", Assert.Throws<ArgumentException>(() => SafetensorsBytes.Write([new("a", [6], six), new("a", [6], six)])).Message);
        Assert.Contains("needs 6", Assert.Throws<ArgumentException>(() => SafetensorsBytes.Write([new("a", [2, 3], new float[5])])).Message);
        Assert.Contains("negative", Assert.Throws<ArgumentException>(() => SafetensorsBytes.Write([new("a", [-2, -3], six)])).Message);
        Assert.Contains("reserved", Assert.Throws<ArgumentException>(() => SafetensorsBytes.Write([new("__metadata__", [6], six)])).Message);
        Assert.Throws<ArgumentException>(() => SafetensorsBytes.Write([new("a", [int.MaxValue, int.MaxValue, 2], six)]));
        Assert.Throws<ArgumentNullException>(() => SafetensorsBytes.Write([new("a", null!, six)]));
    }

    private static int[] Bits(ReadOnlySpan<float> values)
    {
        var bits = new int[values.Length];
        for (int i = 0; i < bits.Length; i++) bits[i] = BitConverter.SingleToInt32Bits(values[i]);
        return bits;
    }
}
