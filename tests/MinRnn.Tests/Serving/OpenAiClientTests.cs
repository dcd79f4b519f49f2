using System.ClientModel;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using OpenAI;
using OpenAI.Chat;

namespace MinRnn.Tests.Serving;

/// <summary>A real Kestrel on a loopback port, driven by the official OpenAI .NET SDK (and plain HTTP for /v1/completions).</summary>
public sealed class OpenAiClientTests(ServerApiTests.Models models) : IClassFixture<ServerApiTests.Models>
{
    static ChatClient Chat(RunningServer server, string model = "tiny", string key = "unused") =>
        new(model, new ApiKeyCredential(key), new OpenAIClientOptions { Endpoint = new Uri(server.Address, "/v1") });

#pragma warning disable OPENAI001 // Seed is marked experimental in the SDK.
    static ChatCompletionOptions Options(long seed) => new() { MaxOutputTokenCount = 80, Temperature = 0.9f, Seed = seed };
#pragma warning restore OPENAI001

    static readonly ChatMessage[] Conversation = [new SystemChatMessage("Speak."), new UserChatMessage("Who is there?")];

    [Fact]
    public async Task TheSdksChatClientGetsAReplyWholeAndStreamedAlike()
    {
        await using var server = await RunningServer.KestrelAsync(models.Served);
        var client = Chat(server);

        ChatCompletion completion = await client.CompleteChatAsync(Conversation, Options(3));
        Assert.Equal(ChatMessageRole.Assistant, completion.Role);
        string reply = completion.Content[0].Text;
        Assert.DoesNotContain("\n\n", reply);
        Assert.Contains(completion.FinishReason, new[] { ChatFinishReason.Stop, ChatFinishReason.Length });
        Assert.Equal(reply.Length, completion.Usage.OutputTokenCount);

        var streamed = new System.Text.StringBuilder();
        ChatFinishReason? finish = null;
        int updates = 0;
        await foreach (var update in client.CompleteChatStreamingAsync(Conversation, Options(3)))
        {
            updates++;
            foreach (var part in update.ContentUpdate) streamed.Append(part.Text);
            finish ??= update.FinishReason;
        }
        Assert.Equal(reply, streamed.ToString());
        Assert.Equal(completion.FinishReason, finish);
        Assert.True(updates >= 2, $"{updates} updates");
        await server.AssertNoActiveStreamsAsync();
    }

    [Fact]
    public async Task TheSdkMapsTheServersErrors()
    {
        await using var server = await RunningServer.KestrelAsync(models.Served, MinRnn.Cli.Serving.ServeOptions.Defaults with { ApiKey = "right" });

        var unauthorized = await Assert.ThrowsAsync<ClientResultException>(() => Chat(server, key: "wrong").CompleteChatAsync(Conversation));
        Assert.Equal(401, unauthorized.Status);
        var unknown = await Assert.ThrowsAsync<ClientResultException>(() => Chat(server, "nope", "right").CompleteChatAsync(Conversation));
        Assert.Equal(404, unknown.Status);
        Assert.Contains("does not exist", unknown.Message);
        var foreign = await Assert.ThrowsAsync<ClientResultException>(() => Chat(server, key: "right").CompleteChatAsync([new UserChatMessage("¿Quién?")]));
        Assert.Equal(400, foreign.Status);
        Assert.Contains("'¿'", foreign.Message);

        ChatCompletion ok = await Chat(server, key: "right").CompleteChatAsync(Conversation, Options(1));
        Assert.NotNull(ok.Content);
    }

    [Fact]
    public async Task CompletionsOverPlainHttpOnARealSocketStreamAsTheyAreProduced()
    {
        await using var server = await RunningServer.KestrelAsync(models.Served);
        var whole = await ServerApiTests.PostAsync(server.Client, "/v1/completions", new { model = "tiny", prompt = "ROMEO:\n", max_tokens = 300, seed = 8 });
        var events = await ServerApiTests.EventsAsync(server.Client, "/v1/completions", new { model = "tiny", prompt = "ROMEO:\n", max_tokens = 300, seed = 8, stream = true });
        string streamed = string.Concat(events.SkipLast(1).Select(e => JsonDocument.Parse(e).RootElement.GetProperty("choices")[0].GetProperty("text").GetString()));
        Assert.Equal(whole.GetProperty("choices")[0].GetProperty("text").GetString(), streamed);
        Assert.Equal("[DONE]", events[^1]);

        using var refused = await server.Client.PostAsJsonAsync("/v1/completions", new { model = "tiny", prompt = "A", top_p = 2 });
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
    }
}
