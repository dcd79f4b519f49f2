using MinRnn.Kernels;

namespace MinRnn.Tests;

/// <summary>Runs a computation under given thread counts, for the tests that results do not depend on them.</summary>
internal static class ThreadCount
{
    /// <summary>
    /// Runs <paramref name="body"/> with <paramref name="threads"/> threads, holding <see cref="GlobalState.Lock"/> and restoring
    /// the count.
    /// </summary>
    public static T With<T>(int threads, Func<T> body)
    {
        lock (GlobalState.Lock)
        {
            int saved = Parallelism.Threads;
            try
            {
                Parallelism.Threads = threads;
                return body();
            }
            finally { Parallelism.Threads = saved; }
        }
    }

    /// <summary>
    /// Runs <paramref name="body"/> with 1 thread: for a model so small that its kernels are fastest on one thread, and
    /// whose result is then the same on every machine.
    /// </summary>
    public static T One<T>(Func<T> body) => With(1, body);

    /// <summary>Runs <paramref name="body"/> with 1 thread, then with 2.</summary>
    public static (T One, T Two) OneThenTwo<T>(Func<T> body) => (With(1, body), With(2, body));
}
