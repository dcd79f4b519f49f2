using System.Globalization;
using System.Text;
using System.Text.Json;

namespace MinRnn.Tests.Cli;

/// <summary>What the command-line training tests write and read: a small corpus, and the losses a run logged.</summary>
internal static class TrainRunFiles
{
    /// <summary>Writes about 20,000 characters of words and sentences, the same each time, to <paramref name="path"/>.</summary>
    public static void WriteCorpus(string path)
    {
        var text = new StringBuilder();
        var random = new Random(5);
        string[] words = ["to", "be", "or", "not", "that", "is", "the", "question", "whether", "tis", "nobler", "in", "mind"];
        while (text.Length < 20_000) text.Append(words[random.Next(words.Length)]).Append(random.Next(8) == 0 ? ".\n" : " ");
        File.WriteAllText(path, text.ToString());
    }

    /// <summary>The train and validation losses of metrics.jsonl in <paramref name="run"/>, in order, as exact strings.</summary>
    public static List<string> Losses(string run) => File.ReadLines(Path.Combine(run, "metrics.jsonl"))
        .Select(l => JsonDocument.Parse(l).RootElement)
        .Select(e => e.TryGetProperty("train_loss", out var t) ? t.GetDouble().ToString("R", CultureInfo.InvariantCulture)
            : e.GetProperty("val_loss").GetDouble().ToString("R", CultureInfo.InvariantCulture))
        .ToList();
}
