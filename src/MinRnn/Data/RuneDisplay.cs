using System.Globalization;
using System.Text;

namespace MinRnn.Data;

/// <summary>Shows characters in error messages so that invisible ones stay visible and the message stays on one line.</summary>
internal static class RuneDisplay
{
    /// <summary>The character in single quotes; control, format and non-space whitespace characters as C# escapes.</summary>
    public static string Quote(Rune rune) => $"'{Escape(rune)}'";

    static string Escape(Rune rune) => rune.Value switch
    {
        '\0' => "\\0",
        '\t' => "\\t",
        '\n' => "\\n",
        '\r' => "\\r",
        '\'' => "\\'",
        '\\' => "\\\\",
        _ when IsInvisible(rune) => rune.IsBmp ? $"\\u{rune.Value:X4}" : $"\\U{rune.Value:X8}",
        _ => rune.ToString(),
    };

    static bool IsInvisible(Rune rune) =>
        Rune.IsControl(rune)
        || (Rune.IsWhiteSpace(rune) && rune.Value != ' ')
        || Rune.GetUnicodeCategory(rune) == UnicodeCategory.Format;
}
