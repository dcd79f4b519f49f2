using System.CommandLine;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using MinRnn.Cli.Serving;
using MinRnn.Kernels;

namespace MinRnn.Cli.Commands;

/// <summary>
/// <c>minrnn serve --checkpoint [NAME=]PATH ...</c>: an OpenAI-compatible HTTP API and a playground page for one or more
/// checkpoints, until Ctrl+C or SIGTERM.
/// </summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var command = new Command("serve", "Serve checkpoints over OpenAI's HTTP API, with a playground page at /.");
        var checkpoints = new Option<string[]>("--checkpoint")
        {
            Description = "A model file to serve, as PATH or NAME=PATH (repeatable). Default name: the run directory's name.",
            Required = true, Arity = ArgumentArity.OneOrMore, AllowMultipleArgumentsPerToken = false,
        };
        var host = new Option<string>("--host") { Description = "Address to listen on.", DefaultValueFactory = _ => ServeOptions.Defaults.Host };
        var port = IntOption.InRange("--port", "Port to listen on; 0 picks a free one and prints it.", ServeOptions.Defaults.Port, 0, 65535);
        var apiKey = new Option<string?>("--api-key") { Description = "Require 'Authorization: Bearer KEY' on /v1 requests. Default: $MINRNN_API_KEY, else none." };
        var maxConcurrent = IntOption.InRange("--max-concurrent", "Streams generating at once; more get 429.", ServeOptions.Defaults.MaxConcurrent, 1, 4096);
        var maxTokens = IntOption.InRange("--max-tokens", "Largest max_tokens a request may ask for (and the chat default).", ServeOptions.Defaults.MaxTokens, 1, 1_000_000);
        var threads = IntOption.InRange("--threads", "Threads to use.", Parallelism.Threads, 1, 256);
        var cors = new Option<string?>("--cors") { Description = "Let pages from this origin call the API (CORS). Default: none." };
        var chatNames = new Option<string?>("--chat-names") { Description = "Speakers of the chat roles, e.g. user=ROMEO,assistant=JULIET. Default: USER, ASSISTANT, SYSTEM." };
        foreach (var option in new Option[] { checkpoints, host, port, apiKey, maxConcurrent, maxTokens, threads, cors, chatNames }) command.Options.Add(option);

        command.SetAction(async (parsed, cancellation) =>
        {
            var options = ServeOptions.Defaults with
            {
                Host = parsed.GetValue(host)!,
                Port = parsed.GetValue(port),
                ApiKey = parsed.GetValue(apiKey) ?? (Environment.GetEnvironmentVariable("MINRNN_API_KEY") is { Length: > 0 } key ? key : null),
                MaxConcurrent = parsed.GetValue(maxConcurrent),
                MaxTokens = parsed.GetValue(maxTokens),
                Cors = parsed.GetValue(cors),
                ChatNames = ChatNames(parsed.GetValue(chatNames)),
            };
            Parallelism.Threads = parsed.GetValue(threads);
            var models = new Dictionary<string, ServedModel>();
            foreach (string argument in parsed.GetValue(checkpoints)!)
            {
                var (name, path) = ServedModel.ParseArgument(argument);
                if (models.ContainsKey(name)) throw new UsageException($"two checkpoints are named '{name}'; name them with NAME=PATH.");
                models[name] = ServedModel.Load(name, path);
            }

            await using var app = ServerApp.Build(models, options);
            try { await app.StartAsync(cancellation); }
            catch (IOException e) { throw new IOException($"could not listen on {options.Host}:{options.Port} ({e.Message.TrimEnd('.')}); pass another --port or --host.", e); }
            string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            Console.WriteLine($"serving   {string.Join(", ", models.Keys)} on {Parallelism.Threads} thread{(Parallelism.Threads == 1 ? "" : "s")}{(options.ApiKey is null ? "" : ", API key required")}");
            Console.WriteLine($"page      {address}/");
            Console.WriteLine($"API       {address}/v1");
            Console.WriteLine("Ctrl+C stops.");
            await app.WaitForShutdownAsync();
            return 0;
        });
        return command;
    }

    /// <summary>The speakers of --chat-names over the defaults: "user=ROMEO,assistant=JULIET".</summary>
    static IReadOnlyDictionary<string, string> ChatNames(string? text)
    {
        var names = new Dictionary<string, string>(ServeOptions.DefaultChatNames);
        if (text is null) return names;
        foreach (string pair in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            int equals = pair.IndexOf('=');
            string role = equals > 0 ? pair[..equals].Trim() : "", name = equals > 0 ? pair[(equals + 1)..].Trim() : "";
            if (!names.ContainsKey(role) || name.Length == 0 || name.Contains(':'))
                throw new UsageException($"--chat-names expects ROLE=NAME pairs with a role among {string.Join(", ", names.Keys)} and a name without ':', got '{pair}'.");
            names[role] = name;
        }
        return names;
    }
}
