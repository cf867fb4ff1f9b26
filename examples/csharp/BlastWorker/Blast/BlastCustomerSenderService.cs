using Ferry.Examples.Hosting;
using Ferry.V1;
using Grpc.Core;

namespace Ferry.Examples.Blast;

/// <summary>The <c>ferry.v1.WorkerService</c> of the BlastCustomerSender worker.</summary>
public sealed class BlastCustomerSenderService(CustomerSender sender) : WorkerService.WorkerServiceBase
{
    /// <inheritdoc />
    public override async Task<HandleResponse> Handle(HandleRequest request, ServerCallContext context)
    {
        using var deadline = Replies.DeadlineSource(request, context.CancellationToken);
        return await sender.ProcessAsync(request.Payload.Memory, deadline.Token);
    }
}
