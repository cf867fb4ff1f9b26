using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Ferry.Examples.Conformance;
using Ferry.V1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Xunit;

namespace Ferry.Examples.Tests;

/// <summary>
/// Runs the language-neutral vectors of tests/conformance (copied next to the test assembly)
/// against the C# reference behaviour, judging answers as tests/conformance/README.md says.
/// The health vector needs a running server: check it with
/// <c>ferry conformance --worker ADDR</c> against <c>dotnet run --project BlastWorker -- conformance</c>.
/// </summary>
public class ConformanceVectorTests
{
    private static readonly string VectorDir = Path.Combine(AppContext.BaseDirectory, "conformance");

    public static TheoryData<string> HandleVectors()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.GetFiles(VectorDir, "*.json").Order(StringComparer.Ordinal))
        {
            using var doc = Load(file);
            if (Str(doc.RootElement, "kind") == "handle")
            {
                data.Add(Path.GetFileName(file));
            }
        }
        return data;
    }

    private static JsonDocument Load(string file) => JsonDocument.Parse(File.ReadAllBytes(file));

    private static string? Str(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static long? Num(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt64() : null;

    private static byte[] Payload(JsonElement request)
    {
        if (!request.TryGetProperty("payload", out var p))
        {
            return [];
        }
        if (Str(p, "text") is { } text)
        {
            return Encoding.UTF8.GetBytes(text);
        }
        if (Str(p, "hex") is { } hex)
        {
            return Convert.FromHexString(hex);
        }
        var unit = Encoding.UTF8.GetBytes(Str(p, "repeat")!);
        var bytes = new byte[Num(p, "bytes")!.Value];
        for (var i = 0; i < bytes.Length; i++)
        {
            bytes[i] = unit[i % unit.Length];
        }
        return bytes;
    }

    private static HandleRequest Request(JsonElement request, DateTime now)
    {
        var result = new HandleRequest
        {
            Payload = ByteString.CopyFrom(Payload(request)),
            MessageId = Str(request, "message_id") ?? "",
            Attempt = (uint)(Num(request, "attempt") ?? 1),
            MaxAttempts = (uint)(Num(request, "max_attempts") ?? 5),
            Realm = Str(request, "realm") ?? "",
            Subscription = Str(request, "subscription") ?? "conformance",
            Queue = Str(request, "queue") ?? "conformance",
            Trace = new TraceContext { Traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" },
            Deadline = Timestamp.FromDateTime(now.AddMilliseconds(Num(request, "deadline_ms") ?? 10_000)),
            PublishedAt = Timestamp.FromDateTime(now),
        };
        if (request.TryGetProperty("attributes", out var attributes))
        {
            foreach (var attribute in attributes.EnumerateObject())
            {
                result.Attributes[attribute.Name] = attribute.Value.GetString()!;
            }
        }
        return result;
    }

    [Theory]
    [MemberData(nameof(HandleVectors))]
    public async Task TheReferenceBehaviourPasses(string file)
    {
        using var doc = Load(Path.Combine(VectorDir, file));
        var vector = doc.RootElement;
        var expect = vector.GetProperty("expect");
        var now = DateTime.UtcNow;
        var request = Request(vector.GetProperty("request"), now);
        using var deadline = new CancellationTokenSource(request.Deadline.ToDateTime() - now);
        var clock = Stopwatch.StartNew();
        var response = await Reference.HandleAsync(request, deadline.Token);
        var elapsed = clock.Elapsed;

        var outcome = Str(expect, "outcome");
        var expected = outcome switch
        {
            "done" => HandleResponse.OutcomeOneofCase.Done,
            "retry" or "retry_or_deadline" => HandleResponse.OutcomeOneofCase.Retry,
            "dead_letter" => HandleResponse.OutcomeOneofCase.DeadLetter,
            _ => throw new InvalidDataException($"{file}: unknown outcome {outcome}"),
        };
        Assert.Equal(expected, response.OutcomeCase);
        if (Str(expect, "reason") is { } reason)
        {
            Assert.Equal(reason, response.OutcomeCase == HandleResponse.OutcomeOneofCase.Retry ? response.Retry.Reason : response.DeadLetter.Reason);
        }
        if (Num(expect, "delay_ms") is { } delay)
        {
            Assert.NotNull(response.Retry.Delay);
            Assert.Equal(TimeSpan.FromMilliseconds(delay), response.Retry.Delay.ToTimeSpan());
        }
        if (Num(expect, "min_ms") is { } min)
        {
            Assert.True(elapsed >= TimeSpan.FromMilliseconds(min), $"answered after {elapsed}, sooner than {min} ms");
        }
        var echo = expect.TryGetProperty("echo", out var e) && e.GetBoolean();
        if (echo)
        {
            var message = Assert.Single(response.Publish);
            Assert.Equal(Reference.EchoDestination, message.Destination);
            Assert.Equal(request.Payload, message.Payload);
            Assert.Equal(request.Attributes, message.Attributes);
            Assert.Equal(request.Realm, message.Realm);
        }
        else
        {
            Assert.Empty(response.Publish);
        }
        if (expect.TryGetProperty("log", out var log))
        {
            var fields = log.GetProperty("fields").EnumerateObject().ToDictionary(f => f.Name, f => f.Value.GetString()!);
            Assert.Contains(response.Logs, line =>
                line.Level == LogLevel.Info
                && line.Message == Str(log, "message")
                && line.Fields.Count == fields.Count
                && fields.All(f => line.Fields.TryGetValue(f.Key, out var v) && v == f.Value));
        }
    }

    [Fact]
    public void EveryVectorIsHereAndTheRequiredOnesAreAmongThem()
    {
        var names = new List<string?>();
        foreach (var file in Directory.GetFiles(VectorDir, "*.json"))
        {
            using var doc = Load(file);
            names.Add(Str(doc.RootElement, "name"));
        }
        foreach (var required in new[] { "health", "unicode-attributes", "empty-payload", "one-mib-payload", "retry-with-delay", "dead-letter-with-reason", "deadline-expires" })
        {
            Assert.Contains(required, names);
        }
    }
}
