using System.Buffers.Binary;
using System.Text;
using MinRnn.IO;

namespace MinRnn.Tests.IO;

/// <summary>Builds safetensors files byte by byte, bypassing the writer, and opens them from memory.</summary>
internal static class SafetensorsBytes
{
    public const string FileName = "test.safetensors";

    /// <summary>Length prefix, header and data; <paramref name="declaredLength"/> overrides the true header length.</summary>
    public static byte[] Build(ReadOnlySpan<byte> header, ReadOnlySpan<byte> data, ulong? declaredLength = null)
    {
        var file = new byte[8 + header.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(file, declaredLength ?? (ulong)header.Length);
        header.CopyTo(file.AsSpan(8));
        data.CopyTo(file.AsSpan(8 + header.Length));
        return file;
    }

    /// <summary>A file whose header is <paramref name="json"/> followed by <paramref name="dataBytes"/> zero bytes.</summary>
    public static byte[] Build(string json, int dataBytes = 0) => Build(Encoding.UTF8.GetBytes(json), new byte[dataBytes]);

    public static SafetensorsFile Open(byte[] file) => SafetensorsFile.Open(new MemoryStream(file, writable: false), FileName);

    /// <summary>Asserts that opening <paramref name="file"/> fails with a one-line message naming the file and containing <paramref name="fragment"/>.</summary>
    public static InvalidDataException AssertRejected(byte[] file, string fragment)
    {
        var e = Assert.Throws<InvalidDataException>(() => Open(file).Dispose());
        AssertMessage(e, fragment);
        return e;
    }

    public static void AssertMessage(InvalidDataException e, string fragment)
    {
        Assert.StartsWith(FileName + ": ", e.Message);
        Assert.Contains(fragment, e.Message);
        Assert.DoesNotContain('\n', e.Message);
        Assert.DoesNotContain('\r', e.Message);
    }

    public static byte[] Write(IEnumerable<NamedTensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var stream = new MemoryStream();
        SafetensorsWriter.Write(stream, tensors, metadata);
        return stream.ToArray();
    }

    public static ulong HeaderLength(byte[] file) => BinaryPrimitives.ReadUInt64LittleEndian(file);
}
