using System.Text.Json;
using System.Text.Json.Serialization;

namespace Ferry.Examples.Blast;

/// <summary>
/// One customer's share of a blast: the payload of a <c>BlastCustomerSender</c> message, as
/// the list sender publishes it.
/// </summary>
public sealed record CustomerTask
{
    /// <summary>The queue customer tasks are published to.</summary>
    public const string Queue = "BlastCustomerSender";

    /// <summary>The blast.</summary>
    [JsonPropertyName("blast_id")]
    public required string BlastId { get; init; }

    /// <summary>The account sending it.</summary>
    [JsonPropertyName("account_id")]
    public required string AccountId { get; init; }

    /// <summary>The recipient.</summary>
    [JsonPropertyName("customer_id")]
    public required string CustomerId { get; init; }

    /// <summary>The mail.</summary>
    [JsonPropertyName("template")]
    public required Template Template { get; init; }

    /// <summary><c>blast/&lt;blast_id&gt;/customer/&lt;customer_id&gt;</c>: the send's idempotency key.</summary>
    [JsonIgnore]
    public string Key => IdempotencyKey(BlastId, CustomerId);

    /// <summary>The idempotency key of a blast and customer.</summary>
    public static string IdempotencyKey(string blastId, string customerId) => $"blast/{blastId}/customer/{customerId}";

    /// <summary>
    /// Reads a task. Every field is required; ids that are empty or contain '/' (they would
    /// make keys ambiguous) are refused. The exception message says why.
    /// </summary>
    public static CustomerTask Parse(ReadOnlySpan<byte> payload)
    {
        CustomerTask? task;
        try
        {
            task = JsonSerializer.Deserialize<CustomerTask>(payload);
        }
        catch (JsonException e)
        {
            throw new FormatException($"payload is not a valid CustomerTask JSON document: {e.Message}", e);
        }
        if (task is null)
        {
            throw new FormatException("payload is not a valid CustomerTask JSON document: null");
        }
        foreach (var (field, value) in new[] { ("blast_id", task.BlastId), ("customer_id", task.CustomerId) })
        {
            if (value.Length == 0)
            {
                throw new FormatException($"invalid customer task: {field} is empty");
            }
            if (value.Contains('/'))
            {
                throw new FormatException($"invalid customer task: {field} \"{value}\" contains '/'");
            }
        }
        return task;
    }
}
