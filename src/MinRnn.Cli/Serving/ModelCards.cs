using System.Globalization;
using System.Text.Json;

namespace MinRnn.Cli.Serving;

/// <summary>OpenAI's model objects, with a <c>card</c> that the playground shows: configuration, size, validation loss, loss curve.</summary>
internal static class ModelCards
{
    public static void WriteList(Utf8JsonWriter w, IEnumerable<ServedModel> models)
    {
        w.WriteStartObject();
        w.WriteString("object", "list");
        w.WriteStartArray("data");
        foreach (var model in models) Write(w, model, card: false);
        w.WriteEndArray();
        w.WriteEndObject();
    }

    public static void Write(Utf8JsonWriter w, ServedModel model) => Write(w, model, card: true);

    static void Write(Utf8JsonWriter w, ServedModel model, bool card)
    {
        w.WriteStartObject();
        w.WriteString("id", model.Name);
        w.WriteString("object", "model");
        w.WriteNumber("created", model.Created);
        w.WriteString("owned_by", "minrnn");
        if (card)
        {
            var c = model.Model.Config;
            w.WriteStartObject("card");
            w.WriteString("architecture", c.Architecture.ToString().ToLowerInvariant());
            w.WriteString("cell", c.Cell.ToString().ToLowerInvariant());
            w.WriteNumber("dim", c.Dim);
            w.WriteNumber("layers", c.Layers);
            w.WriteNumber("hidden", c.Hidden);
            w.WriteNumber("expansion", c.Expansion);
            w.WriteNumber("conv_kernel", c.ConvKernel);
            w.WriteNumber("mlp_multiplier", c.MlpMultiplier);
            w.WriteNumber("dropout", Math.Round(c.Dropout, 6));
            w.WriteNumber("vocabulary_size", c.VocabularySize);
            w.WriteNumber("parameters", model.Model.ParameterCount);
            WriteNumberOrNull(w, "val_loss", model.Metadata, "val_loss");
            WriteNumberOrNull(w, "step", model.Metadata, "step");
            WriteNumberOrNull(w, "context", model.Metadata, "context");
            if (model.LossCurve is null) w.WriteNull("loss_curve");
            else w.WriteString("loss_curve", $"/models/{Uri.EscapeDataString(model.Name)}/loss.png");
            w.WriteEndObject();
        }
        w.WriteEndObject();
    }

    static void WriteNumberOrNull(Utf8JsonWriter w, string name, IReadOnlyDictionary<string, string> metadata, string key)
    {
        if (metadata.TryGetValue(key, out var text) && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value))
            w.WriteNumber(name, value);
        else w.WriteNull(name);
    }
}
