using System.Buffers;
using MinRnn.IO;

namespace MinRnn.Tests.IO;

public class AtomicFileTests
{
    private static readonly byte[] OldContent = "old checkpoint"u8.ToArray();

    [Fact]
    public void WriteLeavesOnlyTheTargetFile()
    {
        using var dir = new TempDirectory();
        string path = Path.Combine(dir.Path, "model.safetensors");
        File.WriteAllBytes(path, OldContent);

        AtomicFile.Write(path, stream => stream.Write("new"u8));

        Assert.Equal("new"u8.ToArray(), File.ReadAllBytes(path));
        Assert.Equal(["model.safetensors"], dir.Files());
    }

    [Fact]
    public void LeftoversOfKilledWritesAreRemovedAndNothingElse()
    {
        using var dir = new TempDirectory();
        string[] leftovers = [$".last.safetensors.{Guid.NewGuid():N}.tmp", $".loss.png.{Guid.NewGuid():N}.tmp"];
        string[] kept = ["last.safetensors", ".notes.tmp", ".x.1234.tmp", "a.tmp"];
        foreach (string name in leftovers.Concat(kept)) File.WriteAllBytes(Path.Combine(dir.Path, name), OldContent);

        Assert.Equal(2, AtomicFile.RemoveLeftovers(dir.Path));

        Assert.Equal(kept.Order(StringComparer.Ordinal), dir.Files().Order(StringComparer.Ordinal));
    }

    [Fact]
    public void FailureInsideTheWriteKeepsTheOldFileAndRemovesTheTemporary()
    {
        using var dir = new TempDirectory();
        string path = Path.Combine(dir.Path, "model.safetensors");
        File.WriteAllBytes(path, OldContent);

        Assert.Throws<IOException>(() => AtomicFile.Write(path, stream =>
        {
            stream.Write(new byte[100_000]);
            throw new IOException("disk full");
        }));

        Assert.Equal(OldContent, File.ReadAllBytes(path));
        Assert.Equal(["model.safetensors"], dir.Files());
    }

    [Fact]
    public void TensorDataThatFailsMidwayKeepsTheOldFile()
    {
        using var dir = new TempDirectory();
        string path = Path.Combine(dir.Path, "model.safetensors");
        File.WriteAllBytes(path, OldContent);
        // "b" sorts after "a", so the header and a's data are already in the temporary file when b's data fails.
        NamedTensor[] tensors = [new("a", [1000], new float[1000]), new("b", [1000], new FailingMemory(1000).Memory)];

        Assert.Throws<IOException>(() => SafetensorsWriter.WriteFile(path, tensors));

        Assert.Equal(OldContent, File.ReadAllBytes(path));
        Assert.Equal(["model.safetensors"], dir.Files());
    }

    [Fact]
    public void TensorSourceThatFailsLeavesNoFileBehind()
    {
        using var dir = new TempDirectory();
        string path = Path.Combine(dir.Path, "model.safetensors");

        Assert.Throws<InvalidOperationException>(() => SafetensorsWriter.WriteFile(path, FailingSource()));

        Assert.Empty(dir.Files());

        static IEnumerable<NamedTensor> FailingSource()
        {
            yield return new NamedTensor("a", [2], new float[2]);
            throw new InvalidOperationException("parameter source failed");
        }
    }

    [Fact]
    public void FailingRenameKeepsWhatIsThereAndRemovesTheTemporary()
    {
        using var dir = new TempDirectory();
        // A directory cannot be replaced by a file, so the final rename fails even for root.
        string path = Path.Combine(dir.Path, "model.safetensors");
        Directory.CreateDirectory(path);

        Assert.ThrowsAny<IOException>(() => SafetensorsWriter.WriteFile(path, [new("a", [1], new[] { 1f })]));

        Assert.True(Directory.Exists(path));
        Assert.Equal(["model.safetensors"], dir.Files());
    }

    [Fact]
    public void MissingDirectoryThrowsWithoutCreatingAnything()
    {
        using var dir = new TempDirectory();
        string path = Path.Combine(dir.Path, "missing", "model.safetensors");

        Assert.Throws<DirectoryNotFoundException>(() => AtomicFile.Write(path, stream => stream.WriteByte(1)));

        Assert.Empty(dir.Files());
    }

    /// <summary>Tensor data whose memory throws when the writer asks for it, as a failing device or mapping would.</summary>
    private sealed class FailingMemory(int length) : MemoryManager<float>
    {
        public override Span<float> GetSpan() => throw new IOException("data source failed");

        public override Memory<float> Memory => CreateMemory(length);

        public override MemoryHandle Pin(int elementIndex = 0) => throw new NotSupportedException();

        public override void Unpin() => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
        }
    }
}
