//! Checks on a parsed config that one field's type cannot express: names, how fields
//! relate to each other, and what the chosen backend accepts. Each problem is a
//! `(dotted key, reason)` pair. Ranges are not checked here: every bounded field has its
//! range in its type ([`crate::bounded`]).

use super::model::FerryConfig;

/// Whether `name` is a valid subscription or service name: 1–64 of `[A-Za-z0-9_-]`.
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
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
    if addr.starts_with("https://") {
        bad(
            "worker.address".into(),
            format!(
                "`{addr}`: ferry talks to its worker over plain HTTP/2 beside it; TLS to the worker is not supported (use http://)"
            ),
        );
    } else if !addr.starts_with("http://") {
        bad(
            "worker.address".into(),
            format!("`{addr}` must start with http:// (e.g. http://127.0.0.1:50051)"),
        );
    } else if addr.parse::<tonic::transport::Uri>().is_err() {
        bad(
            "worker.address".into(),
            format!("`{addr}` is not a valid URI"),
        );
    }
    let (gateway, admin) = (&config.gateway, &config.admin);
    if gateway.enabled
        && admin.enabled
        && gateway.listen == admin.listen
        && gateway.listen.port() != 0
    {
        bad(
            "admin.listen".into(),
            format!(
                "{} is also gateway.listen: the two servers need addresses of their own",
                admin.listen
            ),
        );
    }
    for (key, reason) in config.backend.problems() {
        bad(key, reason);
    }
    for (key, reason) in config.logs.problems() {
        bad(key, reason);
    }
    for (key, reason) in config.console.problems() {
        bad(format!("console.{key}"), reason);
    }
    if let Some(version) = &config.service_version
        && (version.is_empty() || version.len() > 128)
    {
        bad("service_version".into(), "must be 1-128 characters".into());
    }
    if config.subscriptions.is_empty() && config.ingress.is_none() {
        bad(
            "subscriptions".into(),
            "at least one [subscriptions.<name>] table (or an [ingress]) is required".into(),
        );
    }
    if let Some(ingress) = &config.ingress {
        let queue_problem = |q: &str| config.backend.queue_problem(q);
        for (key, reason) in ingress.problems(config.limits.max_payload_bytes.get(), &queue_problem)
        {
            bad(key, reason);
        }
        let port = ingress.listen.port();
        for (enabled, other, key) in [
            (gateway.enabled, gateway.listen, "gateway.listen"),
            (admin.enabled, admin.listen, "admin.listen"),
        ] {
            if enabled && other == ingress.listen && port != 0 {
                bad(
                    "ingress.listen".into(),
                    format!(
                        "{} is also {key}: the servers need addresses of their own",
                        ingress.listen
                    ),
                );
            }
        }
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
            if let Some(reason) = config.backend.queue_problem(&queue) {
                bad(key(field), reason);
            }
        }
        if sub.queue_name(name) == sub.error_queue_name(name) {
            bad(key("error_queue"), "must differ from the queue".into());
        }
        if sub.pollers.get() > sub.max_in_flight.get() {
            bad(
                key("pollers"),
                format!(
                    "{} is more than max_in_flight ({})",
                    sub.pollers, sub.max_in_flight
                ),
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
            if !config.backend.can_discover() {
                bad(
                    key("queue_prefix"),
                    "needs a backend that can list queues ([backend.sqs])".into(),
                );
            }
        }
        if let Some(per_realm) = sub.max_in_flight_per_realm
            && per_realm > sub.max_in_flight
        {
            bad(
                key("max_in_flight_per_realm"),
                format!("{per_realm} exceeds max_in_flight ({})", sub.max_in_flight),
            );
        }
        if sub.realm_attribute.is_empty() {
            bad(key("realm_attribute"), "must not be empty".into());
        }
        if sub.max_lease.get() < sub.handler_timeout.get() {
            bad(
                key("max_lease"),
                format!(
                    "{} is shorter than handler_timeout ({}): a slow handler would be delivered twice",
                    sub.max_lease, sub.handler_timeout
                ),
            );
        }
    }
    problems
}
