using Ferry.Examples.Hosting;
using Ferry.V1;

namespace Ferry.Examples.Blast;

/// <summary>
/// The BlastCustomerSender worker's logic, as in the Rust and Go workers: checks the
/// customer, renders the template, sends the mail at most once per
/// <c>blast/&lt;blast_id&gt;/customer/&lt;customer_id&gt;</c> and records the activity, also
/// once per key. Log lines are returned in the response.
/// </summary>
public sealed class CustomerSender(string directoryPath, IMailTransport transport, Ledger activities)
{
    /// <summary>Environment variables naming the files, and their defaults (relative to the repository root).</summary>
    public const string DataEnv = "BLAST_DATA", OutboxEnv = "BLAST_OUTBOX", ActivitiesEnv = "BLAST_ACTIVITIES";

    /// <summary>Skip reasons: a customer who gets no mail (the message is still done).</summary>
    public const string SkipUnknown = "unknown customer",
        SkipInactive = "customer is not active",
        SkipOptedOut = "customer opted out",
        SkipInvalid = "invalid e-mail address";

    /// <summary>The transport.</summary>
    public IMailTransport Transport { get; } = transport;

    /// <summary>A sender on the files named by BLAST_DATA, BLAST_OUTBOX and BLAST_ACTIVITIES.</summary>
    public static CustomerSender FromEnvironment()
    {
        static string Get(string name, string fallback) =>
            Environment.GetEnvironmentVariable(name) is { Length: > 0 } value ? value : fallback;
        return new CustomerSender(
            Get(DataEnv, "examples/rust/blast/data/directory.json"),
            new OutboxTransport(new Ledger(Get(OutboxEnv, "blast-outbox.jsonl"))),
            new Ledger(Get(ActivitiesEnv, "blast-activities.jsonl")));
    }

    /// <summary>Why <paramref name="customer"/> may not be mailed, or null when it may.</summary>
    public static string? Check(Customer? customer) => customer switch
    {
        null => SkipUnknown,
        { Active: false } => SkipInactive,
        { OptedOut: true } => SkipOptedOut,
        { } c when !Address.IsValid(c.Email) => SkipInvalid,
        _ => null,
    };

    /// <summary>Handles one customer task and says what happened to it.</summary>
    public async Task<HandleResponse> ProcessAsync(ReadOnlyMemory<byte> payload, CancellationToken ct)
    {
        CustomerTask task;
        try
        {
            task = CustomerTask.Parse(payload.Span);
        }
        catch (FormatException e)
        {
            return Replies.DeadLetter(e.Message);
        }
        CustomerDirectory directory;
        try
        {
            directory = await CustomerDirectory.LoadAsync(directoryPath, ct);
        }
        catch (DirectoryException e)
        {
            return Replies.Retry(e.Message);
        }
        var fields = new Dictionary<string, string> { ["blast_id"] = task.BlastId, ["customer_id"] = task.CustomerId };
        var customer = directory.Customers.GetValueOrDefault(task.CustomerId);
        if (Check(customer) is { } skip)
        {
            fields["skip_reason"] = skip;
            return Replies.Done(Replies.Info($"skipped customer {task.CustomerId}: {skip}", fields));
        }
        var (subject, body) = task.Template.Render(customer!);
        var mail = new Mail(task.Key, task.AccountId, customer!.Email, subject, body);
        Delivery delivery;
        try
        {
            delivery = await Transport.SendAsync(mail, ct);
        }
        catch (TransportUnavailableException e)
        {
            return Replies.Retry(e.Message);
        }
        catch (MailRejectedException e)
        {
            return Replies.DeadLetter(e.Message);
        }
        // After a crash between the send and this line, the redelivery finds the mail already
        // sent and records the missing activity here.
        try
        {
            await activities.AppendOnceAsync(mail.IdempotencyKey, new Dictionary<string, object>
            {
                ["action"] = "blast.mail_sent",
                ["blast_id"] = task.BlastId,
                ["account_id"] = task.AccountId,
                ["customer_id"] = task.CustomerId,
                ["at_ms"] = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
            }, ct);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Replies.Retry($"mail sent, activity not recorded: ledger {activities.Path}: {e.Message}");
        }
        var text = delivery == Delivery.Sent
            ? $"mailed customer {task.CustomerId}"
            : $"customer {task.CustomerId} was already mailed for this blast; not sent again";
        return Replies.Done(Replies.Info(text, fields));
    }
}
