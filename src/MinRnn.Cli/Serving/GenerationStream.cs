using System.Threading.Channels;
using MinRnn.Data;
using MinRnn.Generation;

namespace MinRnn.Cli.Serving;

/// <summary>
/// One choice being generated: its prompt, its own sampler (so its text does not depend on the streams beside it), its
/// stop rules, and the channel of the response that reads it. The scheduler feeds it the logits of each step.
/// </summary>
internal sealed class GenerationStream
{
    readonly Vocabulary vocabulary;
    readonly Sampler sampler;
    readonly StopSequences stops;
    readonly int maxTokens, logprobs;
    readonly ChannelWriter<StreamEvent> output;
    int offset;

    public GenerationStream(int choice, string prompt, int[] tokens, GenerationRequest request, ChannelWriter<StreamEvent> output, CancellationToken cancellation)
    {
        Choice = choice;
        Prompt = prompt;
        Tokens = tokens;
        vocabulary = request.Model.Vocabulary;
        sampler = new Sampler(request.Sampling, vocabulary.Count, request.Sampling.Seed + (ulong)choice);
        stops = new StopSequences(request.Stops);
        maxTokens = request.MaxTokens;
        logprobs = request.Logprobs;
        Echo = request.Echo;
        this.output = output;
        Cancellation = cancellation;
    }

    public int Choice { get; }
    public string Prompt { get; }
    public int[] Tokens { get; }
    public bool Echo { get; }
    public CancellationToken Cancellation { get; }

    /// <summary>The token to feed at the next step: the one sampled last.</summary>
    public int Next { get; private set; }

    /// <summary>Characters generated so far.</summary>
    public int Generated { get; private set; }

    /// <summary>Whether the stream has sent its finish reason.</summary>
    public bool Finished { get; private set; }

    /// <summary>
    /// After the prompt's forward: sends the prompt when echoed (with its log-probabilities from <paramref name="promptLogits"/>
    /// [T, V] when asked for), then samples and sends the first character from the last row.
    /// </summary>
    public void Start(ReadOnlySpan<float> promptLogits)
    {
        int v = vocabulary.Count, t = Tokens.Length;
        if (Echo)
        {
            List<TokenLogprob>? echoed = null;
            if (logprobs > 0)
            {
                // The first character has no context, so no log-probability; each later one is predicted by the row before it.
                string first = vocabulary[Tokens[0]].ToString();
                echoed = [new TokenLogprob(first, null, null, 0)];
                offset = first.Length;
                for (int i = 1; i < t; i++) echoed.Add(Describe(Tokens[i], promptLogits.Slice((i - 1) * v, v)));
            }
            offset = Prompt.Length;
            output.TryWrite(new StreamEvent(Choice, Prompt, echoed, null));
        }
        Accept(promptLogits.Slice((t - 1) * v, v));
    }

    /// <summary>Samples the next character from this stream's row of a step's logits and sends what may be sent.</summary>
    public void Accept(ReadOnlySpan<float> logits)
    {
        if (maxTokens == 0)
        {
            Finish("length", "");
            return;
        }
        int token = sampler.Next(logits);
        Next = token;
        Generated++;
        string character = vocabulary[token].ToString();
        var described = logprobs > 0 ? Describe(token, logits) : null;
        string released = stops.Append(character, out bool stopped);
        if (stopped) Finish("stop", released);
        else if (Generated >= maxTokens) Finish("length", released + stops.Flush(), described);
        else if (released.Length > 0 || described is not null) Send(released, described);
    }

    /// <summary>Ends the stream now, as at its length limit (the server is shutting down): sends what is held back.</summary>
    public void Cut() => Finish("length", stops.Flush());

    /// <summary>Ends the stream because the model failed on it; the response reports a server error.</summary>
    public void Abort() => Finish(StreamEvent.Failed, "");

    void Finish(string reason, string text, TokenLogprob? described = null)
    {
        Finished = true;
        output.TryWrite(new StreamEvent(Choice, text, described is null ? null : [described], reason));
    }

    void Send(string text, TokenLogprob? described)
    {
        output.TryWrite(new StreamEvent(Choice, text, described is null ? null : [described], null));
    }

    /// <summary>The log-probability of <paramref name="token"/> and the <c>logprobs</c> most likely characters under softmax(<paramref name="logits"/>).</summary>
    TokenLogprob Describe(int token, ReadOnlySpan<float> logits)
    {
        float max = float.NegativeInfinity;
        foreach (float x in logits) max = Math.Max(max, x);
        double sum = 0;
        foreach (float x in logits) sum += Math.Exp(x - max);
        double logSum = Math.Log(sum) + max;
        var values = logits.ToArray();
        var top = Enumerable.Range(0, values.Length).OrderByDescending(i => values[i]).ThenBy(i => i).Take(logprobs)
            .Select(i => new KeyValuePair<string, double>(vocabulary[i].ToString(), values[i] - logSum)).ToList();
        string character = vocabulary[token].ToString();
        var described = new TokenLogprob(character, logits[token] - logSum, top, offset);
        offset += character.Length;
        return described;
    }
}
