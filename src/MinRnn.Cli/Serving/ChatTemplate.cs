using System.Text;

namespace MinRnn.Cli.Serving;

/// <summary>
/// Turns chat messages into a prompt in the form of the corpus's dialogue: each message as "NAME:" on a line of its own,
/// its content, then a blank line; then the assistant's "NAME:" line, after which the model writes the reply. NAME is the
/// message's <c>name</c>, else the speaker of its role (<c>--chat-names</c>). The reply ends at its first blank line.
/// </summary>
internal static class ChatTemplate
{
    /// <summary>What ends a reply: a blank line, the template's separator between speakers.</summary>
    public const string EndOfReply = "\n\n";

    public static string Prompt(IReadOnlyList<(string Role, string? Name, string Content)> messages, IReadOnlyDictionary<string, string> speakers)
    {
        var prompt = new StringBuilder();
        foreach (var (role, name, content) in messages)
            prompt.Append(name ?? speakers[role]).Append(":\n").Append(content.TrimEnd('\n')).Append("\n\n");
        return prompt.Append(speakers["assistant"]).Append(":\n").ToString();
    }
}
