namespace MinRnn.Tests;

/// <summary>Serialises the tests that change process-wide settings such as the thread count.</summary>
internal static class GlobalState
{
    public static readonly object Lock = new();
}
