using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Ferry.Examples.Hosting;

/// <summary>
/// Hosts a ferry worker: a <c>ferry.v1.WorkerService</c> implementation plus the standard
/// <c>grpc.health.v1.Health</c> service, on the address ferry gives its child in
/// <c>FERRY_WORKER_ADDR</c>, with a graceful drain on SIGTERM.
/// </summary>
public static class WorkerHost
{
    /// <summary>The environment variable holding the host:port to listen on.</summary>
    public const string AddrEnv = "FERRY_WORKER_ADDR";

    /// <summary>The address used when <see cref="AddrEnv"/> is not set.</summary>
    public const string DefaultAddr = "127.0.0.1:50051";

    /// <summary>The health service name ferry checks first.</summary>
    public const string WorkerServiceName = "ferry.v1.WorkerService";

    /// <summary>The largest request or response (ferry's own limit).</summary>
    public const int MaxMessageBytes = 64 * 1024 * 1024;

    /// <summary>
    /// Runs the worker until SIGTERM / Ctrl-C and returns the exit code. Health reports
    /// SERVING for <c>""</c> and <c>ferry.v1.WorkerService</c> until shutdown begins, then
    /// NOT_SERVING while the calls in flight finish.
    /// </summary>
    public static async Task<int> RunAsync<TService>(string[] args, Action<IServiceCollection> configure)
        where TService : class
    {
        if (!TryParseAddr(Environment.GetEnvironmentVariable(AddrEnv), out var host, out var port, out var error))
        {
            Console.Error.WriteLine($"worker: {error}");
            return 1;
        }
        var builder = WebApplication.CreateBuilder(args);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            // ferry speaks gRPC over cleartext HTTP/2 (h2c) on localhost.
            Action<Microsoft.AspNetCore.Server.Kestrel.Core.ListenOptions> http2 = o => o.Protocols = HttpProtocols.Http2;
            if (IPAddress.TryParse(host, out var ip))
            {
                kestrel.Listen(ip, port, http2);
            }
            else
            {
                kestrel.ListenLocalhost(port, http2);
            }
        });
        builder.Services.AddGrpc(o =>
        {
            o.MaxReceiveMessageSize = MaxMessageBytes;
            o.MaxSendMessageSize = MaxMessageBytes;
        });
        builder.Services.AddGrpcHealthChecks(o => o.Services.Map(WorkerServiceName, _ => true))
            .AddCheck<ServingCheck>("serving");
        configure(builder.Services);

        var app = builder.Build();
        app.MapGrpcService<TService>();
        app.MapGrpcHealthChecksService();
        await app.RunAsync();
        return 0;
    }

    /// <summary>Parses <c>host:port</c> (an <c>http://</c> prefix is tolerated); empty means the default.</summary>
    public static bool TryParseAddr(string? value, out string host, out int port, out string error)
    {
        var addr = string.IsNullOrWhiteSpace(value) ? DefaultAddr : value.Trim();
        if (addr.StartsWith("http://", StringComparison.Ordinal))
        {
            addr = addr["http://".Length..];
        }
        addr = addr.TrimEnd('/');
        var colon = addr.LastIndexOf(':');
        host = colon > 0 ? addr[..colon].Trim('[', ']') : "";
        error = "";
        if (colon > 0 && int.TryParse(addr[(colon + 1)..], out port) && port is > 0 and <= 65535)
        {
            return true;
        }
        port = 0;
        error = $"{AddrEnv}=\"{value}\" is not a host:port address";
        return false;
    }
}

/// <summary>Healthy until the host begins to stop (ferry then stops sending new messages).</summary>
public sealed class ServingCheck(IHostApplicationLifetime lifetime) : IHealthCheck
{
    /// <inheritdoc />
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(lifetime.ApplicationStopping.IsCancellationRequested
            ? HealthCheckResult.Unhealthy("shutting down")
            : HealthCheckResult.Healthy());
}
