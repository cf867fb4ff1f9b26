using System.Text;
using System.Text.Json.Serialization;

namespace Ferry.Examples.Blast;

/// <summary>
/// A blast's mail. <c>{{name}}</c> and <c>{{email}}</c> (spaces inside the braces allowed) are
/// replaced by the customer's values; other text is kept as is.
/// </summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record Template
{
    /// <summary>The subject line.</summary>
    [JsonPropertyName("subject")]
    public required string Subject { get; init; }

    /// <summary>The body text.</summary>
    [JsonPropertyName("body")]
    public required string Body { get; init; }

    /// <summary>The template filled for <paramref name="customer"/>.</summary>
    public (string Subject, string Body) Render(Customer customer)
    {
        var values = new Dictionary<string, string> { ["name"] = customer.Name, ["email"] = customer.Email };
        return (RenderText(Subject, values), RenderText(Body, values));
    }

    /// <summary>
    /// Replaces each <c>{{ key }}</c> of <paramref name="values"/> in one pass (a value that
    /// contains braces is never expanded again); unknown keys are kept.
    /// </summary>
    public static string RenderText(string text, IReadOnlyDictionary<string, string> values)
    {
        var output = new StringBuilder(text.Length);
        var rest = text;
        int start;
        while ((start = rest.IndexOf("{{", StringComparison.Ordinal)) >= 0)
        {
            output.Append(rest, 0, start);
            var after = rest[(start + 2)..];
            var end = after.IndexOf("}}", StringComparison.Ordinal);
            if (end >= 0 && values.TryGetValue(after[..end].Trim(), out var value))
            {
                output.Append(value);
                rest = after[(end + 2)..];
            }
            else
            {
                output.Append("{{");
                rest = after;
            }
        }
        return output.Append(rest).ToString();
    }
}
