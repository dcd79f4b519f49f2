using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace MinRnn.Cli.Bench;

/// <summary>Writes a <see cref="BenchReport"/> as one indented JSON object (camelCase, nulls left out).</summary>
internal static class BenchJson
{
    static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, // "×" and "ᵀ" as they are, not \u escapes
    };

    public static void Write(TextWriter output, BenchReport report) =>
        output.WriteLine(JsonSerializer.Serialize(report, Options));
}
