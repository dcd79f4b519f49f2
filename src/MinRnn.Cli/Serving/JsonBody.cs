using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace MinRnn.Cli.Serving;

/// <summary>Reads request bodies within the size limit, and writes JSON and server-sent events without synchronous I/O.</summary>
internal static class JsonBody
{
    /// <summary>The body as a JSON document.</summary>
    /// <exception cref="ApiException">413 over <paramref name="maxBytes"/>; 400 when it is not JSON.</exception>
    public static async Task<JsonDocument> ReadAsync(HttpRequest request, long maxBytes, CancellationToken cancellation)
    {
        if (request.ContentLength > maxBytes) throw TooLarge(maxBytes);
        var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellation)) > 0)
        {
            if (buffer.Length + read > maxBytes) throw TooLarge(maxBytes);
            buffer.Write(chunk, 0, read);
        }
        try
        {
            return JsonDocument.Parse(buffer.GetBuffer().AsMemory(0, (int)buffer.Length));
        }
        catch (JsonException e)
        {
            throw new ApiException(400, $"the request body is not valid JSON: {e.Message}", null, "invalid_json");
        }
    }

    static ApiException TooLarge(long maxBytes) => new(413, $"the request body is larger than {maxBytes} bytes.", null, "request_too_large");

    /// <summary>Text as it is: the answers are JSON read by clients, never HTML, so nothing beyond JSON's own escapes.</summary>
    public static readonly JsonWriterOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The bytes <paramref name="write"/> writes as JSON.</summary>
    public static ReadOnlyMemory<byte> Bytes(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, Options)) write(writer);
        return buffer.WrittenMemory;
    }

    public static async Task WriteAsync(HttpResponse response, Action<Utf8JsonWriter> write, int status = 200)
    {
        response.StatusCode = status;
        response.ContentType = "application/json";
        await response.Body.WriteAsync(Bytes(write));
    }

    static readonly byte[] DataPrefix = "data: "u8.ToArray(), EventEnd = "\n\n"u8.ToArray();

    /// <summary>Writes one server-sent event, <c>data: JSON</c>, and flushes it to the client.</summary>
    public static async Task WriteEventAsync(HttpResponse response, ReadOnlyMemory<byte> data, CancellationToken cancellation)
    {
        await response.Body.WriteAsync(DataPrefix, cancellation);
        await response.Body.WriteAsync(data, cancellation);
        await response.Body.WriteAsync(EventEnd, cancellation);
        await response.Body.FlushAsync(cancellation);
    }
}
