//! [`GatewayApi`]: the tonic implementation of `ferry.v1.GatewayService`.

use std::sync::Arc;

use ferry_proto::v1::{
    LogRequest, LogResponse, PublishRequest, PublishResponse,
    gateway_service_server::GatewayService,
};
use tonic::{Request, Response, Status};

use crate::{
    backend::Backend,
    config::LimitsConfig,
    message::{span_id_of, stamp_follow_up, to_new_message, trace_id_of},
    telemetry::{MessageContext, Telemetry, events},
    worker::emit_log_lines,
};

/// The gateway service.
#[derive(Clone)]
pub struct GatewayApi {
    /// Where messages are published.
    pub backend: Arc<dyn Backend>,
    /// Events.
    pub telemetry: Telemetry,
    /// Size limits.
    pub limits: LimitsConfig,
    /// The attribute a message's `realm` is written to.
    pub realm_attribute: String,
}

#[tonic::async_trait]
impl GatewayService for GatewayApi {
    async fn publish(
        &self,
        request: Request<PublishRequest>,
    ) -> Result<Response<PublishResponse>, Status> {
        // The caller's context (a worker publishing while it handles a message passes the
        // delivery's): messages without a `traceparent` of their own join its trace.
        let header = |key: &str| {
            request
                .metadata()
                .get(key)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let caller = header("traceparent").filter(|tp| trace_id_of(tp).is_some());
        let tracestate = header("tracestate").unwrap_or_default();
        let messages = request.into_inner().messages;
        if messages.is_empty() {
            return Err(Status::invalid_argument(
                "messages: at least one message is required",
            ));
        }
        let horizon = self.backend.horizon();
        let mut batch = Vec::with_capacity(messages.len());
        for (i, m) in messages.into_iter().enumerate() {
            let mut m = to_new_message(m, &self.realm_attribute, None, &self.limits, horizon)
                .map_err(|e| Status::invalid_argument(format!("messages[{i}].{e}")))?;
            if let Some(traceparent) = &caller {
                stamp_follow_up(
                    &mut m.attributes,
                    traceparent,
                    &tracestate,
                    self.limits.max_attributes.usize(),
                );
            }
            batch.push(m);
        }
        // What the events need, kept before the messages move into the backend.
        let published: Vec<(String, Option<String>)> = batch
            .iter()
            .map(|m| (m.queue.clone(), m.dedup_id.clone()))
            .collect();
        let ids = self
            .backend
            .publish(batch)
            .await
            .map_err(|e| Status::unavailable(e.to_string()))?;
        for ((queue, dedup_id), id) in published.iter().zip(&ids) {
            self.telemetry.emit(events::Published {
                ctx: None,
                destination: queue,
                id,
                dedup_id: dedup_id.as_deref(),
            });
        }
        Ok(Response::new(PublishResponse { message_ids: ids }))
    }

    async fn log(&self, request: Request<LogRequest>) -> Result<Response<LogResponse>, Status> {
        let LogRequest { lines, context } = request.into_inner();
        let ctx = context.map(|c| MessageContext {
            subscription: c.subscription,
            queue: String::new(),
            message_id: c.message_id,
            attempt: 0,
            realm: c.realm,
            trace_id: trace_id_of(&c.traceparent).unwrap_or_default().to_owned(),
            span_id: span_id_of(&c.traceparent).unwrap_or_default().to_owned(),
            series: None,
        });
        emit_log_lines(&self.telemetry, ctx.as_ref(), lines);
        Ok(Response::new(LogResponse {}))
    }
}
