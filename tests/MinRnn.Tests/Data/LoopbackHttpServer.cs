using System.Net;
using System.Net.Sockets;
using System.Text;

namespace MinRnn.Tests.Data;

/// <summary>What the server sends back: a status, a body, and optionally a Content-Length that lies.</summary>
/// <param name="Status">The HTTP status code.</param>
/// <param name="Body">The bytes sent after the headers, after which the connection is closed.</param>
/// <param name="DeclaredLength">The Content-Length header; the body's length when null.</param>
/// <param name="Hang">Read the request and never answer.</param>
internal sealed record Reply(int Status, byte[] Body, long? DeclaredLength = null, bool Hang = false);

/// <summary>
/// A minimal HTTP/1.1 server on 127.0.0.1 built on a raw socket, so tests control every byte: it
/// answers each request with one fixed <see cref="Reply"/> and closes the connection.
/// </summary>
internal sealed class LoopbackHttpServer : IAsyncDisposable
{
    readonly TcpListener listener = new(IPAddress.Loopback, 0);
    readonly CancellationTokenSource stop = new();
    readonly Reply reply;
    readonly Task serving;
    int requests;

    public LoopbackHttpServer(Reply reply)
    {
        this.reply = reply;
        listener.Start();
        serving = ServeAsync();
    }

    public Uri Url => new($"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}/input.txt");

    /// <summary>How many requests arrived.</summary>
    public int Requests => Volatile.Read(ref requests);

    /// <summary>A loopback address nothing listens on: connecting to it is refused.</summary>
    public static Uri Unreachable()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        int port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return new Uri($"http://127.0.0.1:{port}/input.txt");
    }

    async Task ServeAsync()
    {
        try
        {
            while (true)
            {
                using var client = await listener.AcceptTcpClientAsync(stop.Token);
                var stream = client.GetStream();
                await ReadRequestAsync(stream);
                Interlocked.Increment(ref requests);
                if (reply.Hang) await Task.Delay(Timeout.Infinite, stop.Token);
                using var status = new HttpResponseMessage((HttpStatusCode)reply.Status); // for its standard reason phrase
                string head = $"HTTP/1.1 {reply.Status} {status.ReasonPhrase}\r\n"
                    + $"Content-Length: {reply.DeclaredLength ?? reply.Body.Length}\r\nConnection: close\r\n\r\n";
                await stream.WriteAsync(Encoding.ASCII.GetBytes(head), stop.Token);
                await stream.WriteAsync(reply.Body, stop.Token);
                await stream.FlushAsync(stop.Token);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    /// <summary>Reads up to the blank line that ends a GET request's headers.</summary>
    async Task ReadRequestAsync(NetworkStream stream)
    {
        var last = new Queue<byte>(4);
        var one = new byte[1];
        while (await stream.ReadAsync(one, stop.Token) == 1)
        {
            if (last.Count == 4) last.Dequeue();
            last.Enqueue(one[0]);
            if (last.SequenceEqual("\r\n\r\n"u8.ToArray())) return;
        }
    }

    public async ValueTask DisposeAsync()
    {
        stop.Cancel();
        listener.Stop();
        await serving;
        stop.Dispose();
    }
}
