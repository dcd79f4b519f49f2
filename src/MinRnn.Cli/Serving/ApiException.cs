using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace MinRnn.Cli.Serving;

/// <summary>
/// A request the server refuses, answered with <paramref name="status"/> and OpenAI's error object:
/// <c>{"error": {"message", "type", "param", "code"}}</c>.
/// </summary>
internal sealed class ApiException(int status, string message, string? param = null, string? code = null, string type = "invalid_request_error")
    : Exception(message)
{
    public int Status => status;
    public string Type => type;
    public string? Param => param;
    public string? Code => code;

    /// <summary>400: a field is missing, of the wrong type or out of range.</summary>
    public static ApiException Invalid(string param, string message) => new(400, message, param, "invalid_value");

    /// <summary>Writes OpenAI's error object.</summary>
    public static void WriteError(Utf8JsonWriter writer, string message, string type, string? param, string? code)
    {
        writer.WriteStartObject();
        writer.WriteStartObject("error");
        writer.WriteString("message", message);
        writer.WriteString("type", type);
        if (param is null) writer.WriteNull("param"); else writer.WriteString("param", param);
        if (code is null) writer.WriteNull("code"); else writer.WriteString("code", code);
        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    /// <summary>Answers the request with this error.</summary>
    public async Task WriteAsync(HttpResponse response)
    {
        response.StatusCode = status;
        response.ContentType = "application/json";
        await using var writer = new Utf8JsonWriter(response.Body, JsonBody.Options);
        WriteError(writer, Message, type, param, code);
    }
}
