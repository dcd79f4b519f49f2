using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using MinRnn.Cli.Serving;

namespace MinRnn.Tests.Serving;

/// <summary>The API's semantics in process (TestHost): shapes, sampling, streaming, batching and limits.</summary>
public sealed class ServerApiTests(ServerApiTests.Models models) : IClassFixture<ServerApiTests.Models>
{
    public sealed class Models : IDisposable
    {
        internal ServedModels Served { get; } = new();
        public void Dispose() => Served.Dispose();
    }

    Task<RunningServer> Server(ServeOptions? options = null) => RunningServer.InMemoryAsync(models.Served, options);

    internal static async Task<JsonElement> PostAsync(HttpClient client, string path, object body, HttpStatusCode expected = HttpStatusCode.OK)
    {
        using var response = await client.PostAsJsonAsync(path, body);
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"{(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>The data of every server-sent event of a streamed answer, [DONE] included.</summary>
    internal static async Task<List<string>> EventsAsync(HttpClient client, string path, object body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body) };
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        string text = await response.Content.ReadAsStringAsync();
        return text.Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Select(e => Assert.Single(e.Split('\n')))
            .Select(line => line.StartsWith("data: ", StringComparison.Ordinal) ? line["data: ".Length..] : throw new Xunit.Sdk.XunitException($"not an event: {line}"))
            .ToList();
    }

    static string Text(JsonElement answer, int choice = 0) => answer.GetProperty("choices")[choice].GetProperty("text").GetString()!;

    [Fact]
    public async Task ModelsListTheServedCheckpointsWithTheirCards()
    {
        await using var server = await Server();
        var list = JsonDocument.Parse(await server.Client.GetStringAsync("/v1/models")).RootElement;
        Assert.Equal("list", list.GetProperty("object").GetString());
        var entry = Assert.Single(list.GetProperty("data").EnumerateArray());
        Assert.Equal("tiny", entry.GetProperty("id").GetString());
        Assert.Equal("model", entry.GetProperty("object").GetString());

        var card = JsonDocument.Parse(await server.Client.GetStringAsync("/v1/models/tiny")).RootElement.GetProperty("card");
        Assert.Equal(24, card.GetProperty("dim").GetInt32());
        Assert.Equal(ServedModels.Characters.Length, card.GetProperty("vocabulary_size").GetInt32());
        Assert.Equal(models.Served.Models["tiny"].Model.ParameterCount, card.GetProperty("parameters").GetInt64());
        Assert.Equal("/models/tiny/loss.png", card.GetProperty("loss_curve").GetString());
        using var png = await server.Client.GetAsync("/models/tiny/loss.png");
        Assert.Equal("image/png", png.Content.Headers.ContentType?.MediaType);

        var health = JsonDocument.Parse(await server.Client.GetStringAsync("/health")).RootElement;
        Assert.Equal("ok", health.GetProperty("status").GetString());
        Assert.Contains("text/html", (await server.Client.GetAsync("/")).Content.Headers.ContentType!.ToString());
    }

    [Fact]
    public async Task ACompletionHasItsLengthUsageAndFinishReasonAndTheSameSeedGivesTheSameText()
    {
        await using var server = await Server();
        var body = new { model = "tiny", prompt = "ROMEO:\n", max_tokens = 40, seed = 5 };
        var answer = await PostAsync(server.Client, "/v1/completions", body);

        Assert.Equal("text_completion", answer.GetProperty("object").GetString());
        Assert.StartsWith("cmpl-", answer.GetProperty("id").GetString());
        Assert.Equal(40, Text(answer).Length);
        Assert.Equal("length", answer.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        var usage = answer.GetProperty("usage");
        Assert.Equal(7, usage.GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(40, usage.GetProperty("completion_tokens").GetInt32());
        Assert.Equal(47, usage.GetProperty("total_tokens").GetInt32());

        Assert.Equal(Text(answer), Text(await PostAsync(server.Client, "/v1/completions", body)));
        Assert.NotEqual(Text(answer), Text(await PostAsync(server.Client, "/v1/completions", new { model = "tiny", prompt = "ROMEO:\n", max_tokens = 40, seed = 6 })));
        // Temperature 0 is greedy whatever the seed.
        string greedy = Text(await PostAsync(server.Client, "/v1/completions", new { model = "tiny", prompt = "ROMEO:\n", max_tokens = 30, temperature = 0, seed = 1 }));
        Assert.Equal(greedy, Text(await PostAsync(server.Client, "/v1/completions", new { model = "tiny", prompt = "ROMEO:\n", max_tokens = 30, temperature = 0, seed = 2 })));
    }

    [Fact]
    public async Task PromptsTimesNAreChoicesInOrderAndEachIsItsOwnSeededStream()
    {
        await using var server = await Server();
        var answer = await PostAsync(server.Client, "/v1/completions", new { model = "tiny", prompt = new[] { "Hello", "Good night" }, n = 2, max_tokens = 25, seed = 100, echo = true });
        var choices = answer.GetProperty("choices").EnumerateArray().ToList();
        Assert.Equal([0, 1, 2, 3], choices.Select(c => c.GetProperty("index").GetInt32()));
        Assert.All(choices.Take(2), c => Assert.StartsWith("Hello", c.GetProperty("text").GetString()));
        Assert.All(choices.Skip(2), c => Assert.StartsWith("Good night", c.GetProperty("text").GetString()));
        Assert.Equal(4 * 25, answer.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        // Choice i samples with seed + i: choice 3 is prompt 1 with seed 103 alone.
        var alone = await PostAsync(server.Client, "/v1/completions", new { model = "tiny", prompt = "Good night", max_tokens = 25, seed = 103, echo = true });
        Assert.Equal(Text(alone), choices[3].GetProperty("text").GetString());
    }

    [Fact]
    public async Task AStopSequenceEndsTheTextBeforeIt()
    {
        await using var server = await Server();
        var body = new { model = "tiny", prompt = "Hi", max_tokens = 120, seed = 21 };
        string text = Text(await PostAsync(server.Client, "/v1/completions", body));
        string stop = text.Substring(50, 3);

        foreach (bool stream in new[] { false, true })
        {
            string stopped;
            string? finish;
            var request = new { body.model, body.prompt, body.max_tokens, body.seed, stop = new[] { "@@@", stop }, stream };
            if (!stream)
            {
                var answer = await PostAsync(server.Client, "/v1/completions", request);
                stopped = Text(answer);
                finish = answer.GetProperty("choices")[0].GetProperty("finish_reason").GetString();
            }
            else
            {
                var chunks = (await EventsAsync(server.Client, "/v1/completions", request)).SkipLast(1).Select(e => JsonDocument.Parse(e).RootElement).ToList();
                stopped = string.Concat(chunks.Select(c => Text(c)));
                finish = chunks[^1].GetProperty("choices")[0].GetProperty("finish_reason").GetString();
            }
            Assert.Equal(text[..text.IndexOf(stop, StringComparison.Ordinal)], stopped);
            Assert.Equal("stop", finish);
        }
    }

    [Fact]
    public async Task LogprobsReportTheTopCharactersOfEachPosition()
    {
        await using var server = await Server();
        var answer = await PostAsync(server.Client, "/v1/completions", new { model = "tiny", prompt = "Hey", max_tokens = 12, seed = 4, logprobs = 3, echo = true });
        var choice = answer.GetProperty("choices")[0];
        var logprobs = choice.GetProperty("logprobs");
        var tokens = logprobs.GetProperty("tokens").EnumerateArray().Select(t => t.GetString()).ToList();
        Assert.Equal(choice.GetProperty("text").GetString(), string.Concat(tokens));
        Assert.Equal(15, tokens.Count);
        var tokenLogprobs = logprobs.GetProperty("token_logprobs").EnumerateArray().ToList();
        Assert.Equal(JsonValueKind.Null, tokenLogprobs[0].ValueKind); // the first echoed character has no context
        Assert.All(tokenLogprobs.Skip(1), lp => Assert.True(lp.GetDouble() <= 0));
        var tops = logprobs.GetProperty("top_logprobs").EnumerateArray().Skip(1).ToList();
        Assert.All(tops, top =>
        {
            var values = top.EnumerateObject().Select(p => p.Value.GetDouble()).ToList();
            Assert.Equal(3, values.Count);
            Assert.True(values.Sum(Math.Exp) <= 1 + 1e-9);
            Assert.Equal(values.OrderByDescending(v => v), values);
        });
        Assert.Equal(Enumerable.Range(0, 15), logprobs.GetProperty("text_offset").EnumerateArray().Select(o => o.GetInt32()));
    }

    [Fact]
    public async Task StreamingSendsTheTextOfTheWholeAnswerInChunksThenDone()
    {
        await using var server = await Server();
        var body = new { model = "tiny", prompt = "ROMEO:\n", max_tokens = 60, seed = 9 };
        string whole = Text(await PostAsync(server.Client, "/v1/completions", body));

        var events = await EventsAsync(server.Client, "/v1/completions", new { body.model, body.prompt, body.max_tokens, body.seed, stream = true });
        Assert.Equal("[DONE]", events[^1]);
        var chunks = events.SkipLast(1).Select(e => JsonDocument.Parse(e).RootElement).ToList();
        Assert.All(chunks, c => Assert.Equal("text_completion", c.GetProperty("object").GetString()));
        Assert.Equal(whole, string.Concat(chunks.Select(c => Text(c))));
        Assert.All(chunks.SkipLast(1), c => Assert.Equal(JsonValueKind.Null, c.GetProperty("choices")[0].GetProperty("finish_reason").ValueKind));
        Assert.Equal("length", chunks[^1].GetProperty("choices")[0].GetProperty("finish_reason").GetString());
    }

    [Fact]
    public async Task ChatFollowsTheDialogueTemplateAndEndsAtABlankLine()
    {
        var speakers = new Dictionary<string, string>(ServeOptions.DefaultChatNames) { ["user"] = "ROMEO", ["assistant"] = "JULIET" };
        Assert.Equal("ROMEO:\nHello\n\nNURSE:\nAway!\n\nJULIET:\n", ChatTemplate.Prompt([("user", null, "Hello\n"), ("user", "NURSE", "Away!")], speakers));

        await using var server = await Server();
        var body = new { model = "tiny", messages = new object[] { new { role = "system", content = "Be brief." }, new { role = "user", content = "Who goes there?" } }, max_tokens = 300, seed = 2 };
        var answer = await PostAsync(server.Client, "/v1/chat/completions", body);
        Assert.Equal("chat.completion", answer.GetProperty("object").GetString());
        var message = answer.GetProperty("choices")[0].GetProperty("message");
        Assert.Equal("assistant", message.GetProperty("role").GetString());
        string reply = message.GetProperty("content").GetString()!;
        Assert.DoesNotContain("\n\n", reply);
        string finish = answer.GetProperty("choices")[0].GetProperty("finish_reason").GetString()!;
        Assert.True(finish == "stop" || reply.Length == 300, $"{finish}: {reply.Length} characters");
        // The prompt is the template's: "SYSTEM:\nBe brief.\n\nUSER:\nWho goes there?\n\nASSISTANT:\n".
        Assert.Equal(53, answer.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());

        var events = await EventsAsync(server.Client, "/v1/chat/completions", new { body.model, body.messages, body.max_tokens, body.seed, stream = true });
        var chunks = events.SkipLast(1).Select(e => JsonDocument.Parse(e).RootElement).ToList();
        Assert.Equal("assistant", chunks[0].GetProperty("choices")[0].GetProperty("delta").GetProperty("role").GetString());
        Assert.All(chunks, c => Assert.Equal("chat.completion.chunk", c.GetProperty("object").GetString()));
        Assert.Equal(reply, string.Concat(chunks.Select(c => c.GetProperty("choices")[0].GetProperty("delta").TryGetProperty("content", out var t) ? t.GetString() : "")));
        Assert.Equal(finish, chunks[^1].GetProperty("choices")[0].GetProperty("finish_reason").GetString());
    }

    [Fact]
    public async Task ASeededRequestGivesTheSameTextAloneOrBesideFifteenOthers()
    {
        await using var server = await Server();
        object Body(int seed) => new { model = "tiny", prompt = "ROMEO:\n", max_tokens = 200, seed, temperature = 0.9 };
        string alone = Text(await PostAsync(server.Client, "/v1/completions", Body(42)));

        var crowd = Enumerable.Range(0, 16).Select(i => PostAsync(server.Client, "/v1/completions", Body(i == 7 ? 42 : 1000 + i))).ToList();
        var answers = await Task.WhenAll(crowd);

        Assert.Equal(alone, Text(answers[7]));
        Assert.Equal(15, answers.Where((_, i) => i != 7).Select(a => Text(a)).Distinct().Count());
        await server.AssertNoActiveStreamsAsync();
    }

    [Fact]
    public async Task AtTheStreamLimitRequestsGet429WithRetryAfterAndAStreamLeavingFreesItsSlot()
    {
        await using var server = await Server(ServeOptions.Defaults with { MaxConcurrent = 2, MaxTokens = 1_000_000 });
        using var cancel = new CancellationTokenSource();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions")
        {
            Content = JsonContent.Create(new { model = "tiny", prompt = "A", max_tokens = 1_000_000, n = 2, stream = true }),
        };
        var response = await server.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancel.Token);
        var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancel.Token));
        Assert.StartsWith("data: ", await reader.ReadLineAsync(cancel.Token));
        Assert.Equal(2, server.Service.ActiveStreams);

        using var refused = await server.Client.PostAsJsonAsync("/v1/completions", new { model = "tiny", prompt = "B", max_tokens = 5 });
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Equal("1", refused.Headers.RetryAfter?.ToString());
        var error = JsonDocument.Parse(await refused.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
        Assert.Equal("rate_limit_exceeded", error.GetProperty("code").GetString());

        cancel.Cancel(); // the client goes away mid-stream
        response.Dispose();
        await server.AssertNoActiveStreamsAsync();
        await PostAsync(server.Client, "/v1/completions", new { model = "tiny", prompt = "B", max_tokens = 5 });
    }

    [Fact]
    public async Task MetricsCountRequestsStreamsCharactersAndBatchSizes()
    {
        await using var server = await Server();
        await PostAsync(server.Client, "/v1/completions", new { model = "tiny", prompt = "A", max_tokens = 10, n = 3 });
        await PostAsync(server.Client, "/v1/completions", new { model = "nope", prompt = "A" }, HttpStatusCode.NotFound);
        string metrics = await server.Client.GetStringAsync("/metrics");
        Assert.Contains("minrnn_http_requests_total{status=\"200\"} 1", metrics);
        Assert.Contains("minrnn_http_requests_total{status=\"404\"} 1", metrics);
        Assert.Contains("minrnn_generated_characters_total{model=\"tiny\"} 30", metrics);
        Assert.Contains("minrnn_active_streams 0", metrics);
        Assert.Contains("minrnn_batch_size_count{model=\"tiny\"} 9", metrics); // 9 steps of 3 streams after the first characters
    }

    [Fact]
    public async Task WithAnApiKeyEveryV1RequestNeedsItAndThePageAndHealthDoNot()
    {
        await using var server = await Server(ServeOptions.Defaults with { ApiKey = "s3cret" });
        using (var missing = await server.Client.GetAsync("/v1/models"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, missing.StatusCode);
            Assert.Equal("invalid_api_key", JsonDocument.Parse(await missing.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("code").GetString());
        }
        foreach (string header in new[] { "Bearer wrong", "Bearer s3cre", "s3cret", "Basic s3cret" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions") { Content = JsonContent.Create(new { model = "tiny", prompt = "A" }) };
            request.Headers.TryAddWithoutValidation("Authorization", header);
            using var response = await server.Client.SendAsync(request);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }
        server.Client.DefaultRequestHeaders.Authorization = new("Bearer", "s3cret");
        await PostAsync(server.Client, "/v1/completions", new { model = "tiny", prompt = "A", max_tokens = 3 });
        server.Client.DefaultRequestHeaders.Authorization = null;
        Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync("/health")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync("/")).StatusCode);
    }

    [Fact]
    public async Task CorsHeadersOnlyForTheConfiguredOrigin()
    {
        foreach (string? origin in new[] { null, "http://localhost:3000" })
        {
            await using var server = await Server(ServeOptions.Defaults with { Cors = origin });
            using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/models");
            request.Headers.Add("Origin", "http://localhost:3000");
            using var response = await server.Client.SendAsync(request);
            Assert.Equal(origin is not null, response.Headers.Contains("Access-Control-Allow-Origin"));
        }
    }

    public static TheoryData<string, string, int, string?> BadRequests => new()
    {
        { "/v1/completions", "{\"model\": \"tiny\", \"prompt\": ", 400, null },
        { "/v1/completions", "[1, 2]", 400, null },
        { "/v1/completions", "{\"prompt\": \"A\"}", 400, "model" },
        { "/v1/completions", "{\"model\": 3, \"prompt\": \"A\"}", 400, "model" },
        { "/v1/completions", "{\"model\": \"nope\", \"prompt\": \"A\"}", 404, "model" },
        { "/v1/completions", "{\"model\": \"tiny\"}", 400, "prompt" },
        { "/v1/completions", "{\"model\": \"tiny\", \"prompt\": 7}", 400, "prompt" },
        { "/v1/completions", "{\"model\": \"tiny\", \"prompt\": \"\"}", 400, "prompt" },
        { "/v1/completions", "{\"model\": \"tiny\", \"prompt\": []}", 400, "prompt" },
        { "/v1/completions", "{\"model\": \"tiny\", \"prompt\": \"caf\u00e9 \u4f60\"}", 400, "prompt" },
        { "/v1/completions", "{\"model\": \"tiny\", \"prompt\": \"A\", \"max_tokens\": \"ten\"}", 400, "max_tokens" },
        { "/v1/completions", "{\"model\": \"tiny\", \"prompt\": \"A\", \"max_tokens\": 0}", 400, "max_tokens" },
        { "/v1/completions", "{\"model\": \"tiny\", \"prompt\": \"A\", \"max_tokens\": 5000}", 400, "max_tokens" },
        { "/v1/completions", "{\"model\": \"tiny\", \"prompt\": \"A\", \"max_tokens\": 1.5}", 400, "max_tokens" },
        { "/v1/completions", "{\"model\": \"tiny\", \"prompt\": \"A\", \"temperature\": -1}", 400, "temperature" },
        { "/v1/completions", "{\"model\": \"tiny\", \"prompt\": \"A\", \"temperature\": \"hot\"}", 400, "temperature" },
        { "/v1/completions", "{\"model\": \"tiny\", \"prompt\": \"A\", \"top_p\": 0}", 400, "top_p" },
        { "/v1/completions", "{\"model\": \"tiny\", \"prompt\": \"A\", \"top_k\": -2}", 400, "top_k" },
        { "/v1/completions", "{\"model\": \"tiny\", \"prompt\": \"A\", \"n\": 0}", 400, "n" },
        { "/v1/completions", "{\"model\": \"tiny\", \"prompt\": \"A\", \"n\": 17}", 400, "n" },
        { "/v1/completions", "{\"model\": \"tiny\", \"prompt\": \"A\", \"stop\": 5}", 400, "stop" },
        { "/v1/completions", "{\"model\": \"tiny\", \"prompt\": \"A\", \"stop\": [\"a\", \"b\", \"c\", \"d\", \"e\"]}", 400, "stop" },
        { "/v1/completions", "{\"model\": \"tiny\", \"prompt\": \"A\", \"seed\": \"x\"}", 400, "seed" },
        { "/v1/completions", "{\"model\": \"tiny\", \"prompt\": \"A\", \"stream\": \"yes\"}", 400, "stream" },
        { "/v1/completions", "{\"model\": \"tiny\", \"prompt\": \"A\", \"logprobs\": 21}", 400, "logprobs" },
        { "/v1/completions", "{\"model\": \"tiny\", \"prompt\": \"A\", \"echo\": 1}", 400, "echo" },
        { "/v1/chat/completions", "{\"model\": \"tiny\"}", 400, "messages" },
        { "/v1/chat/completions", "{\"model\": \"tiny\", \"messages\": []}", 400, "messages" },
        { "/v1/chat/completions", "{\"model\": \"tiny\", \"messages\": [\"hi\"]}", 400, "messages[0]" },
        { "/v1/chat/completions", "{\"model\": \"tiny\", \"messages\": [{\"role\": \"robot\", \"content\": \"hi\"}]}", 400, "messages[0].role" },
        { "/v1/chat/completions", "{\"model\": \"tiny\", \"messages\": [{\"role\": \"user\", \"content\": \"\u00bfqu\u00e9?\"}]}", 400, "messages[0].content" },
        { "/v1/chat/completions", "{\"model\": \"tiny\", \"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"image_url\"}]}]}", 400, "messages[0].content" },
        { "/v1/chat/completions", "{\"model\": \"tiny\", \"messages\": [{\"role\": \"user\", \"name\": \"Z\u00e9\", \"content\": \"hi\"}]}", 400, "messages[0].name" },
        { "/v1/chat/completions", "{\"model\": \"tiny\", \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"logprobs\": true}", 400, "logprobs" },
        { "/v1/nothing", "{}", 404, null },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task BadInputIsA4xxWithOpenAIsErrorObjectAndTheServerGoesOn(string path, string body, int status, string? param)
    {
        await using var server = await Server();
        using var response = await server.Client.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(status, (int)response.StatusCode);
        var error = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!;
        Assert.False(string.IsNullOrWhiteSpace(error["message"]!.GetValue<string>()));
        Assert.DoesNotContain('\n', error["message"]!.GetValue<string>());
        Assert.Equal(param, error["param"]?.GetValue<string>());
        Assert.NotNull(error["type"]);
        Assert.True(error.AsObject().ContainsKey("code"));
        if (body.Contains("\u4f60")) Assert.Contains("'你'", error["message"]!.GetValue<string>());
        await PostAsync(server.Client, "/v1/completions", new { model = "tiny", prompt = "A", max_tokens = 3 });
        await server.AssertNoActiveStreamsAsync();
    }

    [Fact]
    public async Task AnEndpointCalledWithTheWrongMethodIs405()
    {
        await using var server = await Server();
        foreach (var (method, path) in new[] { ("GET", "/v1/completions"), ("PUT", "/v1/chat/completions"), ("POST", "/v1/models") })
        {
            using var response = await server.Client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));
            Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
            Assert.Equal("method_not_allowed", JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!["code"]!.GetValue<string>());
        }
    }

    [Fact]
    public async Task ABodyOverTheLimitIs413()
    {
        await using var server = await Server(ServeOptions.Defaults with { MaxBodyBytes = 1000 });
        using var response = await server.Client.PostAsync("/v1/completions",
            new StringContent($"{{\"model\": \"tiny\", \"prompt\": \"{new string('a', 2000)}\"}}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("request_too_large", JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!["code"]!.GetValue<string>());
    }

    [Fact]
    public async Task APromptOverTheLimitIs400()
    {
        await using var server = await Server(ServeOptions.Defaults with { MaxPrompt = 100 });
        var error = await PostAsync(server.Client, "/v1/completions", new { model = "tiny", prompt = new string('a', 101) }, HttpStatusCode.BadRequest);
        Assert.Contains("limit is 100", error.GetProperty("error").GetProperty("message").GetString());
    }

    [Fact]
    public async Task ARequestLargerThanTheStreamLimitIs400AndOneDuringShutdownIs503()
    {
        await using var server = await Server(ServeOptions.Defaults with { MaxConcurrent = 4 });
        var tooMany = await PostAsync(server.Client, "/v1/completions", new { model = "tiny", prompt = new[] { "A", "B", "C" }, n = 2 }, HttpStatusCode.BadRequest);
        Assert.Contains("needs 6 streams", tooMany.GetProperty("error").GetProperty("message").GetString());

        server.Service.Stop();
        var stopping = await PostAsync(server.Client, "/v1/completions", new { model = "tiny", prompt = "A" }, HttpStatusCode.ServiceUnavailable);
        Assert.Equal("server_shutting_down", stopping.GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task AModelThatFailsIsA500ForItsRequestsAndTheServerServesOn()
    {
        // A copy of the model whose cell weights are NaN: its forward refuses the non-finite pre-activations.
        string broken = Path.Combine(Path.GetDirectoryName(models.Served.Checkpoint)!, "broken.safetensors");
        using (var file = MinRnn.IO.SafetensorsFile.Open(models.Served.Checkpoint))
        {
            var tensors = file.Tensors.Select(t => new MinRnn.IO.NamedTensor(t.Name, [.. t.Shape],
                t.Name.Contains("cell") ? Enumerable.Repeat(float.NaN, t.ElementCount).ToArray() : file.ReadTensor(t.Name))).ToList();
            MinRnn.IO.SafetensorsWriter.WriteFile(broken, tensors, file.Metadata);
        }
        var served = new Dictionary<string, ServedModel>(models.Served.Models) { ["broken"] = ServedModel.Load("broken", broken) };
        await using var server = await RunningServer.InMemoryAsync(served);

        var failed = await PostAsync(server.Client, "/v1/completions", new { model = "broken", prompt = "A", max_tokens = 5 }, HttpStatusCode.InternalServerError);
        Assert.Equal("model_failed", failed.GetProperty("error").GetProperty("code").GetString());
        var events = await EventsAsync(server.Client, "/v1/completions", new { model = "broken", prompt = "A", max_tokens = 5, stream = true });
        Assert.Equal("model_failed", JsonDocument.Parse(Assert.Single(events)).RootElement.GetProperty("error").GetProperty("code").GetString());

        await PostAsync(server.Client, "/v1/completions", new { model = "tiny", prompt = "A", max_tokens = 5 });
        await server.AssertNoActiveStreamsAsync();
    }
}
