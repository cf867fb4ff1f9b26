//! One delivery: build the `HandleRequest`, call the worker while keeping the lease alive,
//! and settle the answer. If the grace period of a shutdown runs out first, the message is
//! handed back at once without counting the attempt.

use std::time::{Duration, SystemTime};

use ferry_proto::v1::{HandleRequest, TraceContext as ProtoTrace};
use tokio::time::Instant;

use super::{
    SubscriptionContext,
    admission::{RealmGuard, Slot},
    settle::Settler,
};
use crate::{
    backend::Received,
    message::Inspected,
    telemetry::{MessageContext, events, metrics::MessageLabels},
};

/// Decrements the in-flight gauge when the delivery ends, however it ends.
struct InFlight<'a> {
    sub: &'a SubscriptionContext,
    labels: MessageLabels,
}

impl<'a> InFlight<'a> {
    fn start(sub: &'a SubscriptionContext, ctx: &MessageContext) -> Self {
        let labels = MessageLabels {
            subscription: ctx.subscription.clone(),
            realm: ctx.realm.clone(),
        };
        sub.telemetry
            .metrics()
            .in_flight
            .get_or_create(&labels)
            .inc();
        Self { sub, labels }
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.sub
            .telemetry
            .metrics()
            .in_flight
            .get_or_create(&self.labels)
            .dec();
    }
}

/// The context of `msg` for log records.
pub(super) fn context_of(
    sub: &SubscriptionContext,
    msg: &Received,
    realm: &str,
    trace_id: &str,
) -> MessageContext {
    MessageContext {
        subscription: sub.name.clone(),
        queue: msg.queue.clone(),
        message_id: msg.id.clone(),
        attempt: msg.attempt,
        realm: realm.to_owned(),
        trace_id: trace_id.to_owned(),
    }
}

fn request(sub: &SubscriptionContext, msg: &Received, inspected: Inspected) -> HandleRequest {
    let deadline = SystemTime::now() + sub.config.handler_timeout;
    HandleRequest {
        payload: msg.payload.clone(),
        attributes: inspected.attributes.into_iter().collect(),
        message_id: msg.id.clone(),
        attempt: msg.attempt,
        max_attempts: sub.config.max_attempts,
        realm: inspected.realm,
        subscription: sub.name.clone(),
        queue: msg.queue.clone(),
        trace: Some(ProtoTrace {
            traceparent: inspected.trace.traceparent,
            tracestate: inspected.trace.tracestate,
        }),
        deadline: Some(deadline.into()),
        published_at: msg.published_at.map(Into::into),
    }
}

/// Delivers `msg` to the worker and settles it. Holds `slot` and `realm` until done.
pub(super) async fn deliver(
    sub: SubscriptionContext,
    msg: Received,
    inspected: Inspected,
    slot: Slot,
    realm: RealmGuard,
) {
    let ctx = context_of(&sub, &msg, &inspected.realm, inspected.trace.trace_id());
    sub.telemetry.emit(events::Received(&ctx));
    let _in_flight = InFlight::start(&sub, &ctx);
    let settler = Settler {
        sub: &sub,
        msg: &msg,
        ctx: &ctx,
    };
    let started = Instant::now();
    let call = sub
        .worker
        .handle(request(&sub, &msg, inspected), sub.config.handler_timeout);
    let result = tokio::select! {
        r = call => Some(r),
        () = keep_lease(&sub, &msg, &ctx, started) => None,
        () = sub.shutdown.force.cancelled() => None,
    };
    let took = started.elapsed();
    match result {
        Some(Ok(response)) => settler.response(response, took).await,
        Some(Err(status)) => settler.status(status, took).await,
        None => {
            sub.shutdown.count_handed_back();
            settler.hand_back("shutdown", Duration::ZERO).await;
        }
    }
    drop((slot, realm));
}

/// Extends the lease every third of `lease` until `max_lease` after the start; then waits
/// forever (the message may be redelivered after that, which `ferry check` warns against
/// by requiring `max_lease >= handler_timeout`).
async fn keep_lease(
    sub: &SubscriptionContext,
    msg: &Received,
    ctx: &MessageContext,
    started: Instant,
) {
    let lease = sub.config.lease;
    let until = started + sub.config.max_lease;
    loop {
        tokio::time::sleep(lease / 3).await;
        let now = Instant::now();
        if now >= until {
            break;
        }
        let extend_to = lease.min(until - now);
        match sub
            .backend
            .extend(&msg.queue, &msg.receipt, extend_to)
            .await
        {
            Ok(()) => sub.telemetry.emit(events::LeaseExtended(ctx)),
            Err(e) => sub.telemetry.emit(events::SettleFailed {
                ctx,
                operation: "extend",
                error: e.to_string(),
            }),
        }
    }
    std::future::pending::<()>().await;
}
