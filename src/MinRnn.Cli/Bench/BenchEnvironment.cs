using System.Runtime.InteropServices;
using MinRnn.Kernels;

namespace MinRnn.Cli.Bench;

/// <summary>The machine and runtime a benchmark ran on, printed above the results.</summary>
internal sealed record BenchEnvironment(DateTimeOffset Date, string Cpu, int Threads, string Simd, int SimdLanes,
    string DotNet, string Os)
{
    /// <summary>Describes this process, with <paramref name="threads"/> as the multi-threaded thread count.</summary>
    public static BenchEnvironment Capture(int threads) => new(
        DateTimeOffset.UtcNow,
        CpuModel(),
        threads,
        SimdName(Kernels.Simd.Width),
        (int)Kernels.Simd.Width,
        RuntimeInformation.FrameworkDescription,
        RuntimeInformation.OSDescription);

    /// <summary>The "model name" of /proc/cpuinfo, or the processor architecture where there is none.</summary>
    static string CpuModel()
    {
        const string cpuinfo = "/proc/cpuinfo";
        if (File.Exists(cpuinfo))
        {
            foreach (string line in File.ReadLines(cpuinfo))
            {
                int colon = line.IndexOf(':');
                if (colon > 0 && line[..colon].Trim() == "model name" && line[(colon + 1)..].Trim() is { Length: > 0 } model)
                    return model;
            }
        }
        return $"{RuntimeInformation.ProcessArchitecture} processor, {Environment.ProcessorCount} logical cores";
    }

    /// <summary>The vector type of a width, e.g. "Vector512".</summary>
    public static string SimdName(SimdWidth width) => width switch
    {
        SimdWidth.Bits512 => "Vector512",
        SimdWidth.Bits256 => "Vector256",
        SimdWidth.Bits128 => "Vector128",
        _ => "scalar",
    };
}
