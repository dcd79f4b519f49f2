using System.Text.Json;

namespace MinRnn.Cli.Serving;

/// <summary>
/// Reads the JSON body of <c>/v1/completions</c> and <c>/v1/chat/completions</c> into a <see cref="GenerationRequest"/>,
/// checking every field: a missing or mistyped field, a value out of range, an unknown model or a character outside the
/// model's vocabulary is an <see cref="ApiException"/> naming the field.
/// </summary>
internal sealed class RequestParser(IReadOnlyDictionary<string, ServedModel> models, ServeOptions options)
{
    /// <summary>OpenAI's limit on stop sequences.</summary>
    const int MaxStops = 4;
    const int MaxLogprobs = 20;
    /// <summary>OpenAI's default <c>max_tokens</c> of a completion.</summary>
    const int CompletionDefaultTokens = 16;

    public (GenerationRequest Request, bool Stream) Completion(JsonElement body)
    {
        RequireObject(body);
        var model = Model(body);
        var texts = Prompts(body);
        var prompts = texts.Select((text, i) => (text, Encode(model, text, texts.Count == 1 ? "prompt" : $"prompt[{i}]"))).ToList();
        var request = new GenerationRequest(model, prompts, N(body), MaxTokens(body, CompletionDefaultTokens), Sampling(body), Stops(body, []),
            Int(body, "logprobs", 0, 0, MaxLogprobs), Bool(body, "echo", false));
        return (request, Bool(body, "stream", false));
    }

    public (GenerationRequest Request, bool Stream) Chat(JsonElement body)
    {
        RequireObject(body);
        var model = Model(body);
        if (body.TryGetProperty("logprobs", out var logprobs) && logprobs.ValueKind == JsonValueKind.True)
            throw ApiException.Invalid("logprobs", "logprobs is not supported for chat completions; /v1/completions reports them.");
        var messages = Messages(body);
        string prompt = ChatTemplate.Prompt(messages, options.ChatNames);
        if (prompt.Length > options.MaxPrompt)
            throw ApiException.Invalid("messages", $"the messages make a prompt of {prompt.Length} characters; the limit is {options.MaxPrompt}.");
        for (int i = 0; i < messages.Count; i++)
        {
            string param = $"messages[{i}]";
            Encode(model, (messages[i].Name ?? options.ChatNames[messages[i].Role]) + ":", messages[i].Name is null ? param + ".role" : param + ".name");
            Encode(model, messages[i].Content, param + ".content");
        }
        var tokens = Encode(model, prompt, "messages");
        var request = new GenerationRequest(model, [(prompt, tokens)], N(body), MaxTokens(body, options.MaxTokens), Sampling(body),
            Stops(body, [ChatTemplate.EndOfReply]), 0, false);
        return (request, Bool(body, "stream", false));
    }

    static void RequireObject(JsonElement body)
    {
        if (body.ValueKind != JsonValueKind.Object) throw new ApiException(400, "the request body must be a JSON object.", null, "invalid_json");
    }

    ServedModel Model(JsonElement body)
    {
        string name = String(body, "model") ?? throw ApiException.Invalid("model", "model is required: the name of a served model (GET /v1/models).");
        return models.TryGetValue(name, out var model) ? model
            : throw new ApiException(404, $"the model '{Clip(name)}' does not exist; this server has {string.Join(", ", models.Keys.Select(k => $"'{k}'"))}.", "model", "model_not_found");
    }

    List<string> Prompts(JsonElement body)
    {
        if (!body.TryGetProperty("prompt", out var prompt)) throw ApiException.Invalid("prompt", "prompt is required: a string or an array of strings.");
        List<string> texts = prompt.ValueKind switch
        {
            JsonValueKind.String => [prompt.GetString()!],
            JsonValueKind.Array when prompt.GetArrayLength() > 0 && prompt.EnumerateArray().All(p => p.ValueKind == JsonValueKind.String) =>
                prompt.EnumerateArray().Select(p => p.GetString()!).ToList(),
            _ => throw ApiException.Invalid("prompt", "prompt must be a string or a non-empty array of strings."),
        };
        if (texts.Any(t => t.Length == 0)) throw ApiException.Invalid("prompt", "a prompt must hold at least one character.");
        int total = texts.Sum(t => t.Length);
        if (total > options.MaxPrompt) throw ApiException.Invalid("prompt", $"the prompt has {total} characters; the limit is {options.MaxPrompt}.");
        return texts;
    }

    List<(string Role, string? Name, string Content)> Messages(JsonElement body)
    {
        if (!body.TryGetProperty("messages", out var messages) || messages.ValueKind != JsonValueKind.Array || messages.GetArrayLength() == 0)
            throw ApiException.Invalid("messages", "messages is required: a non-empty array of {role, content} objects.");
        var list = new List<(string, string?, string)>();
        int i = 0;
        foreach (var message in messages.EnumerateArray())
        {
            string param = $"messages[{i++}]";
            if (message.ValueKind != JsonValueKind.Object) throw ApiException.Invalid(param, $"{param} must be an object with a role and a content.");
            string role = String(message, "role", param + ".role") ?? throw ApiException.Invalid(param + ".role", $"{param}.role is required.");
            if (!options.ChatNames.ContainsKey(role))
                throw ApiException.Invalid(param + ".role", $"{param}.role must be one of {string.Join(", ", options.ChatNames.Keys)}, got '{Clip(role)}'.");
            string? name = String(message, "name", param + ".name");
            if (name is { Length: 0 } || name?.Contains('\n') == true) throw ApiException.Invalid(param + ".name", $"{param}.name must be one line of at least one character.");
            list.Add((role, name, Content(message, param + ".content")));
        }
        return list;
    }

    /// <summary>A message's content: a string, or an array of text parts (OpenAI's content parts; only "text" is readable here).</summary>
    static string Content(JsonElement message, string param)
    {
        if (!message.TryGetProperty("content", out var content) || content.ValueKind == JsonValueKind.Null) return "";
        if (content.ValueKind == JsonValueKind.String) return content.GetString()!;
        if (content.ValueKind != JsonValueKind.Array) throw ApiException.Invalid(param, $"{param} must be a string or an array of text parts.");
        var text = new System.Text.StringBuilder();
        foreach (var part in content.EnumerateArray())
        {
            if (part.ValueKind != JsonValueKind.Object || String(part, "type", param) != "text" || String(part, "text", param) is not { } piece)
                throw ApiException.Invalid(param, $"{param} may hold text parts only ({{\"type\": \"text\", \"text\": …}}): a character model reads nothing else.");
            text.Append(piece);
        }
        return text.ToString();
    }

    int N(JsonElement body) => Int(body, "n", 1, 1, options.MaxN);

    int MaxTokens(JsonElement body, int fallback)
    {
        // Chat clients send max_completion_tokens, the newer name.
        string name = body.TryGetProperty("max_completion_tokens", out _) ? "max_completion_tokens" : "max_tokens";
        return Int(body, name, Math.Min(fallback, options.MaxTokens), 1, options.MaxTokens);
    }

    static SamplingOptions Sampling(JsonElement body) => new()
    {
        Temperature = Number(body, "temperature", 1, 0, 2),
        TopP = Number(body, "top_p", 1, double.Epsilon, 1),
        TopK = Int(body, "top_k", 0, 0, int.MaxValue),
        Seed = Seed(body),
    };

    /// <summary>The request's seed, or a fresh random one: unseeded requests differ from one another.</summary>
    static ulong Seed(JsonElement body)
    {
        if (!body.TryGetProperty("seed", out var seed) || seed.ValueKind == JsonValueKind.Null)
            return BitConverter.ToUInt64(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8));
        if (seed.ValueKind == JsonValueKind.Number && seed.TryGetInt64(out long signed)) return unchecked((ulong)signed);
        if (seed.ValueKind == JsonValueKind.Number && seed.TryGetUInt64(out ulong value)) return value;
        throw ApiException.Invalid("seed", "seed must be an integer.");
    }

    static IReadOnlyList<string> Stops(JsonElement body, IReadOnlyList<string> always)
    {
        if (!body.TryGetProperty("stop", out var stop) || stop.ValueKind == JsonValueKind.Null) return always;
        List<string> stops = stop.ValueKind switch
        {
            JsonValueKind.String => [stop.GetString()!],
            JsonValueKind.Array when stop.EnumerateArray().All(s => s.ValueKind == JsonValueKind.String) => stop.EnumerateArray().Select(s => s.GetString()!).ToList(),
            _ => throw ApiException.Invalid("stop", "stop must be a string or an array of strings."),
        };
        if (stops.Count > MaxStops || stops.Any(s => s.Length == 0))
            throw ApiException.Invalid("stop", $"stop may hold up to {MaxStops} sequences, each of at least one character.");
        return [.. always, .. stops];
    }

    static int[] Encode(ServedModel model, string text, string param)
    {
        try { return model.Vocabulary.Encode(text); }
        catch (ArgumentException e) { throw ApiException.Invalid(param, $"{param}: {e.Message}"); }
    }

    static string? String(JsonElement body, string name, string? param = null)
    {
        if (!body.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null) return null;
        return value.ValueKind == JsonValueKind.String ? value.GetString() : throw ApiException.Invalid(param ?? name, $"{param ?? name} must be a string.");
    }

    static bool Bool(JsonElement body, string name, bool fallback)
    {
        if (!body.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null) return fallback;
        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw ApiException.Invalid(name, $"{name} must be true or false."),
        };
    }

    static int Int(JsonElement body, string name, int fallback, int min, int max)
    {
        if (!body.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null) return fallback;
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out long x)) throw ApiException.Invalid(name, $"{name} must be an integer.");
        return x >= min && x <= max ? (int)x : throw ApiException.Invalid(name, $"{name} must be between {min} and {max}, got {x}.");
    }

    static double Number(JsonElement body, string name, double fallback, double min, double max)
    {
        if (!body.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null) return fallback;
        if (value.ValueKind != JsonValueKind.Number) throw ApiException.Invalid(name, $"{name} must be a number.");
        double x = value.GetDouble();
        return x >= min && x <= max ? x : throw ApiException.Invalid(name, $"{name} must be between {(min == double.Epsilon ? "0 (excluded)" : min)} and {max}, got {x}.");
    }

    /// <summary>Client text quoted in a message, shortened.</summary>
    static string Clip(string text) => text.Length <= 80 ? text : text[..80] + "…";
}
