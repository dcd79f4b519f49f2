using System.Diagnostics;
using System.Text.Json;
using MinRnn.IO;
using MinRnn.Tests.Cli;
using MinRnn.Tests.Data;

namespace MinRnn.Tests.Distributed;

/// <summary>
/// <c>mpirun -np 2 minrnn train</c> on this machine (one thread per rank): the same run as one process, to float rounding;
/// the same run twice, bit for bit; a rank killed ends the job and <c>--resume</c> continues it exactly, on any number of
/// ranks; and the launcher's failures are one line.
/// </summary>
[Collection(nameof(DataParallelTrainingTests))]
public sealed class DataParallelTrainingTests : IDisposable
{
    readonly TempDirectory directory = new();

    public void Dispose() => directory.Dispose();

    /// <summary>A tiny model with dropout (each rank draws the masks of its rows of the batch), a learning rate high enough to move every weight.</summary>
    static string[] Flags(string output, int steps = 20, int batch = 8, params string[] more) =>
    [
        "train", "--data", SharedData.TinyShakespearePath(), "--out", output, "--preset", "quick", "--dim", "32", "--layers", "2",
        "--batch", batch.ToString(), "--context", "64", "--steps", steps.ToString(), "--decay-steps", "20", "--warmup", "2", "--lr", "3e-3",
        "--dropout", "0.2", "--eval-every", "10", "--seed", "3", "--threads", "1", .. more,
    ];

    /// <summary>mpirun starting <paramref name="ranks"/> ranks of the tool with <paramref name="args"/>.</summary>
    static ProcessStartInfo MpiRun(int ranks, params string[] args)
    {
        var start = new ProcessStartInfo("mpirun");
        foreach (var a in new[] { "--oversubscribe", "--bind-to", "none", "--stdin", "none" }) start.ArgumentList.Add(a);
        AddRanks(start, ranks, args);
        // Containers and CI run as root, which Open MPI refuses unless told.
        start.Environment["OMPI_ALLOW_RUN_AS_ROOT"] = start.Environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1";
        return start;
    }

    /// <summary>Appends "-np N dotnet minrnn.dll ARGS" (with the tool's environment) to an mpirun command line.</summary>
    static void AddRanks(ProcessStartInfo mpirun, int ranks, string[] args)
    {
        var tool = CliRunner.Command(args);
        foreach (var a in new[] { "-np", ranks.ToString(), tool.FileName }.Concat(tool.ArgumentList)) mpirun.ArgumentList.Add(a);
        foreach (var (key, value) in tool.Environment) mpirun.Environment[key] = value;
    }

    static CliRunner.Result Run(ProcessStartInfo start)
    {
        using var process = CliRunner.Start(start);
        using var _ = CliRunner.KillWhenDone(process);
        return CliRunner.Finish(process, process.StandardOutput.ReadToEndAsync(), process.StandardError.ReadToEndAsync());
    }

    static void Succeeds(CliRunner.Result result) => Assert.True(result.ExitCode == 0, $"exit {result.ExitCode}: {result.Error}\n{result.Output}");

    /// <summary>The losses of metrics.jsonl, train and eval lines in order.</summary>
    static double[] Losses(string run) => [.. File.ReadLines(Path.Combine(run, "metrics.jsonl")).Select(line =>
    {
        using var json = JsonDocument.Parse(line);
        var root = json.RootElement;
        return root.GetProperty(root.GetProperty("kind").GetString() == "train" ? "train_loss" : "val_loss").GetDouble();
    })];

    static float[] Weights(string run)
    {
        using var file = SafetensorsFile.Open(Path.Combine(run, "last.safetensors"));
        return [.. file.Tensors.OrderBy(e => e.Name, StringComparer.Ordinal).SelectMany(e => file.ReadTensor(e.Name))];
    }

    [Fact]
    public void BenchTrainUnderMpirunTrainsEachBatchAcrossTheRanksAndTimesTheAllReduce()
    {
        var result = Run(MpiRun(2, "bench", "train", "--preset", "quick", "--steps", "1", "--threads", "1", "--breakdown", "--json"));
        Succeeds(result);
        // Rank 0 alone prints: the output is one JSON object.
        using var json = JsonDocument.Parse(result.Output);
        var root = json.RootElement;
        Assert.Equal(2, root.GetProperty("ranks").GetInt32());
        var results = root.GetProperty("results").EnumerateArray().ToList();
        Assert.NotEmpty(results);
        foreach (var cell in results)
        {
            Assert.True(cell.GetProperty("tokens_per_s").GetDouble() > 0);
            var allReduce = Assert.Single(cell.GetProperty("breakdown").EnumerateArray(),
                row => row.GetProperty("operation").GetString() == "all-reduce of the gradients");
            Assert.Equal(1, allReduce.GetProperty("calls_per_step").GetDouble());
            Assert.True(allReduce.GetProperty("ms_per_step").GetDouble() > 0);
        }
    }

    [Fact]
    public void TwoRanksTrainAsOneProcessDoesToFloatRoundingAndTwiceAlikeBitForBit()
    {
        string one = directory.File("one"), two = directory.File("two"), again = directory.File("again");
        Succeeds(CliRunner.Run(Flags(one)));
        var first = Run(MpiRun(2, Flags(two)));
        Succeeds(first);
        Assert.Contains("ranks     2 processes (mpirun), 4 sequences of each batch per rank", first.Output);
        Assert.Equal(1, first.Output.Split('\n').Count(l => l.Contains("model     residual minGRU 2x32", StringComparison.Ordinal))); // rank 0 alone prints
        Succeeds(Run(MpiRun(2, Flags(again))));

        // Each rank's weight gradient is a sum over its half of the rows, and the halves are then added: another order of
        // the same float additions than one sum over all rows, ~1e-7 relative per gradient. Adam's normalised steps carry
        // such differences through 20 steps at lr 3e-3 as ~1e-7 in the weights (3e-7 measured) and ~1e-8 in the losses.
        double[] single = Losses(one), parallel = Losses(two);
        Assert.Equal(single.Length, parallel.Length);
        for (int i = 0; i < single.Length; i++) Assert.True(Math.Abs(single[i] - parallel[i]) <= 1e-6, $"loss {i}: {single[i]} vs {parallel[i]}");
        float[] expected = Weights(one), actual = Weights(two);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-5 + 1e-4 * Math.Abs(expected[i]), $"weight {i}: {expected[i]} vs {actual[i]}");
        Assert.NotEqual(Weights(one), Weights(two)); // the reduction order does show: the comparison above is not vacuous

        Assert.Equal(parallel, Losses(again));
        Assert.Equal(actual, Weights(again));
    }

    [Fact]
    public async Task AKilledRankEndsTheJobAndResumeContinuesExactlyOnAnyNumberOfRanks()
    {
        string killed = directory.File("killed"), whole = directory.File("whole"), onOne = directory.File("on-one");
        Succeeds(Run(MpiRun(2, Flags(whole, steps: 40))));

        // Far more steps than it will take: a rank is killed after the checkpoint of step 10 and before the last.
        using (var mpirun = CliRunner.Start(MpiRun(2, Flags(killed, steps: 1_000_000))))
        using (CliRunner.KillWhenDone(mpirun))
        {
            var output = mpirun.StandardOutput.ReadToEndAsync();
            var error = mpirun.StandardError.ReadToEndAsync();
            var deadline = Stopwatch.StartNew();
            while (!File.Exists(Path.Combine(killed, "state.safetensors")) && deadline.Elapsed < TimeSpan.FromMinutes(2) && !mpirun.HasExited) Thread.Sleep(20);
            if (mpirun.HasExited) Assert.Fail($"mpirun ended early: {await error}");
            Process.GetProcessById(ChildrenOf(mpirun.Id).First()).Kill();
            Assert.True(mpirun.WaitForExit(TimeSpan.FromMinutes(1)), "mpirun did not end after a rank was killed");
            Assert.NotEqual(0, mpirun.ExitCode);
            await Task.WhenAll(output, error);
        }
        CopyDirectory(killed, onOne);

        // --steps may change on resume; --decay-steps 20 keeps the schedule that of the 40-step run.
        Succeeds(Run(MpiRun(2, "train", "--data", SharedData.TinyShakespearePath(), "--out", killed, "--resume", "--steps", "40", "--threads", "1")));
        Assert.Equal(Weights(whole), Weights(killed));
        Assert.Equal(Losses(whole)[^5..], Losses(killed)[^5..]);

        // The same checkpoint resumed by one process: the same run, to the rounding of the reduction.
        Succeeds(CliRunner.Run("train", "--data", SharedData.TinyShakespearePath(), "--out", onOne, "--resume", "--steps", "40", "--threads", "1"));
        float[] expected = Weights(whole), actual = Weights(onOne);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-5 + 1e-4 * Math.Abs(expected[i]), $"weight {i}: {expected[i]} vs {actual[i]}");
    }

    [Fact]
    public void ABatchTheRanksCannotShareOrRanksThatDisagreeAreOneLineAndWriteNothing()
    {
        string output = directory.File("bad");
        var odd = Run(MpiRun(3, Flags(output, batch: 8)));
        AssertOneLine(odd, "--batch 8 must divide evenly among the 3 ranks");
        Assert.False(Directory.Exists(output));

        // Two ranks started with different weight decays (mpirun's colon syntax runs a different command per rank).
        var start = MpiRun(1, Flags(output));
        start.ArgumentList.Add(":");
        AddRanks(start, 1, Flags(output, more: ["--weight-decay", "0.2"]));
        AssertOneLine(Run(start), "the 2 ranks were started with different settings or data");
        Assert.False(Directory.Exists(output));
    }

    [Fact]
    public void UnderALauncherWithoutMpiItSaysSoInOneLineAndWritesNothing()
    {
        string output = directory.File("no-mpi");
        var start = CliRunner.Command(Flags(output));
        start.Environment["OMPI_COMM_WORLD_SIZE"] = "2";
        start.Environment["OMPI_COMM_WORLD_RANK"] = "0";
        start.Environment["MINRNN_MPI_LIBRARY"] = directory.File("libmpi.so.40");
        var result = Run(start);
        CliRunner.AssertOneLineError(result, 1, "started by mpirun, but");
        Assert.Contains("could not be loaded", result.Error);
        Assert.False(Directory.Exists(output));

        start.Environment["OMPI_COMM_WORLD_RANK"] = "1"; // the other ranks leave the saying to rank 0
        var other = Run(start);
        Assert.Equal(1, other.ExitCode);
        Assert.Equal("", other.Error);
    }

    /// <summary>Exactly one of our error lines in all the ranks' output (mpirun adds its own report of the exit codes), and a failure.</summary>
    static void AssertOneLine(CliRunner.Result result, string fragment)
    {
        Assert.NotEqual(0, result.ExitCode);
        var ours = result.Error.Split('\n').Where(l => l.StartsWith("minrnn: error: ", StringComparison.Ordinal)).ToArray();
        Assert.True(ours.Length == 1, $"expected one error line, got: {result.Error}");
        Assert.Contains(fragment, ours[0]);
    }

    /// <summary>The processes whose parent is <paramref name="parent"/> (mpirun's ranks), from /proc.</summary>
    static IEnumerable<int> ChildrenOf(int parent) =>
        Directory.EnumerateDirectories("/proc").Select(Path.GetFileName).Where(n => n!.All(char.IsAsciiDigit)).Select(n => int.Parse(n!))
            .Where(pid =>
            {
                try
                {
                    string stat = File.ReadAllText($"/proc/{pid}/stat");
                    return int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1]) == parent;
                }
                catch (IOException) { return false; }
            });

    static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from)) File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
    }
}
