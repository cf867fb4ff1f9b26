// The worker process ferry starts beside itself:
//
//   ferry run --config ferry.toml -- dotnet BlastWorker.dll              (BlastCustomerSender)
//   ferry run --config ferry.toml -- dotnet BlastWorker.dll conformance  (reference behaviour)
//
// It listens on FERRY_WORKER_ADDR (host:port, default 127.0.0.1:50051) over HTTP/2 without
// TLS, serves ferry.v1.WorkerService and grpc.health.v1.Health, and drains on SIGTERM.
using Ferry.Examples.Blast;
using Ferry.Examples.Conformance;
using Ferry.Examples.Hosting;

if (args.Length > 0 && args[0] == "conformance")
{
    return await WorkerHost.RunAsync<ReferenceService>(args[1..], _ => { });
}

return await WorkerHost.RunAsync<BlastCustomerSenderService>(args, services =>
    services.AddSingleton(CustomerSender.FromEnvironment()));
