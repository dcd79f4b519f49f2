using System.Text.Json;
using System.Diagnostics;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace MinRnn.Cli.Serving;

/// <summary>
/// Answers a <see cref="GenerationRequest"/> in OpenAI's shapes: one JSON object when it is done, or server-sent events
/// as the text is produced (<c>text_completion</c> or <c>chat.completion.chunk</c> objects, then <c>data: [DONE]</c>).
/// An event carries every character of its choice that has arrived since the last one, and a response sends at most one
/// batch of events per <see cref="EventInterval"/>: the first characters go out at once, and a fast stream then sends a
/// few characters per event instead of paying for an event (a JSON object, a write and a flush) per character.
/// </summary>
internal sealed class CompletionResponder(GenerationService service)
{
    /// <summary>The least time between two batches of events of one response.</summary>
    static readonly TimeSpan EventInterval = TimeSpan.FromMilliseconds(2);

    public async Task RespondAsync(HttpContext context, GenerationRequest request, bool stream, bool chat)
    {
        var aborted = context.RequestAborted;
        var reader = service.Start(request, aborted);
        var answer = new Answer(chat ? "chatcmpl-" : "cmpl-", request, chat);
        if (!stream)
        {
            int open = request.Streams;
            while (open > 0)
            {
                var e = await reader.ReadAsync(aborted);
                answer.Add(e);
                if (e.FinishReason is not null) open--;
            }
            if (answer.Failed) throw ModelFailed();
            await JsonBody.WriteAsync(context.Response, answer.WriteWhole);
            return;
        }

        var response = context.Response;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        if (chat)
            for (int choice = 0; choice < request.Streams; choice++)
                await JsonBody.WriteEventAsync(response, JsonBody.Bytes(w => answer.WriteChunk(w, choice, "", null, null, role: true)), aborted);
        else await response.Body.FlushAsync(aborted);
        int remaining = request.Streams;
        var pending = new List<StreamEvent>();
        long lastBatch = 0;
        while (remaining > 0)
        {
            var wait = EventInterval - Stopwatch.GetElapsedTime(lastBatch);
            if (lastBatch != 0 && wait > TimeSpan.Zero) await Task.Delay(wait, aborted);
            pending.Add(await reader.ReadAsync(aborted));
            lastBatch = Stopwatch.GetTimestamp();
            while (reader.TryRead(out var more)) pending.Add(more);
            foreach (var group in pending.GroupBy(e => e.Choice))
            {
                var text = string.Concat(group.Select(e => e.Text));
                var logprobs = group.Any(e => e.Logprobs is not null) ? group.SelectMany(e => e.Logprobs ?? []).ToList() : null;
                string? finish = group.Select(e => e.FinishReason).LastOrDefault(f => f is not null);
                foreach (var e in group) answer.Add(e);
                if (finish is not null) remaining--;
                if (finish == StreamEvent.Failed)
                {
                    var error = ModelFailed();
                    await JsonBody.WriteEventAsync(response, JsonBody.Bytes(w => ApiException.WriteError(w, error.Message, error.Type, null, error.Code)), aborted);
                    return;
                }
                if (text.Length == 0 && finish is null && logprobs is null) continue;
                await JsonBody.WriteEventAsync(response, JsonBody.Bytes(w => answer.WriteChunk(w, group.Key, text, logprobs, finish, role: false)), aborted);
            }
            pending.Clear();
        }
        await response.Body.WriteAsync("data: [DONE]\n\n"u8.ToArray(), aborted);
        await response.Body.FlushAsync(aborted);
    }

    static ApiException ModelFailed() =>
        new(500, "the model failed on this request (its weights give a non-finite value); the server's log says more.", null, "model_failed", "server_error");

    /// <summary>What a request has produced so far, and how each shape writes it.</summary>
    sealed class Answer(string prefix, GenerationRequest request, bool chat)
    {
        readonly string id = prefix + Guid.NewGuid().ToString("N")[..24];
        readonly long created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        readonly StringBuilder[] texts = Enumerable.Range(0, request.Streams).Select(_ => new StringBuilder()).ToArray();
        readonly List<TokenLogprob>?[] logprobs = new List<TokenLogprob>?[request.Streams];
        readonly string?[] finishReasons = new string?[request.Streams];
        int generated;

        /// <summary>Whether the model failed on any choice.</summary>
        public bool Failed { get; private set; }

        public void Add(StreamEvent e)
        {
            Failed |= e.FinishReason == StreamEvent.Failed;
            texts[e.Choice].Append(e.Text);
            if (e.Logprobs is not null) (logprobs[e.Choice] ??= []).AddRange(e.Logprobs);
            finishReasons[e.Choice] ??= e.FinishReason;
        }

        void Header(Utf8JsonWriter w, string objectType)
        {
            w.WriteString("id", id);
            w.WriteString("object", objectType);
            w.WriteNumber("created", created);
            w.WriteString("model", request.Model.Name);
        }

        public void WriteWhole(Utf8JsonWriter w)
        {
            w.WriteStartObject();
            Header(w, chat ? "chat.completion" : "text_completion");
            w.WriteStartArray("choices");
            for (int choice = 0; choice < texts.Length; choice++)
            {
                string text = texts[choice].ToString();
                string echoed = request.Echo ? request.Prompts[choice / request.N].Text : "";
                generated += CountCharacters(text[echoed.Length..]);
                w.WriteStartObject();
                w.WriteNumber("index", choice);
                if (chat)
                {
                    w.WriteStartObject("message");
                    w.WriteString("role", "assistant");
                    w.WriteString("content", text);
                    w.WriteEndObject();
                }
                else w.WriteString("text", text);
                WriteLogprobs(w, logprobs[choice]);
                w.WriteString("finish_reason", finishReasons[choice]);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartObject("usage");
            w.WriteNumber("prompt_tokens", request.PromptTokens);
            w.WriteNumber("completion_tokens", generated);
            w.WriteNumber("total_tokens", request.PromptTokens + generated);
            w.WriteEndObject();
            w.WriteEndObject();
        }

        public void WriteChunk(Utf8JsonWriter w, int choice, string text, IReadOnlyList<TokenLogprob>? chunkLogprobs, string? finish, bool role)
        {
            w.WriteStartObject();
            Header(w, chat ? "chat.completion.chunk" : "text_completion");
            w.WriteStartArray("choices");
            w.WriteStartObject();
            w.WriteNumber("index", choice);
            if (chat)
            {
                w.WriteStartObject("delta");
                if (role) w.WriteString("role", "assistant");
                if (role || text.Length > 0) w.WriteString("content", text);
                w.WriteEndObject();
            }
            else w.WriteString("text", text);
            WriteLogprobs(w, chunkLogprobs);
            w.WriteString("finish_reason", finish);
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteEndObject();
        }

        /// <summary>The legacy completions' logprobs object: tokens, token_logprobs, top_logprobs, text_offset; null when not asked for.</summary>
        static void WriteLogprobs(Utf8JsonWriter w, IReadOnlyList<TokenLogprob>? items)
        {
            if (items is null)
            {
                w.WriteNull("logprobs");
                return;
            }
            w.WriteStartObject("logprobs");
            w.WriteStartArray("tokens");
            foreach (var item in items) w.WriteStringValue(item.Token);
            w.WriteEndArray();
            w.WriteStartArray("token_logprobs");
            foreach (var item in items)
                if (item.Logprob is { } lp) w.WriteNumberValue(lp); else w.WriteNullValue();
            w.WriteEndArray();
            w.WriteStartArray("top_logprobs");
            foreach (var item in items)
            {
                if (item.Top is null) { w.WriteNullValue(); continue; }
                w.WriteStartObject();
                foreach (var (token, lp) in item.Top) w.WriteNumber(token, lp);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartArray("text_offset");
            foreach (var item in items) w.WriteNumberValue(item.Offset);
            w.WriteEndArray();
            w.WriteEndObject();
        }

        static int CountCharacters(string text) => text.EnumerateRunes().Count();
    }
}
