namespace MinRnn.Cli.Serving;

/// <summary>The server's limit on streams generating at once (<c>--max-concurrent</c>), shared by every model.</summary>
internal sealed class StreamSlots(int capacity)
{
    int used;

    public int Capacity => capacity;

    /// <summary>Streams admitted and not yet finished.</summary>
    public int Used => Volatile.Read(ref used);

    /// <summary>Takes <paramref name="count"/> slots when they are all free, else none.</summary>
    public bool TryTake(int count)
    {
        while (true)
        {
            int current = Volatile.Read(ref used);
            if (current + count > capacity) return false;
            if (Interlocked.CompareExchange(ref used, current + count, current) == current) return true;
        }
    }

    public void Release(int count) => Interlocked.Add(ref used, -count);
}
