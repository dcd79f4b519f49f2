using System.CommandLine;
using System.Globalization;

namespace MinRnn.Cli.Commands;

/// <summary>Integer options whose values the parser checks against a range (a usage error otherwise).</summary>
internal static class IntOption
{
    public static Option<int> InRange(string name, string description, int defaultValue, int min, int max) => new(name)
    {
        Description = $"{description} [{min}..{max}]",
        DefaultValueFactory = _ => defaultValue,
        CustomParser = result =>
        {
            string text = result.Tokens.Count > 0 ? result.Tokens[^1].Value : "";
            if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int value))
                result.AddError($"{name} expects an integer, got '{text}'.");
            else if (value < min || value > max)
                result.AddError($"{name} must be between {min} and {max}, got {value}.");
            return value;
        },
    };
}
