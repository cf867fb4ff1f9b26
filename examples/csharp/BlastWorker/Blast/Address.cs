namespace Ferry.Examples.Blast;

/// <summary>The e-mail syntax check the Rust and Go workers use.</summary>
public static class Address
{
    /// <summary>
    /// True when <paramref name="address"/> looks deliverable: one '@', a non-empty local part
    /// of at most 64 characters without spaces, and a domain of at least two dot-separated
    /// labels made of letters, digits and inner hyphens, with a top-level label of at least
    /// two letters.
    /// </summary>
    public static bool IsValid(string address)
    {
        var at = address.IndexOf('@');
        if (at < 0)
        {
            return false;
        }
        var local = address[..at];
        var domain = address[(at + 1)..];
        var localOk = local.Length > 0
            && local.Length <= 64
            && !local.StartsWith('.')
            && !local.EndsWith('.')
            && !local.Contains("..", StringComparison.Ordinal)
            && local.All(c => c >= '!' && c <= '~' && !"@()<>[]:;,\\\"".Contains(c));
        var labels = domain.Split('.');
        static bool IsAsciiLetter(char c) => c is >= 'a' and <= 'z' or >= 'A' and <= 'Z';
        static bool LabelOk(string label) =>
            label.Length > 0 && label.Length <= 63 && !label.StartsWith('-') && !label.EndsWith('-')
            && label.All(c => IsAsciiLetter(c) || c is >= '0' and <= '9' || c == '-');
        var tld = labels[^1];
        var tldOk = tld.Length >= 2 && tld.All(IsAsciiLetter);
        return System.Text.Encoding.UTF8.GetByteCount(address) <= 254
            && localOk && labels.Length >= 2 && labels.All(LabelOk) && tldOk;
    }
}
