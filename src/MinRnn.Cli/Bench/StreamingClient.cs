using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text.Json;
using MinRnn.Cli.Serving;

namespace MinRnn.Cli.Bench;

/// <summary>
/// One client of <c>minrnn bench serve</c>: sends a streaming <c>/v1/completions</c> request and reads its server-sent
/// events as they arrive, noting when each one came and how many characters of text it held.
/// </summary>
internal static class StreamingClient
{
    /// <summary>
    /// What one request saw, in <see cref="Stopwatch"/> ticks. <paramref name="Gaps"/> holds, for every event with text
    /// after the first, its delay since the previous event with text divided by its k characters, k times over: each
    /// character counts once, at the pace its event delivered it.
    /// </summary>
    public sealed record Trace(long Sent, long FirstCharacter, long Done, int Characters, List<double> Gaps);

    /// <summary>Asks for <paramref name="characters"/> characters after <paramref name="prompt"/> and reads them to <c>data: [DONE]</c>.</summary>
    /// <exception cref="InvalidOperationException">The server refused the request or ended the stream early.</exception>
    public static async Task<Trace> CompleteAsync(HttpClient http, string model, string prompt, int characters, ulong seed)
    {
        var body = JsonBody.Bytes(w =>
        {
            w.WriteStartObject();
            w.WriteString("model", model);
            w.WriteString("prompt", prompt);
            w.WriteNumber("max_tokens", characters);
            w.WriteNumber("temperature", 1);
            w.WriteNumber("seed", seed);
            w.WriteBoolean("stream", true);
            w.WriteEndObject();
        });
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/completions") { Content = new ReadOnlyMemoryContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");

        long sent = Stopwatch.GetTimestamp();
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        if (!response.IsSuccessStatusCode)
            throw new InvalidOperationException($"the server answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        long first = 0, previous = 0;
        int received = 0;
        var gaps = new List<double>(characters);
        while (await reader.ReadLineAsync() is { } line)
        {
            if (!line.StartsWith("data: ", StringComparison.Ordinal)) continue;
            long now = Stopwatch.GetTimestamp();
            if (line == "data: [DONE]")
            {
                if (received < characters)
                    throw new InvalidOperationException($"the stream ended after {received} of {characters} characters.");
                return new Trace(sent, first, now, received, gaps);
            }
            int k = TextLength(line.AsMemory("data: ".Length));
            if (k == 0) continue;
            if (received == 0) first = now;
            else
            {
                double gap = Stopwatch.GetElapsedTime(previous, now).TotalSeconds / k;
                for (int i = 0; i < k; i++) gaps.Add(gap);
            }
            previous = now;
            received += k;
        }
        throw new InvalidOperationException($"the stream closed after {received} of {characters} characters, without data: [DONE].");
    }

    /// <summary>The characters (Unicode scalar values) of <c>choices[0].text</c> in one event's JSON.</summary>
    static int TextLength(ReadOnlyMemory<char> json)
    {
        using var chunk = JsonDocument.Parse(json);
        string text = chunk.RootElement.GetProperty("choices")[0].GetProperty("text").GetString() ?? "";
        return text.EnumerateRunes().Count();
    }
}
