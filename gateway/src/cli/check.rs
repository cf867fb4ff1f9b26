//! The live part of `ferry check`: the backend's preflight (do the queues exist, does a
//! native redrive policy undercut `max_attempts`, ...). Everything it finds is printed as
//! a warning: `check` judges the config, and a backend out of reach does not make it
//! invalid.

use std::time::Duration;

use crate::{
    backend,
    config::{BackendConfig, FerryConfig},
};

/// How long the backend may take to answer.
const TIMEOUT: Duration = Duration::from_secs(30);

/// Prints the preflight's findings for `cfg` on stderr.
pub(super) async fn preflight_warnings(cfg: &FerryConfig) {
    // The embedded backend has nothing remote to check (and opening it creates its file).
    if matches!(cfg.backend, BackendConfig::Embedded(_)) {
        return;
    }
    let check = async {
        let backend = backend::open(&cfg.backend).await?;
        match backend.preflight() {
            Some(p) => p.preflight(&cfg.queue_plans()).await,
            None => Ok(Vec::new()),
        }
    };
    let findings = match tokio::time::timeout(TIMEOUT, check).await {
        Ok(Ok(warnings)) => warnings,
        Ok(Err(e)) => vec![e.to_string()],
        Err(_) => vec![format!(
            "checking the backend: no answer within {}s",
            TIMEOUT.as_secs()
        )],
    };
    for line in findings.iter().flat_map(|f| f.lines()) {
        eprintln!("ferry: warning: {line}");
    }
}
