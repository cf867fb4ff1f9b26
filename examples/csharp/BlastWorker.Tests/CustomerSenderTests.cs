using System.Text;
using System.Text.Json;
using Ferry.Examples.Blast;
using Ferry.V1;
using Xunit;

namespace Ferry.Examples.Tests;

public sealed class CustomerSenderTests : IDisposable
{
    private static readonly string ShippedDirectory = Path.Combine(AppContext.BaseDirectory, "data", "directory.json");
    private readonly string _dir = Directory.CreateTempSubdirectory("ferry-blast-").FullName;
    private readonly Ledger _outbox;
    private readonly Ledger _activities;
    private readonly CustomerSender _sender;

    public CustomerSenderTests()
    {
        _outbox = new Ledger(Path.Combine(_dir, "outbox.jsonl"));
        _activities = new Ledger(Path.Combine(_dir, "activities.jsonl"));
        _sender = new CustomerSender(ShippedDirectory, new OutboxTransport(_outbox), _activities);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static byte[] TaskPayload(string customer, string blast = "storm") => JsonSerializer.SerializeToUtf8Bytes(new CustomerTask
    {
        BlastId = blast,
        AccountId = "acct-harbor",
        CustomerId = customer,
        Template = new Template { Subject = "Hi {{name}}", Body = "To {{email}}" },
    });

    private Task<HandleResponse> Process(byte[] payload) => _sender.ProcessAsync(payload, CancellationToken.None);

    [Fact]
    public async Task ACustomerHandledTwiceIsMailedOnce()
    {
        var first = await Process(TaskPayload("cust-001"));
        var again = await Process(TaskPayload("cust-001"));
        Assert.Equal(HandleResponse.OutcomeOneofCase.Done, first.OutcomeCase);
        Assert.Equal(HandleResponse.OutcomeOneofCase.Done, again.OutcomeCase);
        Assert.Equal("mailed customer cust-001", first.Logs[0].Message);
        Assert.Equal("storm", first.Logs[0].Fields["blast_id"]);
        Assert.Contains("already mailed", again.Logs[0].Message);
        var mail = Assert.Single(_outbox.Records());
        Assert.Equal("blast/storm/customer/cust-001", (string?)mail["key"]);
        Assert.Equal("Hi Ann Lee", (string?)mail["subject"]);
        Assert.Equal("To ann.lee@example.com", (string?)mail["body"]);
        var activity = Assert.Single(_activities.Records());
        Assert.Equal("blast.mail_sent", (string?)activity["action"]);
    }

    [Theory]
    [InlineData("cust-004", CustomerSender.SkipInactive)]
    [InlineData("cust-005", CustomerSender.SkipOptedOut)]
    [InlineData("cust-006", CustomerSender.SkipInvalid)]
    [InlineData("cust-999", CustomerSender.SkipUnknown)]
    public async Task InactiveOptedOutInvalidAndUnknownCustomersAreSkipped(string customer, string reason)
    {
        var response = await Process(TaskPayload(customer));
        Assert.Equal(HandleResponse.OutcomeOneofCase.Done, response.OutcomeCase);
        Assert.Equal(reason, response.Logs[0].Fields["skip_reason"]);
        Assert.Empty(_outbox.Records());
        Assert.Empty(_activities.Records());
    }

    [Fact]
    public async Task ACrashAfterSendingRecordsTheActivityOnRedelivery()
    {
        await _outbox.AppendOnceAsync("blast/storm/customer/cust-002", new Dictionary<string, object>(), CancellationToken.None);
        var response = await Process(TaskPayload("cust-002"));
        Assert.Contains("already mailed", response.Logs[0].Message);
        Assert.Single(_outbox.Records());
        Assert.Equal("cust-002", (string?)Assert.Single(_activities.Records())["customer_id"]);
    }

    [Theory]
    [InlineData("{", "payload is not a valid CustomerTask")]
    [InlineData("{\"blast_id\":\"b\"}", "payload is not a valid CustomerTask")]
    [InlineData("", "payload is not a valid CustomerTask")]
    [InlineData("{\"blast_id\":\"st/orm\",\"account_id\":\"a\",\"customer_id\":\"c\",\"template\":{\"subject\":\"\",\"body\":\"\"}}", "blast_id \"st/orm\" contains '/'")]
    [InlineData("{\"blast_id\":\"\",\"account_id\":\"a\",\"customer_id\":\"c\",\"template\":{\"subject\":\"\",\"body\":\"\"}}", "blast_id is empty")]
    [InlineData("{\"blast_id\":\"b\",\"account_id\":\"a\",\"customer_id\":\"c\",\"template\":{\"subject\":\"\",\"body\":\"\",\"bcc\":\"x\"}}", "payload is not a valid CustomerTask")]
    public async Task MalformedTasksAreDeadLettered(string payload, string reason)
    {
        var response = await Process(Encoding.UTF8.GetBytes(payload));
        Assert.Equal(HandleResponse.OutcomeOneofCase.DeadLetter, response.OutcomeCase);
        Assert.Contains(reason, response.DeadLetter.Reason);
    }

    private sealed class Failing(Exception error) : IMailTransport
    {
        public List<string> Asked { get; } = [];

        public Task<Delivery> SendAsync(Mail mail, CancellationToken ct)
        {
            Asked.Add(mail.To);
            throw error;
        }
    }

    [Fact]
    public async Task TransportFailuresRetryOrDeadLetter()
    {
        var unavailable = new Failing(new TransportUnavailableException("provider says no"));
        var rejected = new Failing(new MailRejectedException("provider says no"));
        var retry = await new CustomerSender(ShippedDirectory, unavailable, _activities).ProcessAsync(TaskPayload("cust-003"), CancellationToken.None);
        var dead = await new CustomerSender(ShippedDirectory, rejected, _activities).ProcessAsync(TaskPayload("cust-003"), CancellationToken.None);
        Assert.Equal(HandleResponse.OutcomeOneofCase.Retry, retry.OutcomeCase);
        Assert.Equal(HandleResponse.OutcomeOneofCase.DeadLetter, dead.OutcomeCase);
        Assert.Equal(new[] { "carla+alerts@mail.example.net" }, unavailable.Asked);
        Assert.Empty(_activities.Records());
    }

    [Fact]
    public async Task AnUnreadableOrInvalidDirectoryIsRetriedNamingTheFile()
    {
        var missing = Path.Combine(_dir, "missing.json");
        var response = await new CustomerSender(missing, new OutboxTransport(_outbox), _activities).ProcessAsync(TaskPayload("cust-001"), CancellationToken.None);
        Assert.Equal(HandleResponse.OutcomeOneofCase.Retry, response.OutcomeCase);
        Assert.Contains($"cannot read directory {missing}", response.Retry.Reason);

        var invalid = Path.Combine(_dir, "invalid.json");
        await File.WriteAllTextAsync(invalid, "{\"customers\":{\"c\":{\"name\":\"A\",\"email\":\"a@example.com\",\"vip\":true}}}");
        response = await new CustomerSender(invalid, new OutboxTransport(_outbox), _activities).ProcessAsync(TaskPayload("c"), CancellationToken.None);
        Assert.Equal(HandleResponse.OutcomeOneofCase.Retry, response.OutcomeCase);
        Assert.Contains($"directory {invalid} is invalid", response.Retry.Reason);
    }

    [Fact]
    public async Task ConcurrentAppendsOfOneKeyWriteOnce()
    {
        var appended = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Run(() =>
            _outbox.AppendOnceAsync("same", new Dictionary<string, object> { ["n"] = 1 }, CancellationToken.None))));
        Assert.Single(appended, a => a);
        Assert.Single(_outbox.Records());
    }
}
