namespace MinRnn.Data;

/// <summary>
/// Writes one sequence of the <see cref="SelectiveCopyTask"/> from a random stream: the M data-token positions are a
/// uniform M-subset of [0, L) drawn by Floyd's algorithm (exactly M draws; Bentley and Floyd, CACM 1987), then the M
/// tokens, uniform in [1, V - 2], in position order. So a sequence always takes 2M draws, and the stream's state after
/// it does not depend on what was drawn.
/// </summary>
internal static class SelectiveCopySequence
{
    /// <summary>
    /// inputs [L + M]: noise (V - 1) except the data tokens at their positions, then M markers (0); targets [M]: the data
    /// tokens in order, the output due at each marker.
    /// </summary>
    public static void Write(SelectiveCopyTask task, ref SplitMix64 random, Span<int> inputs, Span<int> targets, Span<int> positions)
    {
        int length = task.Length, tokens = task.Tokens;
        // Floyd: for j = L - M … L - 1 take t uniform in [0, j], or j itself when t is already taken.
        for (int i = 0, j = length - tokens; j < length; i++, j++)
        {
            int t = random.NextInt(j + 1);
            positions[i] = positions[..i].Contains(t) ? j : t;
        }
        positions.Sort();
        inputs[..length].Fill(task.Noise);
        inputs[length..].Fill(SelectiveCopyTask.Marker);
        for (int i = 0; i < tokens; i++)
        {
            int token = 1 + random.NextInt(task.DataTokens);
            targets[i] = token;
            inputs[positions[i]] = token;
        }
    }
}
