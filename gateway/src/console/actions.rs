//! What operators change, each audited: pause and resume a subscription or one realm,
//! fleet-wide limits, dead letters (redrive chosen or all, delete chosen, purge) and
//! publishing a message. Each takes the [`Actor`] (who, from where) and writes one audit
//! entry with the outcome, failures included.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{
    Console,
    controls::{FleetControls, Mark, Override},
    fleet::SubKey,
    now_ms,
    queues::{Preview, preview},
    store::{self, AuditEntry},
};
use crate::backend::{DeadLetterAdmin, NewMessage, STORY_PREFIX};

/// Who acts, and from where.
#[derive(Debug, Clone)]
pub struct Actor {
    /// The operator's name (`X-Ferry-Actor`, else `operator`).
    pub name: String,
    /// The client's address.
    pub peer: String,
}

/// The most dead letters one listing shows.
pub const LIST_MAX: usize = 500;

/// The most ids one redrive or delete takes.
pub const IDS_MAX: usize = 1000;

/// A failed action: the HTTP status it maps to, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failed {
    /// 400, 404, 409 or 502.
    pub status: u16,
    /// Why.
    pub reason: String,
}

impl Failed {
    fn bad(reason: impl Into<String>) -> Self {
        Self {
            status: 400,
            reason: reason.into(),
        }
    }
    fn missing(reason: impl Into<String>) -> Self {
        Self {
            status: 404,
            reason: reason.into(),
        }
    }
    fn backend(reason: impl Into<String>) -> Self {
        Self {
            status: 502,
            reason: reason.into(),
        }
    }
}

impl Console {
    /// Writes one audit entry (a failure to write is reported on stderr, never hidden).
    pub async fn audit(
        &self,
        actor: &Actor,
        action: &str,
        target: &str,
        detail: Value,
        outcome: &Result<Value, Failed>,
    ) {
        let entry = AuditEntry {
            id: 0,
            at_ms: now_ms(),
            actor: actor.name.clone(),
            peer: actor.peer.clone(),
            action: action.to_owned(),
            target: target.to_owned(),
            detail: detail.to_string(),
            outcome: match outcome {
                Ok(_) => "ok".to_owned(),
                Err(f) => f.reason.clone(),
            },
        };
        if let Err(e) = self.store.call(move |c| store::audit(c, &entry)).await {
            eprintln!("ferry console: writing the audit log: {e}");
        }
    }

    fn mark(actor: &Actor) -> Mark {
        Mark {
            by: actor.name.clone(),
            at_ms: now_ms(),
        }
    }

    async fn controls_changed(
        &self,
        actor: &Actor,
        action: &str,
        key: &SubKey,
        detail: Value,
        change: impl FnOnce(&mut FleetControls),
    ) -> Result<Value, Failed> {
        let result = self
            .change_controls(key, change)
            .await
            .map(|c| json!({ "controls": c }))
            .map_err(Failed::backend);
        self.audit(actor, action, &key.to_string(), detail, &result)
            .await;
        result
    }

    /// Pauses (or resumes) receiving on every sidecar of `key`.
    pub async fn pause(&self, actor: &Actor, key: &SubKey, paused: bool) -> Result<Value, Failed> {
        let mark = Self::mark(actor);
        let action = if paused { "pause" } else { "resume" };
        self.controls_changed(actor, action, key, json!({}), |c| {
            c.paused = paused.then_some(mark);
        })
        .await
    }

    /// Pauses (or resumes) `realm` on every sidecar of `key`.
    pub async fn pause_realm(
        &self,
        actor: &Actor,
        key: &SubKey,
        realm: &str,
        paused: bool,
    ) -> Result<Value, Failed> {
        if realm.len() > 256 {
            return Err(Failed::bad("a realm is at most 256 bytes"));
        }
        let mark = Self::mark(actor);
        let action = if paused {
            "pause_realm"
        } else {
            "resume_realm"
        };
        let realm = realm.to_owned();
        self.controls_changed(actor, action, key, json!({ "realm": realm }), |c| {
            if paused {
                c.paused_realms.insert(realm, mark);
            } else {
                c.paused_realms.remove(&realm);
            }
        })
        .await
    }

    /// Sets or removes fleet-wide limits of `key`: each key of `change` present is set
    /// (a number) or removed (`null`); absent keys are left as they are.
    pub async fn set_limits(
        &self,
        actor: &Actor,
        key: &SubKey,
        change: &BTreeMap<String, Value>,
    ) -> Result<Value, Failed> {
        let parsed = parse_limits(change);
        let detail = Value::Object(change.clone().into_iter().collect());
        let (mif, per_realm, rate) = match parsed {
            Ok(p) => p,
            Err(f) => {
                let result = Err(f);
                self.audit(actor, "set_limits", &key.to_string(), detail, &result)
                    .await;
                return result;
            }
        };
        let mark = Self::mark(actor);
        self.controls_changed(actor, "set_limits", key, detail, |c| {
            if let Some(v) = mif {
                c.max_in_flight = v.map(|value| Override {
                    value,
                    mark: mark.clone(),
                });
            }
            if let Some(v) = per_realm {
                c.max_in_flight_per_realm = v.map(|value| Override {
                    value,
                    mark: mark.clone(),
                });
            }
            if let Some(v) = rate {
                c.rate_limit = v.map(|value| Override {
                    value,
                    mark: mark.clone(),
                });
            }
        })
        .await
    }

    /// The dead letters of `key` (at most `limit`), each with its story and a preview.
    pub async fn dead_letters(&self, key: &SubKey, limit: usize) -> Result<Value, Failed> {
        let (admin_backend, report) = self.dlq_target(key)?;
        let admin = admin(admin_backend.as_ref())?;
        let letters = admin
            .list(&report.error_queue, limit.clamp(1, LIST_MAX))
            .await
            .map_err(|e| Failed::backend(e.to_string()))?;
        let rows: Vec<Value> = letters
            .into_iter()
            .map(|l| {
                let mut story = BTreeMap::new();
                let mut attributes = BTreeMap::new();
                for (k, v) in l.attributes {
                    match k.strip_prefix(STORY_PREFIX) {
                        Some(s) => story.insert(s.to_owned(), v),
                        None => attributes.insert(k, v),
                    };
                }
                let p: Preview = preview(&l.payload);
                json!({ "id": l.id, "story": story, "attributes": attributes, "payload": p })
            })
            .collect();
        Ok(json!({ "error_queue": report.error_queue, "dead_letters": rows }))
    }

    fn dlq_target(
        &self,
        key: &SubKey,
    ) -> Result<
        (
            std::sync::Arc<dyn crate::backend::Backend>,
            crate::control::wire::SubscriptionReport,
        ),
        Failed,
    > {
        let report = self
            .report_of(key)
            .ok_or_else(|| Failed::missing(format!("no sidecar reports subscription {key}")))?;
        let entry = self.backends.get(&key.backend).ok_or_else(|| {
            Failed::missing(format!(
                "backend `{}` is not in the console's [backends]",
                key.backend
            ))
        })?;
        Ok((entry.backend.clone(), report))
    }

    /// Redrives the dead letters of `key` with `ids`, or every one (`all`).
    pub async fn redrive(
        &self,
        actor: &Actor,
        key: &SubKey,
        ids: Option<Vec<String>>,
    ) -> Result<Value, Failed> {
        let detail = json!({ "ids": ids, "all": ids.is_none() });
        let result = async {
            let (backend, report) = self.dlq_target(key)?;
            let admin = admin(backend.as_ref())?;
            let default_queue = report.queue.clone().unwrap_or_default();
            let moved = match &ids {
                Some(ids) => {
                    check_ids(ids)?;
                    admin
                        .redrive_ids(&report.error_queue, &default_queue, ids)
                        .await
                }
                None => {
                    redrive_all(backend.as_ref(), admin, &report.error_queue, &default_queue).await
                }
            }
            .map_err(|e| Failed::backend(e.to_string()))?;
            Ok(json!({ "redriven": moved }))
        }
        .await;
        self.audit(actor, "redrive", &key.to_string(), detail, &result)
            .await;
        result
    }

    /// Deletes the dead letters of `key` with `ids`.
    pub async fn delete_dead_letters(
        &self,
        actor: &Actor,
        key: &SubKey,
        ids: Vec<String>,
    ) -> Result<Value, Failed> {
        let detail = json!({ "ids": ids });
        let result = async {
            check_ids(&ids)?;
            let (backend, report) = self.dlq_target(key)?;
            let n = admin(backend.as_ref())?
                .delete_ids(&report.error_queue, &ids)
                .await
                .map_err(|e| Failed::backend(e.to_string()))?;
            Ok(json!({ "deleted": n }))
        }
        .await;
        self.audit(actor, "delete", &key.to_string(), detail, &result)
            .await;
        result
    }

    /// Deletes every dead letter of `key`; `confirm` must name its error queue.
    pub async fn purge(&self, actor: &Actor, key: &SubKey, confirm: &str) -> Result<Value, Failed> {
        let detail = json!({ "confirm": confirm });
        let result = async {
            let (backend, report) = self.dlq_target(key)?;
            if confirm != report.error_queue {
                return Err(Failed::bad(format!(
                    "confirm must be the error queue's name, `{}`",
                    report.error_queue
                )));
            }
            let n = admin(backend.as_ref())?
                .purge(&report.error_queue)
                .await
                .map_err(|e| Failed::backend(e.to_string()))?;
            Ok(json!({ "purged": n, "error_queue": report.error_queue }))
        }
        .await;
        self.audit(actor, "purge", &key.to_string(), detail, &result)
            .await;
        result
    }

    /// Publishes one message to `queue` on backend `backend`.
    pub async fn publish(&self, actor: &Actor, request: PublishRequest) -> Result<Value, Failed> {
        let detail = json!({
            "backend": request.backend, "queue": request.queue, "realm": request.realm,
            "attributes": request.attributes, "delay_ms": request.delay_ms,
            "payload_bytes": request.payload.len(),
        });
        let target = format!("{}/{}", request.backend, request.queue);
        let result = async {
            let entry = self.backends.get(&request.backend).ok_or_else(|| {
                Failed::missing(format!(
                    "backend `{}` is not in the console's [backends]",
                    request.backend
                ))
            })?;
            let message = request.message(entry.backend.horizon())?;
            let ids = entry
                .backend
                .publish(vec![message])
                .await
                .map_err(|e| Failed::backend(e.to_string()))?;
            Ok(json!({ "ids": ids }))
        }
        .await;
        self.audit(actor, "publish", &target, detail, &result).await;
        result
    }
}

fn admin(backend: &dyn crate::backend::Backend) -> Result<&dyn DeadLetterAdmin, Failed> {
    backend.dead_letters().ok_or_else(|| {
        Failed::backend(format!(
            "the {} backend cannot list dead letters",
            backend.kind()
        ))
    })
}

fn check_ids(ids: &[String]) -> Result<(), Failed> {
    if ids.is_empty() || ids.len() > IDS_MAX {
        return Err(Failed::bad(format!("ids: give 1 to {IDS_MAX} ids")));
    }
    Ok(())
}

/// Redrives the letters in `error_queue` now (as `ferry dlq redrive` does: a letter that
/// fails again meanwhile stays).
async fn redrive_all(
    backend: &dyn crate::backend::Backend,
    admin: &dyn DeadLetterAdmin,
    error_queue: &str,
    default_queue: &str,
) -> Result<usize, crate::backend::BackendError> {
    let present = match backend.stats() {
        Some(stats) => {
            let s = stats.stats(error_queue, error_queue).await?;
            usize::try_from(s.ready + s.in_flight + s.delayed).unwrap_or(usize::MAX)
        }
        None => admin.list(error_queue, 100_000).await?.len(),
    };
    let mut moved = 0;
    while moved < present {
        let n = admin
            .redrive(error_queue, default_queue, (present - moved).min(100))
            .await?;
        if n == 0 {
            break;
        }
        moved += n;
    }
    Ok(moved)
}

/// `Some(None)`: remove; `Some(Some(n))`: set; `None`: leave.
type Change<T> = Option<Option<T>>;

/// The changes a limits request asks for: `max_in_flight`, `max_in_flight_per_realm` and
/// `rate_limit`.
type LimitChanges = (Change<u32>, Change<u32>, Change<f64>);

fn parse_limits(change: &BTreeMap<String, Value>) -> Result<LimitChanges, Failed> {
    let mut out = (None, None, None);
    for (k, v) in change {
        match k.as_str() {
            "max_in_flight" | "max_in_flight_per_realm" => {
                let n = match v {
                    Value::Null => None,
                    v => Some(
                        v.as_u64()
                            .and_then(|n| u32::try_from(n).ok())
                            .filter(|n| (1..=1_000_000).contains(n))
                            .ok_or_else(|| {
                                Failed::bad(format!(
                                    "{k}: expected an integer from 1 to 1000000 or null, found {v}"
                                ))
                            })?,
                    ),
                };
                if k == "max_in_flight" {
                    out.0 = Some(n);
                } else {
                    out.1 = Some(n);
                }
            }
            "rate_limit" => {
                out.2 = Some(match v {
                    Value::Null => None,
                    v => Some(
                        v.as_f64()
                            .filter(|r| (0.001..=1_000_000.0).contains(r))
                            .ok_or_else(|| Failed::bad(format!("rate_limit: expected a number from 0.001 to 1000000 or null, found {v}")))?,
                    ),
                });
            }
            other => {
                return Err(Failed::bad(format!(
                    "unknown limit `{other}`: expected max_in_flight, max_in_flight_per_realm or rate_limit"
                )));
            }
        }
    }
    Ok(out)
}

/// A message to publish from the page.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PublishRequest {
    /// The console's name of the backend.
    pub backend: String,
    /// The destination queue.
    pub queue: String,
    /// The payload: text, or base64 with `base64 = true`.
    #[serde(default)]
    pub payload: String,
    /// Whether `payload` is base64.
    #[serde(default)]
    pub base64: bool,
    /// Attributes.
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    /// The realm (written to the `realm` attribute).
    #[serde(default)]
    pub realm: Option<String>,
    /// Deliver after this many milliseconds.
    #[serde(default)]
    pub delay_ms: Option<u64>,
}

impl PublishRequest {
    fn message(&self, horizon: std::time::Duration) -> Result<NewMessage, Failed> {
        use base64::Engine as _;
        let payload = if self.base64 {
            base64::engine::general_purpose::STANDARD
                .decode(&self.payload)
                .map_err(|e| Failed::bad(format!("payload: not base64: {e}")))?
        } else {
            self.payload.clone().into_bytes()
        };
        let outgoing = ferry_proto::v1::OutgoingMessage {
            destination: self.queue.clone(),
            payload: payload.into(),
            attributes: self.attributes.clone().into_iter().collect(),
            realm: self.realm.clone().unwrap_or_default(),
            schedule: self
                .delay_ms
                .and_then(|ms| {
                    prost_types::Duration::try_from(std::time::Duration::from_millis(ms)).ok()
                })
                .map(ferry_proto::v1::outgoing_message::Schedule::Delay),
            deduplication_id: String::new(),
            ordering_key: String::new(),
        };
        crate::message::to_new_message(
            outgoing,
            "realm",
            None,
            &crate::config::LimitsConfig::default(),
            horizon,
        )
        .map_err(|e| Failed::bad(format!("invalid message: {e}")))
    }
}
