using Ferry.V1;
using Google.Protobuf.WellKnownTypes;
// Microsoft.Extensions.Logging (an implicit using of the Web SDK) has a LogLevel too.
using LogLevel = Ferry.V1.LogLevel;

namespace Ferry.Examples.Hosting;

/// <summary>Builds <see cref="HandleResponse"/> answers and log lines.</summary>
public static class Replies
{
    /// <summary>Processed: ferry publishes the response's messages, then acks the input.</summary>
    public static HandleResponse Done(params LogLine[] logs) =>
        WithLogs(new HandleResponse { Done = new Done() }, logs);

    /// <summary>
    /// Failed, may succeed later. A null <paramref name="delay"/> leaves the wait to the
    /// subscription's backoff.
    /// </summary>
    public static HandleResponse Retry(string reason, TimeSpan? delay = null, params LogLine[] logs)
    {
        var retry = new Retry { Reason = reason };
        if (delay is { } d)
        {
            retry.Delay = Duration.FromTimeSpan(d);
        }
        return WithLogs(new HandleResponse { Retry = retry }, logs);
    }

    /// <summary>Can never succeed: ferry moves the input to the error queue now.</summary>
    public static HandleResponse DeadLetter(string reason, params LogLine[] logs) =>
        WithLogs(new HandleResponse { DeadLetter = new DeadLetter { Reason = reason } }, logs);

    /// <summary>
    /// A log line written now. Ferry writes it in the standard shape, tagged with the
    /// message's context (message id, subscription, realm, attempt, trace id).
    /// </summary>
    public static LogLine Log(LogLevel level, string message, IEnumerable<KeyValuePair<string, string>>? fields = null)
    {
        var line = new LogLine { Level = level, Message = message, Time = Timestamp.FromDateTime(DateTime.UtcNow) };
        if (fields is not null)
        {
            foreach (var (key, value) in fields)
            {
                line.Fields[key] = value;
            }
        }
        return line;
    }

    /// <summary>A log line at <see cref="LogLevel.Info"/>.</summary>
    public static LogLine Info(string message, IEnumerable<KeyValuePair<string, string>>? fields = null) =>
        Log(LogLevel.Info, message, fields);

    /// <summary>
    /// A token cancelled at the request's deadline (ferry stops waiting then) or when the
    /// call is cancelled, whichever comes first.
    /// </summary>
    public static CancellationTokenSource DeadlineSource(HandleRequest request, CancellationToken callToken)
    {
        var source = CancellationTokenSource.CreateLinkedTokenSource(callToken);
        if (request.Deadline is { } deadline)
        {
            var left = deadline.ToDateTime() - DateTime.UtcNow;
            if (left < TimeSpan.FromDays(1))
            {
                source.CancelAfter(left > TimeSpan.Zero ? left : TimeSpan.Zero);
            }
        }
        return source;
    }

    private static HandleResponse WithLogs(HandleResponse response, LogLine[] logs)
    {
        response.Logs.Add(logs);
        return response;
    }
}
