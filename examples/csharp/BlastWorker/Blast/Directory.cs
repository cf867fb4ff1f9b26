using System.Text.Json;
using System.Text.Json.Serialization;

namespace Ferry.Examples.Blast;

/// <summary>
/// Accounts and customers by id, read from the JSON file the Rust and Go workers read
/// (examples/rust/blast/data/directory.json), standing in for the application's database.
/// </summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record CustomerDirectory
{
    /// <summary>Accounts by id.</summary>
    [JsonPropertyName("accounts")]
    public Dictionary<string, Account> Accounts { get; init; } = new();

    /// <summary>Customers by id.</summary>
    [JsonPropertyName("customers")]
    public Dictionary<string, Customer> Customers { get; init; } = new();

    /// <summary>Reads and parses the file; the exception message names the file and why.</summary>
    public static async Task<CustomerDirectory> LoadAsync(string path, CancellationToken ct)
    {
        string text;
        try
        {
            text = await File.ReadAllTextAsync(path, ct);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DirectoryException($"cannot read directory {path}: {e.Message}", e);
        }
        try
        {
            return JsonSerializer.Deserialize<CustomerDirectory>(text)
                ?? throw new JsonException("the document is null");
        }
        catch (JsonException e)
        {
            throw new DirectoryException($"directory {path} is invalid: {e.Message}", e);
        }
    }
}

/// <summary>An account that sends blasts.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record Account
{
    /// <summary>Display name.</summary>
    [JsonPropertyName("name")]
    public required string Name { get; init; }

    /// <summary>Whether the account may send.</summary>
    [JsonPropertyName("active")]
    public required bool Active { get; init; }

    /// <summary>Mails the account may still send.</summary>
    [JsonPropertyName("credit")]
    public required ulong Credit { get; init; }
}

/// <summary>A possible recipient.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record Customer
{
    /// <summary>Name, for <c>{{name}}</c>.</summary>
    [JsonPropertyName("name")]
    public required string Name { get; init; }

    /// <summary>Address, for <c>{{email}}</c> and delivery.</summary>
    [JsonPropertyName("email")]
    public required string Email { get; init; }

    /// <summary>Still a customer (default true).</summary>
    [JsonPropertyName("active")]
    public bool Active { get; init; } = true;

    /// <summary>Asked not to receive blasts (default false).</summary>
    [JsonPropertyName("opted_out")]
    public bool OptedOut { get; init; }
}

/// <summary>The directory could not be read or parsed.</summary>
public sealed class DirectoryException(string message, Exception inner) : Exception(message, inner);
