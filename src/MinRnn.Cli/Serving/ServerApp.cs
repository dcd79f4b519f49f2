using System.Reflection;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Prometheus;

namespace MinRnn.Cli.Serving;

/// <summary>
/// The HTTP server of <c>minrnn serve</c>: OpenAI's API over the served models, the playground page, health and metrics.
/// The routes read as a table; the work is in <see cref="RequestParser"/>, <see cref="GenerationService"/> and
/// <see cref="CompletionResponder"/>.
/// </summary>
internal static class ServerApp
{
    /// <summary>
    /// Builds the server for <paramref name="models"/>; <paramref name="configure"/> may change the builder (tests put a
    /// test server in Kestrel's place).
    /// </summary>
    public static WebApplication Build(IReadOnlyDictionary<string, ServedModel> models, ServeOptions options, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Limits.MaxRequestBodySize = options.MaxBodyBytes;
            kestrel.AddServerHeader = false;
        });
        builder.WebHost.UseUrls(new UriBuilder("http", options.Host, options.Port).Uri.ToString().TrimEnd('/'));
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = options.ShutdownGrace + TimeSpan.FromSeconds(5));
        if (options.Cors is { } origin)
            builder.Services.AddCors(cors => cors.AddDefaultPolicy(policy => policy.WithOrigins(origin).AllowAnyHeader().AllowAnyMethod()));
        var metrics = new ServerMetrics();
        var service = new GenerationService(models, options, metrics);
        builder.Services.AddSingleton(service);
        configure?.Invoke(builder);

        var app = builder.Build();
        var parser = new RequestParser(models, options);
        var responder = new CompletionResponder(service);
        var lifetime = app.Lifetime;
        lifetime.ApplicationStopping.Register(() =>
        {
            // No new requests; the open streams run on for the grace period, then end as at their length limit.
            service.Stop();
            Task.Delay(options.ShutdownGrace).ContinueWith(_ => service.CutAll(), TaskScheduler.Default);
        });
        lifetime.ApplicationStopped.Register(service.Dispose);

        app.Use(async (context, next) =>
        {
            try
            {
                await next(context);
            }
            catch (ApiException e) when (!context.Response.HasStarted)
            {
                if (e.Status == 429) context.Response.Headers.RetryAfter = "1";
                await e.WriteAsync(context.Response);
            }
            catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
            {
                // The client went away: its streams are already stopped, and there is no one to answer.
            }
            catch (BadHttpRequestException e) when (!context.Response.HasStarted)
            {
                await new ApiException(e.StatusCode, e.Message, null, e.StatusCode == 413 ? "request_too_large" : "bad_request").WriteAsync(context.Response);
            }
            finally
            {
                metrics.Answered(context.Response.StatusCode);
            }
        });
        if (options.Cors is not null) app.UseCors();
        if (options.ApiKey is { } key) app.Use(RequireKey(key));

        app.MapGet("/", () => Results.Content(Playground.Value, "text/html; charset=utf-8"));
        app.MapGet("/health", () => Results.Json(new { status = "ok", models = models.Keys, active_streams = service.ActiveStreams }));
        app.MapMetrics("/metrics", metrics.Registry);
        app.MapGet("/models/{id}/loss.png", (string id) =>
            models.TryGetValue(id, out var m) && m.LossCurve is { } png ? Results.File(png, "image/png") : Results.NotFound());
        app.MapGet("/v1/models", () => JsonResult(w => ModelCards.WriteList(w, models.Values)));
        app.MapGet("/v1/models/{id}", (string id) => models.TryGetValue(id, out var m)
            ? JsonResult(w => ModelCards.Write(w, m))
            : throw new ApiException(404, $"the model '{id}' does not exist.", "model", "model_not_found"));
        app.MapPost("/v1/completions", async context =>
        {
            using var body = await JsonBody.ReadAsync(context.Request, options.MaxBodyBytes, context.RequestAborted);
            var (request, stream) = parser.Completion(body.RootElement);
            await responder.RespondAsync(context, request, stream, chat: false);
        });
        app.MapPost("/v1/chat/completions", async context =>
        {
            using var body = await JsonBody.ReadAsync(context.Request, options.MaxBodyBytes, context.RequestAborted);
            var (request, stream) = parser.Chat(body.RootElement);
            await responder.RespondAsync(context, request, stream, chat: true);
        });
        app.Map("/v1/{**rest}", (HttpContext context, string rest) => (rest switch
        {
            "completions" or "chat/completions" => new ApiException(405, $"/v1/{rest} takes POST, not {context.Request.Method}.", null, "method_not_allowed"),
            "models" => new ApiException(405, $"/v1/{rest} takes GET, not {context.Request.Method}.", null, "method_not_allowed"),
            _ => new ApiException(404, $"unknown endpoint /v1/{rest}.", null, "unknown_url"),
        }).WriteAsync(context.Response));
        return app;
    }

    static IResult JsonResult(Action<Utf8JsonWriter> write) => Results.Bytes(JsonBody.Bytes(write).ToArray(), "application/json");

    /// <summary>401 for a /v1 request without <c>Authorization: Bearer KEY</c>; the key is compared in constant time.</summary>
    static Func<HttpContext, RequestDelegate, Task> RequireKey(string key)
    {
        byte[] expected = SHA256.HashData(Encoding.UTF8.GetBytes(key));
        return async (context, next) =>
        {
            if (context.Request.Path.StartsWithSegments("/v1"))
            {
                string header = context.Request.Headers.Authorization.ToString();
                string given = header.StartsWith("Bearer ", StringComparison.Ordinal) ? header["Bearer ".Length..].Trim() : "";
                if (!CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(given)), expected))
                {
                    await new ApiException(401, "this server needs an API key: send it as 'Authorization: Bearer KEY'.", null, "invalid_api_key").WriteAsync(context.Response);
                    return;
                }
            }
            await next(context);
        };
    }

    /// <summary>The playground page, embedded in the assembly.</summary>
    static readonly Lazy<string> Playground = new(() =>
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("playground.html")!;
        return new StreamReader(stream).ReadToEnd();
    });
}
