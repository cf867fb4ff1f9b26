using System.Globalization;
using Ferry.Examples.Hosting;
using Ferry.V1;
using Grpc.Core;
// Microsoft.Extensions.Logging (an implicit using of the Web SDK) has a LogLevel too.
using LogLevel = Ferry.V1.LogLevel;

namespace Ferry.Examples.Conformance;

/// <summary>
/// The reference behaviour of the worker conformance kit (tests/conformance/README.md): each
/// request is answered as its <c>conformance.*</c> attributes say. <c>ferry conformance
/// --worker ADDR</c> checks a worker serving it; the test project runs the same vectors
/// against <see cref="HandleAsync"/>.
/// </summary>
public static class Reference
{
    /// <summary>The attributes driving the behaviour, and the echo's destination.</summary>
    public const string ExpectAttr = "conformance.expect",
        ReasonAttr = "conformance.reason",
        DelayAttr = "conformance.delay_ms",
        SleepAttr = "conformance.sleep_ms",
        EchoDestination = "conformance.echo";

    /// <summary>
    /// Answers <paramref name="request"/>. <paramref name="deadline"/> is cancelled at the
    /// request's deadline: a sleep stops there and answers retry.
    /// </summary>
    public static async Task<HandleResponse> HandleAsync(HandleRequest request, CancellationToken deadline)
    {
        var attrs = request.Attributes;
        string Reason() => attrs.TryGetValue(ReasonAttr, out var r) ? r : "";
        switch (attrs.TryGetValue(ExpectAttr, out var expect) ? expect : "")
        {
            case "done":
                return Done(request);
            case "retry":
                if (!TryMillis(request, DelayAttr, out var delay))
                {
                    return Replies.DeadLetter($"{DelayAttr}: not a number of milliseconds");
                }
                return Replies.Retry(Reason(), delay);
            case "dead_letter":
                return Replies.DeadLetter(Reason());
            case "sleep":
                if (!TryMillis(request, SleepAttr, out var sleep))
                {
                    return Replies.DeadLetter($"{SleepAttr}: not a number of milliseconds");
                }
                try
                {
                    await Task.Delay(sleep ?? TimeSpan.Zero, deadline);
                }
                catch (OperationCanceledException)
                {
                    return Replies.Retry("deadline exceeded", null,
                        Replies.Log(LogLevel.Warn, "handler stopped at the message deadline"));
                }
                return Done(request);
            default:
                return Replies.DeadLetter($"unknown {ExpectAttr}: {expect}");
        }
    }

    /// <summary>Done, echoing the request to <see cref="EchoDestination"/>, with one log line.</summary>
    private static HandleResponse Done(HandleRequest request)
    {
        var response = Replies.Done(Replies.Info("conformance done", new Dictionary<string, string>
        {
            ["message_id"] = request.MessageId,
            ["attempt"] = request.Attempt.ToString(CultureInfo.InvariantCulture),
            ["payload_bytes"] = request.Payload.Length.ToString(CultureInfo.InvariantCulture),
        }));
        var echo = new OutgoingMessage { Destination = EchoDestination, Payload = request.Payload, Realm = request.Realm };
        echo.Attributes.Add(request.Attributes);
        response.Publish.Add(echo);
        return response;
    }

    /// <summary>The attribute as milliseconds (null when absent); false when it is not a non-negative integer.</summary>
    private static bool TryMillis(HandleRequest request, string attr, out TimeSpan? value)
    {
        value = null;
        if (!request.Attributes.TryGetValue(attr, out var text))
        {
            return true;
        }
        if (!ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var ms) || ms > int.MaxValue)
        {
            return false;
        }
        value = TimeSpan.FromMilliseconds(ms);
        return true;
    }
}

/// <summary>The <c>ferry.v1.WorkerService</c> serving the reference behaviour.</summary>
public sealed class ReferenceService : WorkerService.WorkerServiceBase
{
    /// <inheritdoc />
    public override async Task<HandleResponse> Handle(HandleRequest request, ServerCallContext context)
    {
        using var deadline = Replies.DeadlineSource(request, context.CancellationToken);
        return await Reference.HandleAsync(request, deadline.Token);
    }
}
