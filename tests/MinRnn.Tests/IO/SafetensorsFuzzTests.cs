using System.Diagnostics;
using System.Runtime.InteropServices;
using MinRnn.IO;
using Xunit.Abstractions;

namespace MinRnn.Tests.IO;

/// <summary>
/// Feeds the reader thousands of corrupted files. Each must either load, with every tensor then readable, or be rejected
/// with <see cref="InvalidDataException"/>: never another exception type, never a hang, and never an allocation out of
/// proportion to the file's size.
/// </summary>
public class SafetensorsFuzzTests(ITestOutputHelper output)
{
    /// <summary>
    /// Cases in a normal test run. For a longer soak set MINRNN_FUZZ_CASES, e.g.
    /// <c>MINRNN_FUZZ_CASES=200000 dotnet test tests/MinRnn.Tests --filter "FullyQualifiedName~SafetensorsFuzz"</c>;
    /// MINRNN_FUZZ_SEED moves the whole run to other random cases.
    /// </summary>
    private const int DefaultCases = 100_000;

    /// <summary>
    /// Allocation allowed per case beyond four times the file size (tensors and header bytes, UTF-16 names): lists,
    /// dictionaries, exceptions. A reader that trusted a forged length would allocate megabytes.
    /// </summary>
    private const long AllocationSlack = 64 * 1024;

    /// <summary>No case comes close to this; one that takes longer points to a pathological path in the reader.</summary>
    private static readonly TimeSpan SlowCase = TimeSpan.FromSeconds(2);

    private static readonly FuzzSeed[] Seeds =
    [
        FuzzSeed.Create("model",
            [("embedding.weight", [6, 4]), ("head.bias", [6]), ("head.weight", [6, 4]), ("layers.0.gate_hidden.weight", [8, 4])],
            [("architecture", "plain"), ("cell", "minGRU"), ("vocab", "ab\n\"c")], seed: 1),
        FuzzSeed.Create("empty", [], [], seed: 2),
        FuzzSeed.Create("scalar and zero-size", [("s", []), ("z", [0, 5]), ("v", [2])], [], seed: 3),
        FuzzSeed.Create("unicode", [("é.weight", [1, 3]), ("✓", [2, 1, 1])], [("vocab", "é✓😀 \\ \u0001")], seed: 4),
    ];

    [Fact]
    public async Task CorruptedFilesLoadOrThrowInvalidDataException()
    {
        int cases = EnvironmentInt("MINRNN_FUZZ_CASES", DefaultCases);
        int seed = EnvironmentInt("MINRNN_FUZZ_SEED", 20240601);
        foreach (var valid in Seeds) Assert.Equal(Outcome.Loaded, Check(valid.ToFile(), out _));

        // The cases run on their own thread so that a reader stuck in a loop fails the test instead of stalling the run.
        var clock = Stopwatch.StartNew();
        var run = Task.Factory.StartNew(() => Run(cases, seed), TaskCreationOptions.LongRunning);
        if (await Task.WhenAny(run, Task.Delay(TimeSpan.FromSeconds(120 + cases / 100))) != run)
            Assert.Fail($"fuzz run did not finish in {clock.Elapsed.TotalSeconds:F0} s; a case hangs");
        var stats = await run;

        output.WriteLine($"{cases} cases in {clock.Elapsed.TotalSeconds:F2} s: {stats.Loaded} loaded, {stats.Rejected} rejected; "
            + $"slowest {stats.Slowest.TotalMilliseconds:F1} ms; most allocated {stats.MostAllocated} bytes for a {stats.MostAllocatedFileLength}-byte file");
        // Both outcomes must be common, or the mutations are too tame or too destructive to reach the interesting checks.
        Assert.InRange(stats.Loaded, cases / 50, cases);
        Assert.InRange(stats.Rejected, cases / 2, cases);
    }

    private static Stats Run(int cases, int seed)
    {
        var stats = new Stats();
        for (int i = 0; i < cases; i++)
        {
            var mutator = new SafetensorsMutator(unchecked(seed + i * 1_000_003));
            var valid = Seeds[i % Seeds.Length];
            byte[] file = mutator.Mutate(valid);
            string Case() => $"case {i} (seed {seed}, from '{valid}': {mutator.Description})";

            var clock = Stopwatch.StartNew();
            Outcome outcome;
            long allocated;
            try
            {
                outcome = Check(file, out allocated);
            }
            catch (Exception e)
            {
                // Anything but InvalidDataException escapes Check: another exception type from the reader, or a broken promise.
                throw new Xunit.Sdk.XunitException($"{Case()} failed: {e}");
            }
            var elapsed = clock.Elapsed;

            if (outcome == Outcome.Loaded) stats.Loaded++;
            else stats.Rejected++;
            if (elapsed > stats.Slowest) stats.Slowest = elapsed;
            if (allocated > stats.MostAllocated) (stats.MostAllocated, stats.MostAllocatedFileLength) = (allocated, file.Length);
            if (elapsed > SlowCase)
                throw new Xunit.Sdk.XunitException($"{Case()} took {elapsed.TotalSeconds:F1} s");
            if (allocated > 4L * file.Length + AllocationSlack)
                throw new Xunit.Sdk.XunitException($"{Case()} allocated {allocated} bytes for a {file.Length}-byte file");
        }
        return stats;
    }

    /// <summary>
    /// Opens the file and reads everything in it; exceptions other than <see cref="InvalidDataException"/> propagate.
    /// <paramref name="allocated"/> counts the bytes the reader allocated, leaving out the checks made here.
    /// </summary>
    private static Outcome Check(byte[] file, out long allocated)
    {
        long total = 0, mark = GC.GetAllocatedBytesForCurrentThread();
        void Pause() => total += GC.GetAllocatedBytesForCurrentThread() - mark;
        void Resume() => mark = GC.GetAllocatedBytesForCurrentThread();
        try
        {
            using var opened = SafetensorsBytes.Open(file);
            Pause();
            // An independent account of what a loaded file promises: each tensor's bytes lie in the data section, no
            // byte belongs to two tensors (so together they never exceed the file), and reading returns exactly those bytes.
            int dataStart = 8 + (int)SafetensorsBytes.HeaderLength(file);
            var owner = new string?[file.Length - dataStart];
            foreach (var entry in opened.Tensors)
            {
                Resume();
                float[] data = opened.ReadTensor(entry.Name);
                Pause();
                if (data.Length != entry.ElementCount || data.Length != entry.Shape.Aggregate(1L, (a, d) => a * d))
                    throw new Xunit.Sdk.XunitException($"tensor '{entry.Name}' read {data.Length} elements, expected {entry.ElementCount}");
                if (entry.DataEnd > owner.Length || entry.DataEnd - entry.DataBegin != 4L * data.Length)
                    throw new Xunit.Sdk.XunitException($"tensor '{entry.Name}' [{entry.DataBegin}, {entry.DataEnd}] does not fit the {owner.Length}-byte data section");
                for (long b = entry.DataBegin; b < entry.DataEnd; b++)
                {
                    if (owner[b] is { } first)
                        throw new Xunit.Sdk.XunitException($"tensors '{first}' and '{entry.Name}' share byte {b}");
                    owner[b] = entry.Name;
                }
                if (!MemoryMarshal.AsBytes(data.AsSpan()).SequenceEqual(file.AsSpan(dataStart + (int)entry.DataBegin, 4 * data.Length)))
                    throw new Xunit.Sdk.XunitException($"tensor '{entry.Name}' read other bytes than its range holds");
            }
            var expected = opened.Tensors.Select(t => (t.Name, t.Shape.ToArray())).ToArray();
            Resume();
            opened.CheckTensors(expected);
            Pause();
            allocated = total;
            return Outcome.Loaded;
        }
        catch (InvalidDataException e)
        {
            Pause();
            allocated = total;
            if (!e.Message.StartsWith(SafetensorsBytes.FileName + ": ", StringComparison.Ordinal) || e.Message.Contains('\n'))
                throw new Xunit.Sdk.XunitException($"message is not one line naming the file: {e.Message}");
            return Outcome.Rejected;
        }
    }

    private static int EnvironmentInt(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), out int value) && value > 0 ? value : fallback;

    private enum Outcome { Loaded, Rejected }

    private sealed class Stats
    {
        public int Loaded, Rejected;
        public TimeSpan Slowest;
        public long MostAllocated, MostAllocatedFileLength;
    }
}
