using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Ferry.Examples.Blast;

/// <summary>
/// A JSON-lines file with at most one record per <c>key</c> field, shared safely by several
/// processes: the outbox and the activity log. Appending "only if the key is not there yet"
/// under an exclusive lock is what makes a redelivered message harmless. On Unix .NET takes
/// the lock with flock, the same lock the Rust and Go workers take, so all three can share
/// the files.
/// </summary>
public sealed class Ledger(string path)
{
    private static readonly JsonSerializerOptions LineOptions = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>How long to wait for another process's lock.</summary>
    public static readonly TimeSpan LockTimeout = TimeSpan.FromSeconds(10);

    /// <summary>The file.</summary>
    public string Path { get; } = path;

    /// <summary>
    /// Appends <paramref name="record"/> with its <c>key</c> set to <paramref name="key"/>
    /// unless a record with that key is there already; true when appended. The line is
    /// flushed to disk before the lock is released.
    /// </summary>
    public async Task<bool> AppendOnceAsync(string key, IReadOnlyDictionary<string, object> record, CancellationToken ct)
    {
        var sorted = new SortedDictionary<string, object>(StringComparer.Ordinal);
        foreach (var (k, v) in record)
        {
            sorted[k] = v;
        }
        sorted["key"] = key;
        var line = JsonSerializer.Serialize(sorted, LineOptions) + "\n";

        var dir = System.IO.Path.GetDirectoryName(Path);
        if (!string.IsNullOrEmpty(dir))
        {
            System.IO.Directory.CreateDirectory(dir);
        }
        await using var file = await OpenLockedAsync(ct);
        var existing = await new StreamReader(file, Encoding.UTF8, false, 4096, leaveOpen: true).ReadToEndAsync(ct);
        if (ReadRecords(existing).Any(r => r.TryGetPropertyValue("key", out var k)
                && k is JsonValue value && value.TryGetValue<string>(out var existingKey) && existingKey == key))
        {
            return false;
        }
        // A line cut short by a crash must not swallow the new record.
        if (existing.Length > 0 && !existing.EndsWith('\n'))
        {
            line = "\n" + line;
        }
        file.Seek(0, SeekOrigin.End);
        var bytes = Encoding.UTF8.GetBytes(line);
        await file.WriteAsync(bytes, ct);
        file.Flush(flushToDisk: true);
        return true;
    }

    /// <summary>Every record in file order (unreadable lines left out); none when the file is missing.</summary>
    public IReadOnlyList<JsonObject> Records() =>
        File.Exists(Path) ? ReadRecords(File.ReadAllText(Path)).ToList() : [];

    private static IEnumerable<JsonObject> ReadRecords(string text)
    {
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            JsonObject? record = null;
            try
            {
                record = JsonNode.Parse(line) as JsonObject;
            }
            catch (JsonException)
            {
            }
            if (record is not null)
            {
                yield return record;
            }
        }
    }

    /// <summary>
    /// Opens the file with an exclusive lock (FileShare.None, which .NET takes with a
    /// non-blocking flock on Unix), retrying while another process holds it.
    /// </summary>
    private async Task<FileStream> OpenLockedAsync(CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + LockTimeout;
        while (true)
        {
            try
            {
                return new FileStream(Path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException e) when (e is not (FileNotFoundException or DirectoryNotFoundException or PathTooLongException)
                && DateTime.UtcNow < deadline)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(20), ct);
            }
        }
    }
}
