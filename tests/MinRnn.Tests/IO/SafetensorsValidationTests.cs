using System.Text;
using static MinRnn.Tests.IO.SafetensorsBytes;

namespace MinRnn.Tests.IO;

/// <summary>One hand-crafted bad file for each rule the reader enforces.</summary>
public class SafetensorsValidationTests
{
    /// <summary>A valid entry holding 2 floats at the start of the data section.</summary>
    private const string Good = """{"dtype":"F32","shape":[2],"data_offsets":[0,8]}""";

    /// <summary>A file with the single tensor "a" built from raw JSON fragments.</summary>
    private static byte[] TensorA(string dtype = "F32", string shape = "[2]", string offsets = "[0,8]", int dataBytes = 8) =>
        Build("{\"a\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":" + offsets + "}}", dataBytes);

    [Theory]
    [InlineData(0)]
    [InlineData(7)]
    public void FileShorterThanTheLengthPrefix(int length) => AssertRejected(new byte[length], "too short");

    [Theory]
    [InlineData(ulong.MaxValue)]
    [InlineData(1UL << 63)]
    [InlineData(100_000_001UL)]
    public void HeaderLengthOverTheLimit(ulong declared) =>
        AssertRejected(Build("{}"u8, [], declared), "exceeds the 100000000-byte limit");

    [Theory]
    [InlineData(3UL)]
    [InlineData(1000UL)]
    public void HeaderLengthPastTheEndOfTheFile(ulong declared) =>
        AssertRejected(Build("{}"u8, [], declared), "runs past the end");

    [Theory]
    [InlineData("")]
    [InlineData("{")]
    [InlineData("""{"a":""")]
    [InlineData("nonsense")]
    [InlineData("{} x")]
    [InlineData("{}{}")]
    [InlineData("""{"a":{"dtype":"F32",}}""")]
    [InlineData("{} \0")]
    public void HeaderIsNotValidJson(string json) => AssertRejected(Build(json), "not valid JSON");

    [Theory]
    [InlineData("[]")]
    [InlineData("1")]
    [InlineData("\"x\"")]
    [InlineData("null")]
    public void HeaderIsNotAnObject(string json) => AssertRejected(Build(json), "header is not a JSON object");

    [Theory]
    [InlineData("""{"a":1}""", "tensor 'a' is not a JSON object")]
    [InlineData("""{"a":[]}""", "tensor 'a' is not a JSON object")]
    [InlineData("""{"a":{"shape":[2],"data_offsets":[0,8]}}""", "tensor 'a' lacks dtype")]
    [InlineData("""{"a":{"dtype":"F32","data_offsets":[0,8]}}""", "tensor 'a' lacks shape")]
    [InlineData("""{"a":{"dtype":"F32","shape":[2]}}""", "tensor 'a' lacks data_offsets")]
    [InlineData("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"extra":1}}""", "unexpected key 'extra'")]
    [InlineData("""{"a":{"dtype":4,"shape":[2],"data_offsets":[0,8]}}""", "dtype is not a string")]
    [InlineData("""{"a":{"dtype":"F32","shape":2,"data_offsets":[0,8]}}""", "shape is not a JSON array")]
    [InlineData("""{"a":{"dtype":"F32","shape":null,"data_offsets":[0,8]}}""", "shape is not a JSON array")]
    public void EntryIsMalformed(string json, string fragment) => AssertRejected(Build(json, 8), fragment);

    [Theory]
    [InlineData("[-2]", "'-2'")]
    [InlineData("[2.0]", "'2.0'")]
    [InlineData("[2e0]", "'2e0'")]
    [InlineData("[2147483648]", "'2147483648'")]
    [InlineData("""["2"]""", "a JSON String")]
    [InlineData("[null]", "'null'")]
    [InlineData("[[2]]", "a JSON StartArray")]
    public void ShapeDimensionIsNotANonNegativeInt(string shape, string fragment)
    {
        var e = AssertRejected(TensorA(shape: shape), "tensor 'a': shape holds ");
        AssertMessage(e, fragment);
    }

    [Theory]
    [InlineData("8")]
    [InlineData("[]")]
    [InlineData("[0]")]
    [InlineData("[0,8,8]")]
    [InlineData("[-1,8]")]
    [InlineData("[0,8.0]")]
    [InlineData("""[0,"8"]""")]
    [InlineData("[0,9223372036854775808]")]
    public void DataOffsetsAreNotTwoNonNegativeIntegers(string offsets) =>
        AssertRejected(TensorA(offsets: offsets), "data_offsets is not an array of two integers");

    [Theory]
    [InlineData("F16")]
    [InlineData("BF16")]
    [InlineData("F64")]
    [InlineData("I64")]
    [InlineData("U8")]
    [InlineData("BOOL")]
    public void KnownDtypeOtherThanF32IsUnsupported(string dtype) =>
        AssertRejected(TensorA(dtype), $"unsupported dtype {dtype} (only F32");

    [Theory]
    [InlineData("f32")]
    [InlineData("")]
    [InlineData("FLOAT")]
    public void UnknownDtype(string dtype) =>
        AssertRejected(TensorA(dtype), $"unknown dtype '{dtype}'");

    [Theory]
    [InlineData("[3]", "[0,8]")]
    [InlineData("[2,2]", "[0,8]")]
    [InlineData("[]", "[0,8]")]
    [InlineData("[0]", "[0,8]")]
    [InlineData("[2]", "[0,7]")]
    [InlineData("[2147483647,2147483647,2147483647,2147483647,2147483647]", "[0,8]")]
    [InlineData("[1073741824,4]", "[0,0]")]
    public void ShapeDoesNotMatchTheByteRange(string shape, string offsets) =>
        AssertRejected(TensorA(shape: shape, offsets: offsets), "does not fill data_offsets");

    [Fact]
    public void OffsetsEndBeforeTheyBegin() =>
        AssertRejected(Build("""{"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}""", 8), "data_offsets [8, 0] end before they begin");

    [Theory]
    [InlineData("[0,8]", 4)]
    [InlineData("[8,16]", 8)]
    [InlineData("[9223372036854775799,9223372036854775807]", 8)]
    public void OffsetsOutsideTheDataSection(string offsets, int dataBytes) =>
        AssertRejected(TensorA(offsets: offsets, dataBytes: dataBytes), "run past the");

    [Theory]
    [InlineData("[0,8]", "[0,8]")]
    [InlineData("[0,8]", "[4,12]")]
    [InlineData("[4,12]", "[0,8]")]
    public void RangesOverlap(string a, string b) =>
        AssertRejected(Build("{\"a\":" + Good.Replace("[0,8]", a) + ",\"b\":" + Good.Replace("[0,8]", b) + "}", 16), "overlap");

    [Theory]
    [InlineData("""{"a":GOOD,"a":GOOD}""", "lists 'a' twice")]
    [InlineData("""{"__metadata__":{},"a":GOOD,"__metadata__":{}}""", "lists '__metadata__' twice")]
    [InlineData("""{"__metadata__":{"k":"1","k":"2"}}""", "__metadata__ lists 'k' twice")]
    [InlineData("""{"a":{"dtype":"F32","dtype":"F32","shape":[2],"data_offsets":[0,8]}}""", "tensor 'a' lists 'dtype' twice")]
    [InlineData("""{"a":{"dtype":"F32","shape":[2],"shape":[2],"data_offsets":[0,8]}}""", "tensor 'a' lists 'shape' twice")]
    [InlineData("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"data_offsets":[0,8]}}""", "tensor 'a' lists 'data_offsets' twice")]
    public void DuplicateKeys(string json, string fragment) => AssertRejected(Build(json.Replace("GOOD", Good), 8), fragment);

    [Theory]
    [InlineData("""{"__metadata__":[]}""", "__metadata__ is not a JSON object")]
    [InlineData("""{"__metadata__":null}""", "__metadata__ is not a JSON object")]
    [InlineData("""{"__metadata__":"x"}""", "__metadata__ is not a JSON object")]
    [InlineData("""{"__metadata__":{"n":1}}""", "value of 'n' is not a string")]
    [InlineData("""{"__metadata__":{"n":null}}""", "value of 'n' is not a string")]
    [InlineData("""{"__metadata__":{"n":{"x":"y"}}}""", "value of 'n' is not a string")]
    public void MetadataIsNotStringToString(string json, string fragment) => AssertRejected(Build(json), fragment);

    [Fact]
    public void EscapedLoneSurrogateIsRejected() =>
        AssertRejected(Build("""{"a\ud800":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}"""), "not valid Unicode");

    [Fact]
    public void InvalidUtf8IsRejected()
    {
        byte[] header = [.. "{\"__metadata__\":{\"k\":\""u8, 0xC3, 0x28, .. "\"}}"u8];
        var e = Assert.Throws<InvalidDataException>(() => Open(Build(header, [])).Dispose());
        AssertMessage(e, "header");
    }

    [Fact]
    public void FileControlledTextCannotBreakTheMessageLine()
    {
        string longName = new('n', 1000);
        var e = AssertRejected(Build("{\"line\\nbreak" + longName + "\":" + Good.Replace("F32", "BF16") + "}", 8), "unsupported dtype BF16");
        AssertMessage(e, "'line\\u000Abreak");
        Assert.True(e.Message.Length < 300, e.Message);
    }

    [Theory]
    [InlineData("{}")]
    [InlineData("{}        ")]
    [InlineData(" \t\r\n{ } \n")]
    [InlineData("""{"__metadata__":{}}""")]
    public void EmptyHeadersAreValid(string json)
    {
        using var file = Open(Build(json, 12));
        Assert.Empty(file.Tensors);
        Assert.Empty(file.Metadata);
    }

    [Fact]
    public void GapsAndTrailingBytesInTheDataSectionAreAllowed()
    {
        // Not what our writer produces, but harmless: the ranges still fit the file and share no byte.
        byte[] data = new byte[32];
        BitConverter.TryWriteBytes(data.AsSpan(4), 3f);
        BitConverter.TryWriteBytes(data.AsSpan(16), 5f);
        using var file = Open(Build(Encoding.UTF8.GetBytes("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[16,20]},"z":{"dtype":"F32","shape":[0],"data_offsets":[20,20]}}"""), data));
        Assert.Equal([3f], file.ReadTensor("a"));
        Assert.Equal([5f], file.ReadTensor("b"));
        Assert.Empty(file.ReadTensor("z"));
    }
}
