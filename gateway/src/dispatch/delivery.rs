//! One delivery: build the `HandleRequest`, call the worker, and settle the answer — all
//! under one lease keeper, so the message stays leased until it is settled, however long
//! publishing its follow-ups or asking the worker's health takes. If the grace period of
//! a shutdown runs out during the call, the message is handed back at once without
//! counting the attempt.
//!
//! Whatever goes wrong inside ferry during a delivery (a panic included) ends in a settle
//! that counts the attempt, and a message that came back more often than `max_attempts`
//! without being settled (ferry killed while handling it, each time) is dead-lettered
//! before the worker is called again: no message loops for ever.

use std::{
    any::Any,
    convert::Infallible,
    panic::AssertUnwindSafe,
    time::{Duration, SystemTime},
};

use ferry_proto::v1::{HandleRequest, TraceContext as ProtoTrace};
use futures::FutureExt as _;
use prometheus_client::metrics::gauge::Gauge;
use tokio::time::Instant;

use super::{
    SubscriptionContext,
    admission::{RealmGuard, Slot},
    settle::Settler,
};
use crate::{
    backend::Received,
    message::{Inspected, TraceContext},
    telemetry::{
        MessageContext, events,
        otel::{DeliverySpans, Described, SpanIds},
    },
};

/// Decrements the in-flight gauge when the delivery ends, however it ends.
struct InFlight(Gauge);

impl InFlight {
    fn start(ctx: &MessageContext) -> Option<Self> {
        let gauge = ctx.series.as_ref()?.in_flight.clone();
        gauge.inc();
        Some(Self(gauge))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// The context of `msg` for log records.
pub(super) fn context_of(
    sub: &SubscriptionContext,
    msg: &Received,
    realm: &str,
    trace: &TraceContext,
) -> MessageContext {
    MessageContext {
        subscription: sub.name.clone(),
        queue: msg.queue.clone(),
        message_id: msg.id.clone(),
        attempt: msg.attempt,
        realm: realm.to_owned(),
        trace_id: trace.trace_id().to_owned(),
        span_id: trace.delivery_span.as_str().to_owned(),
        series: Some(sub.telemetry.metrics().series_for(&sub.name, realm)),
    }
}

fn request(sub: &SubscriptionContext, msg: &Received, inspected: Inspected) -> HandleRequest {
    let deadline = SystemTime::now() + sub.config.handler_timeout.get();
    HandleRequest {
        payload: msg.payload.clone(),
        attributes: msg
            .attributes
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        message_id: msg.id.clone(),
        attempt: msg.attempt,
        max_attempts: sub.config.max_attempts.get(),
        realm: inspected.realm,
        subscription: sub.name.clone(),
        queue: msg.queue.clone(),
        trace: Some(ProtoTrace {
            traceparent: inspected.trace.delivery_traceparent(),
            tracestate: inspected.trace.tracestate,
        }),
        deadline: Some(deadline.into()),
        published_at: msg.published_at.map(Into::into),
    }
}

/// Delivers `msg` (received at `received_at`) to the worker and settles it. Holds `slot`
/// and `realm` until done.
pub(super) async fn deliver(
    sub: SubscriptionContext,
    msg: Received,
    inspected: Inspected,
    slot: Slot,
    realm: RealmGuard,
    received_at: SystemTime,
) {
    let ctx = context_of(&sub, &msg, &inspected.realm, &inspected.trace);
    sub.telemetry.emit(events::Received {
        ctx: &ctx,
        at: received_at,
    });
    let _in_flight = InFlight::start(&ctx);
    let spans = DeliverySpans::begin(
        sub.telemetry.spans(),
        SpanIds {
            trace: inspected.trace.trace_id(),
            parent: inspected.trace.parent_span(),
            delivery: inspected.trace.delivery_span.as_str(),
        },
        Described {
            system: sub.backend.kind(),
            queue: &msg.queue,
            message_id: &msg.id,
            subscription: &sub.name,
            realm: &inspected.realm,
        },
    );
    let settler = Settler {
        sub: &sub,
        msg: &msg,
        ctx: &ctx,
        spans: spans.as_ref(),
    };
    let started = Instant::now();
    let keeper = keep_lease(&sub, &msg, &ctx, started);
    tokio::pin!(keeper);
    let max_attempts = sub.config.max_attempts.get();
    let work = async {
        if msg.attempt > max_attempts {
            let error = format!(
                "delivered {} times without being settled (ferry stopped or lost the lease while handling it)",
                msg.attempt - 1
            );
            return Box::pin(settler.dead_letter("max_attempts", &error)).await;
        }
        let trace = inspected.trace.clone();
        let call_started = SystemTime::now();
        // Boxed: the gRPC call's future is most of a delivery's state, which tokio moves
        // into the task and out again; on the heap it is written once.
        let call = Box::pin(sub.worker.handle(
            request(&sub, &msg, inspected),
            sub.config.handler_timeout.get(),
        ));
        let result = tokio::select! {
            r = call => Some(r),
            () = sub.shutdown.force.cancelled() => None,
        };
        let took = started.elapsed();
        if let Some(spans) = &spans {
            let error = match &result {
                Some(Ok(_)) => None,
                Some(Err(status)) => Some(format!("{:?}: {}", status.code(), status.message())),
                None => Some("ferry stopped waiting (shutdown)".to_owned()),
            };
            spans.handle(call_started, error.as_deref());
        }
        let settle_started = SystemTime::now();
        let outcome = match result {
            Some(Ok(response)) => {
                let outcome = outcome_name(&response);
                Box::pin(settler.response(response, took, &trace)).await;
                outcome
            }
            Some(Err(status)) => {
                Box::pin(settler.status(status, took)).await;
                "status"
            }
            None => {
                sub.shutdown.count_handed_back();
                Box::pin(settler.hand_back("shutdown", Duration::ZERO)).await;
                "hand_back"
            }
        };
        if let Some(spans) = &spans {
            spans.settle(settle_started, outcome, None);
        }
    };
    let outcome = tokio::select! {
        biased;
        r = AssertUnwindSafe(work).catch_unwind() => r,
        never = &mut keeper => match never {},
    };
    if let Err(panic) = outcome {
        let error = format!(
            "ferry failed while handling the message: {}",
            panic_message(panic.as_ref())
        );
        let fallback = AssertUnwindSafe(Box::pin(settler.retry(&error, None, started.elapsed())));
        let settled = tokio::select! {
            biased;
            r = fallback.catch_unwind() => r.is_ok(),
            never = &mut keeper => match never {},
        };
        if !settled {
            sub.telemetry.emit(events::SettleFailed {
                ctx: &ctx,
                operation: "retry",
                error: format!(
                    "{error}; settling it failed too: it comes back when its lease ends"
                ),
            });
        }
    }
    if let Some(spans) = spans {
        spans.end(msg.attempt);
    }
    drop((slot, realm));
}

/// The outcome a worker's answer asks for, for the settle span.
fn outcome_name(response: &ferry_proto::v1::HandleResponse) -> &'static str {
    use ferry_proto::v1::handle_response::Outcome;
    match response.outcome {
        Some(Outcome::Done(_)) => "done",
        Some(Outcome::Retry(_)) | None => "retry",
        Some(Outcome::DeadLetter(_)) => "dead_letter",
    }
}

/// The text of a panic's payload.
fn panic_message(panic: &(dyn Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a panic")
}

/// Extends the lease every third of `lease` until `max_lease` after the start; then waits
/// forever (the message may be redelivered after that, which `ferry check` warns against
/// by requiring `max_lease >= handler_timeout`). It never returns.
async fn keep_lease(
    sub: &SubscriptionContext,
    msg: &Received,
    ctx: &MessageContext,
    started: Instant,
) -> Infallible {
    let lease = sub.config.lease.get();
    let until = started + sub.config.max_lease.get();
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
    std::future::pending().await
}
