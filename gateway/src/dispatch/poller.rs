//! [`run_subscription`]: the receive loop of one subscription. It pulls only while the
//! worker is serving, only as many messages as it holds room for (slots, and rate tokens
//! under a rate limit, both taken before the receive), and starts a delivery for each at
//! once; malformed messages are dead-lettered and realm-limited ones handed back. On a
//! backend whose receive is prepared on the loop's own thread (SQS), after a receive that
//! brought less than it asked for, it lets the deliveries hand their calls to the worker
//! before it prepares the next receive ([`FirstPolls`]).

use std::time::{Duration, SystemTime};

use super::{
    SubscriptionContext,
    admission::Slot,
    delivery::{context_of, deliver},
    first_polls::FirstPolls,
    partitions::Source,
    settle::Settler,
};
use crate::{
    backend::Received,
    control::Refused,
    message::{TraceContext, inspect},
    retry::Backoff,
    telemetry::events,
};

/// Runs the subscription until shutdown begins (its `pollers` receive loops share its
/// limits); deliveries it started keep running on the shutdown tracker.
pub async fn run_subscription(sub: SubscriptionContext) {
    if sub.config.queue_prefix.is_none() {
        let max = sub.config.max_in_flight.usize();
        sub.backend.plan_receive(&sub.queue, max);
    }
    let pollers = (0..sub.config.pollers.usize()).map(|i| poll(sub.clone(), i));
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
    // Room held for the next receive (slots with their rate tokens): what a receive did
    // not fill is kept, so an idle subscription does not spend its rate on empty receives.
    let mut room: Vec<Slot> = Vec::new();
    let hand_out_first = sub.backend.prepares_receive_inline();
    loop {
        if sub.admission.shrinking() {
            // Give the held room back, so the console's lower `max_in_flight` takes hold.
            room.clear();
        }
        tokio::select! {
            () = sub.health.wait_serving() => {}
            () = stopping.cancelled() => return,
        }
        tokio::select! {
            () = sub.admission.running() => {}
            () = stopping.cancelled() => return,
        }
        if room.is_empty() {
            room = tokio::select! {
                slots = sub.admission.reserve() => slots,
                () = stopping.cancelled() => return,
            };
        } else {
            sub.admission.top_up(&mut room);
        }
        if stopping.is_cancelled() {
            return;
        }
        if sub.admission.paused() {
            continue;
        }
        let asked = room.len();
        let (batch, received_at) = match source.receive(&sub, asked).await {
            Ok(batch) => {
                receive_failures = 0;
                (batch, SystemTime::now())
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
        // No backlog, and a receive that costs the thread work to start: the calls go
        // out before the next receive is prepared.
        let first_polls =
            (hand_out_first && !batch.is_empty() && batch.len() < asked).then(FirstPolls::new);
        for msg in batch {
            let Some(slot) = room.pop() else {
                // A backend returned more than asked for: hand the extra back at once.
                spawn_hand_back(&sub, msg, "overflow", Duration::ZERO);
                continue;
            };
            if stopping.is_cancelled() {
                spawn_hand_back(&sub, msg, "shutdown", Duration::ZERO);
                continue;
            }
            start(&sub, &source, msg, slot, received_at, first_polls.as_ref());
        }
        if let Some(first_polls) = first_polls {
            tokio::select! {
                () = first_polls.wait() => {}
                () = stopping.cancelled() => return,
            }
        }
    }
}

/// Starts the delivery of `msg` (received at `received_at`) in `slot`, tracked by
/// `first_polls` if given: dead-letters it when it is malformed, hands it back when its
/// realm is at its limit.
fn start(
    sub: &SubscriptionContext,
    source: &Source,
    msg: Received,
    slot: Slot,
    received_at: SystemTime,
    first_polls: Option<&FirstPolls>,
) {
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
                    &TraceContext::from_attributes(&msg.attributes, &msg.id),
                );
                s.telemetry.emit(events::Received {
                    ctx: &ctx,
                    at: received_at,
                });
                Settler {
                    sub: &s,
                    msg: &msg,
                    ctx: &ctx,
                    spans: None,
                }
                .dead_letter("malformed", &reason)
                .await;
                drop(slot);
            });
        }
        Ok(inspected) => match sub.admission.admit_realm(&inspected.realm) {
            Ok(realm) => {
                let delivery = deliver(sub.clone(), msg, inspected, slot, realm, received_at);
                match first_polls {
                    Some(first_polls) => sub.shutdown.tracker.spawn(first_polls.track(delivery)),
                    None => sub.shutdown.tracker.spawn(delivery),
                };
            }
            Err(refused) => {
                drop(slot);
                let delay = match refused {
                    Refused::Paused(delay) => delay,
                    Refused::Busy => sub.config.realm_requeue_delay.get(),
                };
                spawn_hand_back(sub, msg, refused.reason(), delay);
            }
        },
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
            &TraceContext::from_attributes(&msg.attributes, &msg.id),
        );
        Settler {
            sub: &s,
            msg: &msg,
            ctx: &ctx,
            spans: None,
        }
        .hand_back(reason, delay)
        .await;
    });
}
