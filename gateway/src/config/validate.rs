//! Checks on a parsed config that types alone cannot express; each problem is a
//! `(dotted key, reason)` pair.

use super::model::{BackendConfig, FerryConfig};

/// Whether `name` is a valid subscription or service name: 1–64 of `[A-Za-z0-9_-]`.
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Whether `name` is a valid queue name on every backend: 1–80 of `[A-Za-z0-9_-]`, with an
/// optional `.fifo` suffix (the SQS rules, the strictest of the backends).
pub fn is_valid_queue_name(name: &str) -> bool {
    let base = name.strip_suffix(".fifo").unwrap_or(name);
    !base.is_empty()
        && name.len() <= 80
        && base
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// All problems with `config`.
pub(super) fn validate(config: &FerryConfig) -> Vec<(String, String)> {
    let mut problems = Vec::new();
    let mut bad = |key: String, reason: String| problems.push((key, reason));

    if !is_valid_name(&config.service) {
        bad(
            "service".into(),
            "must be 1-64 letters, digits, '_' or '-'".into(),
        );
    }
    let addr = &config.worker.address;
    if !(addr.starts_with("http://") || addr.starts_with("https://")) {
        bad(
            "worker.address".into(),
            format!("`{addr}` must start with http:// or https:// (e.g. http://127.0.0.1:50051)"),
        );
    } else if addr.parse::<tonic::transport::Uri>().is_err() {
        bad(
            "worker.address".into(),
            format!("`{addr}` is not a valid URI"),
        );
    }
    if config.worker.health_interval.is_zero() {
        bad(
            "worker.health_interval".into(),
            "must be greater than zero".into(),
        );
    }
    if config.limits.max_payload_bytes == 0 {
        bad(
            "limits.max_payload_bytes".into(),
            "must be greater than zero".into(),
        );
    }
    match &config.backend {
        BackendConfig::Embedded(e) => {
            if e.path.as_os_str().is_empty() {
                bad("backend.embedded.path".into(), "must not be empty".into());
            }
            if e.poll_interval.is_zero() {
                bad(
                    "backend.embedded.poll_interval".into(),
                    "must be greater than zero".into(),
                );
            }
        }
        #[cfg(feature = "sqs")]
        BackendConfig::Sqs(c) => {
            for (key, reason) in c.problems() {
                bad(format!("backend.sqs.{key}"), reason);
            }
        }
        #[cfg(feature = "pubsub")]
        BackendConfig::Pubsub(c) => {
            for (key, reason) in c.problems() {
                bad(format!("backend.pubsub.{key}"), reason);
            }
            for (name, sub) in &config.subscriptions {
                for (field, id) in [
                    ("queue", sub.queue_name(name)),
                    ("error_queue", sub.error_queue_name(name)),
                ] {
                    if !crate::backend::pubsub::is_valid_resource_id(&id) {
                        bad(
                            format!("subscriptions.{name}.{field}"),
                            format!(
                                "`{id}` is not a Pub/Sub id (3-255 characters, starting with a letter, not with `goog`)"
                            ),
                        );
                    }
                }
            }
        }
    }
    // SQS also takes queue URLs; a backend that can list queues supports `queue_prefix`.
    #[cfg(feature = "sqs")]
    let sqs = matches!(config.backend, BackendConfig::Sqs(_));
    #[cfg(not(feature = "sqs"))]
    let sqs = false;
    for (key, reason) in config.logs.problems() {
        bad(key, reason);
    }
    if let Some(version) = &config.service_version
        && (version.is_empty() || version.len() > 128)
    {
        bad("service_version".into(), "must be 1-128 characters".into());
    }
    if config.subscriptions.is_empty() {
        bad(
            "subscriptions".into(),
            "at least one [subscriptions.<name>] table is required".into(),
        );
    }
    for (name, sub) in &config.subscriptions {
        let key = |field: &str| format!("subscriptions.{name}.{field}");
        if !is_valid_name(name) {
            bad(
                format!("subscriptions.{name}"),
                "the name must be 1-64 letters, digits, '_' or '-'".into(),
            );
        }
        for (field, queue) in [
            ("queue", sub.queue_name(name)),
            ("error_queue", sub.error_queue_name(name)),
        ] {
            let url = queue.starts_with("https://") || queue.starts_with("http://");
            if !(is_valid_queue_name(&queue) || sqs && url) {
                bad(
                    key(field),
                    format!(
                        "`{queue}` must be 1-80 letters, digits, '_' or '-' (optionally ending in .fifo)"
                    ),
                );
            }
        }
        if sub.queue_name(name) == sub.error_queue_name(name) {
            bad(key("error_queue"), "must differ from the queue".into());
        }
        if sub.max_in_flight == 0 {
            bad(key("max_in_flight"), "must be at least 1".into());
        }
        if sub.batch_size == 0 {
            bad(key("batch_size"), "must be at least 1".into());
        }
        if sub.pollers == 0 || sub.pollers > sub.max_in_flight.max(1) {
            bad(
                key("pollers"),
                format!("{} must be between 1 and max_in_flight", sub.pollers),
            );
        }
        if let Some(prefix) = &sub.queue_prefix {
            if sub.queue.is_some() {
                bad(
                    key("queue_prefix"),
                    "set either queue or queue_prefix, not both".into(),
                );
            }
            if prefix.is_empty()
                || prefix.len() > 79
                || !prefix
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            {
                bad(
                    key("queue_prefix"),
                    format!("`{prefix}` must be 1-79 letters, digits, '_' or '-'"),
                );
            }
            if !sqs {
                bad(
                    key("queue_prefix"),
                    "needs a backend that can list queues ([backend.sqs])".into(),
                );
            }
            if sub.discovery_interval.is_zero() {
                bad(
                    key("discovery_interval"),
                    "must be greater than zero".into(),
                );
            }
        }
        if let Some(per_realm) = sub.max_in_flight_per_realm {
            if per_realm == 0 {
                bad(
                    key("max_in_flight_per_realm"),
                    "must be at least 1 (leave it unset for no limit)".into(),
                );
            } else if per_realm > sub.max_in_flight {
                bad(
                    key("max_in_flight_per_realm"),
                    format!("{per_realm} exceeds max_in_flight ({})", sub.max_in_flight),
                );
            }
        }
        if sub.realm_attribute.is_empty() {
            bad(key("realm_attribute"), "must not be empty".into());
        }
        if let Some(rate) = sub.rate_limit
            && !(rate.is_finite() && rate > 0.0)
        {
            bad(
                key("rate_limit"),
                format!("{rate} must be a positive number of messages per second"),
            );
        }
        if sub.max_attempts == 0 {
            bad(key("max_attempts"), "must be at least 1".into());
        }
        if sub.handler_timeout.is_zero() {
            bad(key("handler_timeout"), "must be greater than zero".into());
        }
        if sub.lease < std::time::Duration::from_secs(1) {
            bad(key("lease"), "must be at least 1s".into());
        }
        if sub.max_lease < sub.handler_timeout {
            bad(
                key("max_lease"),
                format!(
                    "{} is shorter than handler_timeout ({}): a slow handler would be delivered twice",
                    humantime::format_duration(sub.max_lease),
                    humantime::format_duration(sub.handler_timeout)
                ),
            );
        }
    }
    problems
}
