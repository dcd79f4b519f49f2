using MinRnn.IO;
using static MinRnn.Tests.IO.SafetensorsBytes;

namespace MinRnn.Tests.IO;

public class SafetensorsFileTests
{
    private static readonly NamedTensor[] Tensors =
    [
        new("embedding.weight", [5, 2], TestData.Uniform(10, 1)),
        new("head.bias", [5], TestData.Uniform(5, 2)),
        new("head.weight", [5, 2], TestData.Uniform(10, 3)),
    ];

    private static (string, int[])[] Expected() => Tensors.Select(t => (t.Name, t.Shape)).ToArray();

    [Fact]
    public void CheckTensorsAcceptsAnExactMatchInAnyOrder()
    {
        using var file = Open(Write(Tensors));
        file.CheckTensors(Expected().Reverse());
    }

    [Fact]
    public void CheckTensorsListsMissingUnexpectedAndMisshapenTensors()
    {
        using var file = Open(Write(Tensors));
        var e = Assert.Throws<InvalidDataException>(() => file.CheckTensors(
            [("embedding.weight", [5, 3]), ("head.bias", [5]), ("layers.0.gate_hidden.weight", [4, 2])]));
        AssertMessage(e, "tensors do not match the model (3 differences): "
            + "'embedding.weight' is [5, 2], expected [5, 3]; missing 'layers.0.gate_hidden.weight' [4, 2]; unexpected 'head.weight' [5, 2]");
    }

    [Fact]
    public void CheckTensorsSummarisesLongLists()
    {
        using var file = Open(Write(Tensors));
        var expected = Enumerable.Range(0, 10).Select(i => ($"layers.{i}.norm1.weight", new[] { 2 }));
        var e = Assert.Throws<InvalidDataException>(() => file.CheckTensors(expected));
        AssertMessage(e, "(13 differences): missing 'layers.0.norm1.weight' [2]; ");
        AssertMessage(e, "; and 8 more");
    }

    [Fact]
    public void CheckTensorsRejectsAnExpectedNameGivenTwice()
    {
        using var file = Open(Write(Tensors));
        Assert.Throws<ArgumentException>(() => file.CheckTensors([("head.bias", [5]), ("head.bias", [5])]));
    }

    [Fact]
    public void MissingTensorIsAFormatErrorAndTryMethodsReturnFalse()
    {
        using var file = Open(Write(Tensors));
        AssertMessage(Assert.Throws<InvalidDataException>(() => file.ReadTensor("norm_f.weight")), "no tensor named 'norm_f.weight'");
        Assert.False(file.TryReadTensor("norm_f.weight", out var data));
        Assert.Null(data);
        Assert.False(file.TryGetTensor("norm_f.weight", out _));
        Assert.True(file.TryReadTensor("head.bias", out data));
        Assert.Equal(Tensors[1].Data.ToArray(), data);
    }

    [Fact]
    public void ReadTensorIntoASpanNeedsTheExactLength()
    {
        using var file = Open(Write(Tensors));
        var destination = new float[10];
        file.ReadTensor("head.weight", destination);
        Assert.Equal(Tensors[2].Data.ToArray(), destination);
        Assert.Throws<ArgumentException>(() => file.ReadTensor("head.weight", new float[11]));
    }

    [Fact]
    public void StreamIsReadFromItsCurrentPosition()
    {
        byte[] file = Write(Tensors);
        var stream = new MemoryStream();
        stream.Write("prefix that is not part of the file"u8);
        long origin = stream.Position;
        stream.Write(file);
        stream.Position = origin;

        using var opened = SafetensorsFile.Open(stream, "embedded");
        Assert.Equal(Tensors[0].Data.ToArray(), opened.ReadTensor("embedding.weight"));
    }

    [Fact]
    public void StreamIsDisposedWithTheFileOrOnFailureUnlessLeftOpen()
    {
        var stream = new MemoryStream(Write(Tensors));
        SafetensorsFile.Open(stream, "a", leaveOpen: true).Dispose();
        Assert.True(stream.CanRead);
        stream.Position = 0;
        SafetensorsFile.Open(stream, "a").Dispose();
        Assert.False(stream.CanRead);

        var bad = new MemoryStream(new byte[3]);
        Assert.Throws<InvalidDataException>(() => SafetensorsFile.Open(bad, "bad", leaveOpen: true));
        Assert.True(bad.CanRead);
        Assert.Throws<InvalidDataException>(() => SafetensorsFile.Open(bad, "bad"));
        Assert.False(bad.CanRead);
    }

    [Fact]
    public void ReadingAfterDisposeThrows()
    {
        var file = Open(Write(Tensors));
        file.Dispose();
        Assert.Throws<ObjectDisposedException>(() => file.ReadTensor("head.bias"));
    }

    [Fact]
    public void NonSeekableStreamIsAnArgumentError()
    {
        using var file = new NonSeekable(Write(Tensors));
        Assert.Throws<ArgumentException>(() => SafetensorsFile.Open(file, "pipe"));
    }

    [Fact]
    public void FileTruncatedAfterOpeningIsAFormatError()
    {
        var stream = new MemoryStream();
        stream.Write(Write(Tensors));
        stream.Position = 0;
        using var file = SafetensorsFile.Open(stream, FileName);
        stream.SetLength(stream.Length - 4);
        AssertMessage(Assert.Throws<InvalidDataException>(() => file.ReadTensor("head.weight")), "file ended inside tensor 'head.weight'");
    }

    [Fact]
    public void OpenFromPathNamesThePathInErrors()
    {
        using var dir = new TempDirectory();
        string path = Path.Combine(dir.Path, "bad.safetensors");
        File.WriteAllBytes(path, Build("""{"a":1}"""));
        var e = Assert.Throws<InvalidDataException>(() => SafetensorsFile.Open(path));
        Assert.Equal($"{path}: tensor 'a' is not a JSON object", e.Message);
    }

    /// <summary>A readable stream without seeking, like a pipe.</summary>
    private sealed class NonSeekable(byte[] content) : MemoryStream(content)
    {
        public override bool CanSeek => false;
    }
}
