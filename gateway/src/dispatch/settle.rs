//! [`Settler`]: applies the outcome of one delivery to the queue — publish then ack,
//! release for a retry with a durable delay, dead-letter with the story, or hand back
//! without counting the attempt — and emits the matching event.

use std::time::{Duration, SystemTime};

use ferry_proto::v1::{HandleResponse, handle_response::Outcome};
use tonic::Status;

use super::SubscriptionContext;
use crate::{
    backend::{DeadLetterStory, Failure, Received},
    message::{TraceContext, stamp_follow_up, to_new_message},
    retry::{StatusDecision, decide_status},
    telemetry::{MessageContext, events, otel::DeliverySpans},
    worker::emit_log_lines,
};

/// Settles one delivery.
pub(super) struct Settler<'a> {
    pub(super) sub: &'a SubscriptionContext,
    pub(super) msg: &'a Received,
    pub(super) ctx: &'a MessageContext,
    /// The delivery's spans, when it is traced.
    pub(super) spans: Option<&'a DeliverySpans>,
}

impl Settler<'_> {
    /// Settles a worker's answer.
    pub(super) async fn response(
        &self,
        response: HandleResponse,
        took: Duration,
        trace: &TraceContext,
    ) {
        // A forced fault for the tests (`FAILPOINTS=dispatch::settle=panic`, only in a
        // build with the `failpoints` feature).
        fail::fail_point!("dispatch::settle");
        emit_log_lines(&self.sub.telemetry, Some(self.ctx), response.logs);
        match response.outcome {
            Some(Outcome::Done(_)) => self.done(response.publish, took, trace).await,
            Some(Outcome::Retry(r)) => {
                let chosen = r.delay.and_then(|d| Duration::try_from(d).ok());
                let reason = if r.reason.is_empty() {
                    "the worker asked for a retry".to_owned()
                } else {
                    r.reason
                };
                self.retry(&reason, chosen, took).await;
            }
            Some(Outcome::DeadLetter(d)) => {
                let reason = if d.reason.is_empty() {
                    "the worker dead-lettered the message".to_owned()
                } else {
                    d.reason
                };
                self.dead_letter("worker", &reason).await;
            }
            None => {
                self.retry("the worker returned no outcome", None, took)
                    .await
            }
        }
    }

    /// Settles a failed call (see [`crate::retry::decide_status`]).
    pub(super) async fn status(&self, status: Status, took: Duration) {
        let error = format!("worker returned {:?}: {}", status.code(), status.message());
        match decide_status(status.code()) {
            StatusDecision::DeadLetter => self.dead_letter("status", &error).await,
            StatusDecision::Retry => self.retry(&error, None, took).await,
            StatusDecision::CheckHealth => {
                if self.sub.health.check_now().await {
                    self.retry(&error, None, took).await;
                } else {
                    self.hand_back("worker_unavailable", Duration::ZERO).await;
                }
            }
        }
    }

    /// Publishes the follow-ups (each in the delivery's trace, its span as their parent,
    /// unless the worker gave it a `traceparent`), then acks.
    async fn done(
        &self,
        publish: Vec<ferry_proto::v1::OutgoingMessage>,
        took: Duration,
        trace: &TraceContext,
    ) {
        // Traced, the publish is a span of its own under the delivery and the follow-ups'
        // parent; otherwise the delivery is.
        let publish_span = self.spans.map(DeliverySpans::publish_id);
        let traceparent = publish_span
            .as_deref()
            .map_or_else(|| trace.delivery_traceparent(), |id| trace.child(id));
        let max_attributes = self.sub.limits.max_attributes.usize();
        let realm_attribute = &self.sub.config.realm_attribute;
        let horizon = self.sub.backend.horizon();
        let mut messages = Vec::with_capacity(publish.len());
        for (i, m) in publish.into_iter().enumerate() {
            let dedup = format!("{}/{i}", self.msg.id);
            match to_new_message(m, realm_attribute, Some(dedup), &self.sub.limits, horizon) {
                Ok(mut m) => {
                    stamp_follow_up(
                        &mut m.attributes,
                        &traceparent,
                        &trace.tracestate,
                        max_attributes,
                    );
                    messages.push(m);
                }
                // The same answer can never succeed: no retry.
                Err(e) => {
                    let error = format!("the worker's answer is invalid: publish[{i}].{e}");
                    return self.dead_letter("invalid_response", &error).await;
                }
            }
        }
        let count = messages.len();
        if !messages.is_empty() {
            // What the events need, kept before the messages move into the backend.
            let published: Vec<(String, Option<String>)> = messages
                .iter()
                .map(|m| (m.queue.clone(), m.dedup_id.clone()))
                .collect();
            let destination = match published.first() {
                Some((first, _)) if published.iter().all(|(q, _)| q == first) => first.clone(),
                _ => "(several)".to_owned(),
            };
            let publish_started = SystemTime::now();
            let result = self.sub.backend.publish(messages).await;
            if let (Some(spans), Some(id)) = (self.spans, &publish_span) {
                let error = result.as_ref().err().map(ToString::to_string);
                spans.publish(id, &destination, count, publish_started, error.as_deref());
            }
            match result {
                Ok(ids) => {
                    for ((queue, dedup_id), id) in published.iter().zip(&ids) {
                        self.sub.telemetry.emit(events::Published {
                            ctx: Some(self.ctx),
                            destination: queue,
                            id,
                            dedup_id: dedup_id.as_deref(),
                        });
                    }
                }
                Err(e) => {
                    return self
                        .retry(
                            &format!("publishing follow-up messages failed: {e}"),
                            None,
                            took,
                        )
                        .await;
                }
            }
        }
        match self
            .sub
            .backend
            .ack(&self.msg.queue, &self.msg.receipt)
            .await
        {
            Ok(()) => self.sub.telemetry.emit(events::Done {
                ctx: self.ctx,
                duration: took,
                published: count,
            }),
            Err(e) => self.sub.telemetry.emit(events::SettleFailed {
                ctx: self.ctx,
                operation: "ack",
                error: e.to_string(),
            }),
        }
    }

    /// Returns the message for another attempt, or dead-letters it on the last attempt.
    pub(super) async fn retry(&self, error: &str, chosen: Option<Duration>, took: Duration) {
        let cfg = &self.sub.config;
        if self.msg.attempt >= cfg.max_attempts.get() {
            return self.dead_letter("max_attempts", error).await;
        }
        let delay = chosen.map_or_else(
            || cfg.backoff.delay(self.msg.attempt),
            |d| cfg.backoff.cap(d),
        );
        let now = SystemTime::now();
        let failure = Failure {
            last_error: error.to_owned(),
            first_at: self.msg.failures.as_ref().map_or(now, |f| f.first_at),
            last_at: now,
        };
        match self
            .sub
            .backend
            .release(&self.msg.queue, &self.msg.receipt, delay, Some(&failure))
            .await
        {
            Ok(()) => self.sub.telemetry.emit(events::Retried {
                ctx: self.ctx,
                duration: took,
                delay,
                error,
            }),
            Err(e) => self.sub.telemetry.emit(events::SettleFailed {
                ctx: self.ctx,
                operation: "release",
                error: e.to_string(),
            }),
        }
    }

    /// Moves the message to the error queue with its story.
    pub(super) async fn dead_letter(&self, reason: &str, error: &str) {
        let now = SystemTime::now();
        let story = DeadLetterStory {
            source_queue: self.msg.queue.clone(),
            subscription: self.sub.name.clone(),
            message_id: self.msg.id.clone(),
            attempts: self.msg.attempt,
            reason: reason.to_owned(),
            last_error: error.to_owned(),
            first_failure_at: self.msg.failures.as_ref().map_or(now, |f| f.first_at),
            last_failure_at: now,
        };
        let error_queue = &self.sub.error_queue;
        match self
            .sub
            .backend
            .dead_letter(self.msg, error_queue, &story)
            .await
        {
            Ok(()) => self.sub.telemetry.emit(events::DeadLettered {
                ctx: self.ctx,
                error_queue,
                reason,
                error,
            }),
            Err(e) => self.sub.telemetry.emit(events::SettleFailed {
                ctx: self.ctx,
                operation: "dead_letter",
                error: e.to_string(),
            }),
        }
    }

    /// Returns the message without counting the attempt.
    pub(super) async fn hand_back(&self, reason: &str, delay: Duration) {
        match self
            .sub
            .backend
            .release(&self.msg.queue, &self.msg.receipt, delay, None)
            .await
        {
            Ok(()) => self.sub.telemetry.emit(events::HandedBack {
                ctx: self.ctx,
                reason,
                delay,
            }),
            Err(e) => self.sub.telemetry.emit(events::SettleFailed {
                ctx: self.ctx,
                operation: "release",
                error: e.to_string(),
            }),
        }
    }
}
