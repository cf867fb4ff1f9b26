//! [`run_subscription`]: the receive loop of one subscription. It pulls only while the
//! worker is serving, only as many messages as it has slots for, and starts a delivery for
//! each; malformed messages are dead-lettered and realm-limited ones handed back.

use std::time::Duration;

use super::{
    SubscriptionContext,
    delivery::{context_of, deliver},
    partitions::Source,
    settle::Settler,
};
use crate::{
    backend::Received,
    message::{TraceContext, inspect},
    retry::Backoff,
    telemetry::events,
};

/// Runs the subscription until shutdown begins (its `pollers` receive loops share its
/// limits); deliveries it started keep running on the shutdown tracker.
pub async fn run_subscription(sub: SubscriptionContext) {
    if sub.config.queue_prefix.is_none() {
        let max = usize::try_from(sub.config.max_in_flight).unwrap_or(usize::MAX);
        sub.backend.plan_receive(&sub.queue, max);
    }
    let pollers = (0..sub.config.pollers.max(1)).map(|i| poll(sub.clone(), i as usize));
    futures::future::join_all(pollers).await;
    sub.backend.stop_receiving(&sub.queue).await;
}

/// One receive loop of the subscription.
async fn poll(sub: SubscriptionContext, index: usize) {
    let mut source = Source::new(&sub, index);
    let stopping = sub.shutdown.stopping.clone();
    let receive_backoff =
        Backoff::new(Duration::from_millis(100), Duration::from_secs(5)).unwrap_or_default();
    let mut receive_failures = 0u32;
    loop {
        tokio::select! {
            () = sub.health.wait_serving() => {}
            () = stopping.cancelled() => return,
        }
        let slots = tokio::select! {
            slots = sub.admission.reserve() => slots,
            () = stopping.cancelled() => return,
        };
        if stopping.is_cancelled() {
            return;
        }
        let batch = match source.receive(&sub, slots.len()).await {
            Ok(batch) => {
                receive_failures = 0;
                batch
            }
            Err(e) => {
                receive_failures += 1;
                sub.telemetry.emit(events::ReceiveFailed {
                    subscription: &sub.name,
                    error: e.to_string(),
                });
                tokio::select! {
                    () = tokio::time::sleep(receive_backoff.delay(receive_failures)) => continue,
                    () = stopping.cancelled() => return,
                }
            }
        };
        let mut slots = slots.into_iter();
        for msg in batch {
            let Some(slot) = slots.next() else {
                // A backend returned more than asked for: hand the extra back at once.
                spawn_hand_back(&sub, msg, "overflow", Duration::ZERO);
                continue;
            };
            if stopping.is_cancelled() {
                spawn_hand_back(&sub, msg, "shutdown", Duration::ZERO);
                continue;
            }
            match inspect(&msg, &sub.config.realm_attribute, &sub.limits)
                .map(|i| source.assign_realm(&msg, i))
            {
                Err(reason) => {
                    let s = sub.clone();
                    sub.shutdown.tracker.spawn(async move {
                        let ctx = context_of(
                            &s,
                            &msg,
                            "",
                            TraceContext::from_attributes(&msg.attributes, &msg.id).trace_id(),
                        );
                        s.telemetry.emit(events::Received(&ctx));
                        Settler {
                            sub: &s,
                            msg: &msg,
                            ctx: &ctx,
                        }
                        .dead_letter("malformed", &reason)
                        .await;
                        drop(slot);
                    });
                }
                Ok(inspected) => match sub.admission.admit_realm(&inspected.realm) {
                    Some(realm) => {
                        sub.admission.rate_token().await;
                        sub.shutdown.tracker.spawn(deliver(
                            sub.clone(),
                            msg,
                            inspected,
                            slot,
                            realm,
                        ));
                    }
                    None => {
                        drop(slot);
                        spawn_hand_back(&sub, msg, "realm_busy", sub.config.realm_requeue_delay);
                    }
                },
            }
        }
    }
}

fn spawn_hand_back(
    sub: &SubscriptionContext,
    msg: Received,
    reason: &'static str,
    delay: Duration,
) {
    let s = sub.clone();
    sub.shutdown.tracker.spawn(async move {
        let realm = msg
            .attributes
            .get(&s.config.realm_attribute)
            .cloned()
            .unwrap_or_default();
        let ctx = context_of(
            &s,
            &msg,
            &realm,
            TraceContext::from_attributes(&msg.attributes, &msg.id).trace_id(),
        );
        Settler {
            sub: &s,
            msg: &msg,
            ctx: &ctx,
        }
        .hand_back(reason, delay)
        .await;
    });
}
