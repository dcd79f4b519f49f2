using System.Globalization;

namespace MinRnn.Cli.Training;

/// <summary>Sizes in memory as people read them.</summary>
internal static class MemoryEstimate
{
    static readonly string[] Units = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];

    /// <summary>A byte count in decimal units with three significant digits: "512 B", "14.2 MB", "1.43 GB".</summary>
    public static string Format(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        double value = bytes;
        int unit = 0;
        // Test the value as shown: rounding can carry into the next unit (999,999 B is "1.00 MB", not "1000 kB").
        while (unit < Units.Length - 1 && Math.Round(value, Decimals(value)) >= 1000)
        {
            value /= 1000;
            unit++;
        }
        int decimals = unit == 0 ? 0 : Decimals(value);
        return $"{value.ToString($"F{decimals}", CultureInfo.InvariantCulture)} {Units[unit]}";
    }

    /// <summary>Decimals that leave three significant digits (0 from 100 up, where "100" has three).</summary>
    static int Decimals(double value) => value >= 99.95 ? 0 : value >= 9.995 ? 1 : 2;
}
