namespace Ferry.Examples.Blast;

/// <summary>One mail to one customer.</summary>
/// <param name="IdempotencyKey"><c>blast/&lt;blast_id&gt;/customer/&lt;customer_id&gt;</c>: at most one mail per key.</param>
/// <param name="AccountId">The sending account.</param>
/// <param name="To">The recipient's address.</param>
/// <param name="Subject">The subject line.</param>
/// <param name="Body">The body text.</param>
public sealed record Mail(string IdempotencyKey, string AccountId, string To, string Subject, string Body);

/// <summary>What a transport did with a mail.</summary>
public enum Delivery
{
    /// <summary>Handed over for delivery now.</summary>
    Sent,

    /// <summary>A mail with the same key was sent before; nothing was sent now.</summary>
    AlreadySent,
}

/// <summary>The transport is unavailable for now (provider down, disk full): retry later.</summary>
public sealed class TransportUnavailableException(string message, Exception? inner = null)
    : Exception($"mail transport unavailable: {message}", inner);

/// <summary>The provider refused this mail for good (a hard bounce): never retry.</summary>
public sealed class MailRejectedException(string message) : Exception($"mail rejected: {message}");

/// <summary>Sends mail, idempotently on <see cref="Mail.IdempotencyKey"/>.</summary>
public interface IMailTransport
{
    /// <summary>Sends the mail unless its key was sent before.</summary>
    /// <exception cref="TransportUnavailableException">Try again later.</exception>
    /// <exception cref="MailRejectedException">Never retry.</exception>
    Task<Delivery> SendAsync(Mail mail, CancellationToken ct);
}

/// <summary>The demo transport: one JSON line per mail in an outbox ledger, at most one per key.</summary>
public sealed class OutboxTransport(Ledger outbox) : IMailTransport
{
    /// <summary>Where mails go.</summary>
    public Ledger Outbox { get; } = outbox;

    /// <inheritdoc />
    public async Task<Delivery> SendAsync(Mail mail, CancellationToken ct)
    {
        var record = new Dictionary<string, object>
        {
            ["account_id"] = mail.AccountId,
            ["to"] = mail.To,
            ["subject"] = mail.Subject,
            ["body"] = mail.Body,
            ["sent_at_ms"] = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
        };
        try
        {
            return await Outbox.AppendOnceAsync(mail.IdempotencyKey, record, ct) ? Delivery.Sent : Delivery.AlreadySent;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new TransportUnavailableException($"ledger {Outbox.Path}: {e.Message}", e);
        }
    }
}
