namespace MinRnn.Kernels;

/// <summary>
/// Grow-only scratch arrays that kernels keep in <c>[ThreadStatic]</c> fields of their own, so
/// that after the first call at a given size they allocate nothing.
/// </summary>
internal static class Scratch
{
    /// <summary>Returns <paramref name="cache"/>, replaced by a larger array first if it holds fewer than <paramref name="length"/> elements.</summary>
    public static T[] Get<T>(ref T[]? cache, int length) =>
        cache is not null && cache.Length >= length ? cache : cache = new T[Math.Max(length, 1)];
}
