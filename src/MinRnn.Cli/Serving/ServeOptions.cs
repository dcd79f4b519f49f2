namespace MinRnn.Cli.Serving;

/// <summary>The settings of <c>minrnn serve</c>.</summary>
/// <param name="Host">The address to listen on (loopback by default).</param>
/// <param name="Port">The port; 0 picks a free one.</param>
/// <param name="ApiKey">The key every /v1 request must send as <c>Authorization: Bearer KEY</c>, or null for none.</param>
/// <param name="MaxConcurrent">Streams generating at once, over all requests and models; more get 429.</param>
/// <param name="MaxTokens">The largest <c>max_tokens</c> a request may ask for (and the chat default).</param>
/// <param name="MaxPrompt">The longest prompt, in characters, summed over a request's prompts or messages.</param>
/// <param name="MaxN">The largest <c>n</c>.</param>
/// <param name="MaxBodyBytes">The largest request body.</param>
/// <param name="Cors">The origin allowed to call the API from a browser, or null for none.</param>
/// <param name="ChatNames">The speaker name of each chat role.</param>
/// <param name="ShutdownGrace">How long open streams may run on after Ctrl+C or SIGTERM before they are ended.</param>
internal sealed record ServeOptions(string Host, int Port, string? ApiKey, int MaxConcurrent, int MaxTokens, int MaxPrompt, int MaxN,
    long MaxBodyBytes, string? Cors, IReadOnlyDictionary<string, string> ChatNames, TimeSpan ShutdownGrace)
{
    /// <summary>USER, ASSISTANT and SYSTEM (and DEVELOPER, OpenAI's newer name for the system role).</summary>
    public static IReadOnlyDictionary<string, string> DefaultChatNames { get; } = new Dictionary<string, string>
    {
        ["user"] = "USER", ["assistant"] = "ASSISTANT", ["system"] = "SYSTEM", ["developer"] = "SYSTEM",
    };

    public static ServeOptions Defaults { get; } = new("127.0.0.1", 8080, null, 64, 4096, 65_536, 16, 1 << 20, null, DefaultChatNames, TimeSpan.FromSeconds(2));
}
