//! [`backend_ref`]: which backend a config names, as the console matches it: the kind and
//! where it is (the embedded file's absolute path, the SQS endpoint or region, the Pub/Sub
//! project and emulator).

use super::wire::BackendRef;
use crate::backend::BackendConfig;

/// The backend of `config`, as sidecars report it and the console matches it.
pub fn backend_ref(config: &BackendConfig) -> BackendRef {
    let kind = config.name().to_owned();
    let locator = match config {
        BackendConfig::Embedded(c) => {
            let path = std::path::absolute(&c.path).unwrap_or_else(|_| c.path.clone());
            // The file may not exist yet; its directory usually does.
            let canonical = std::fs::canonicalize(&path).ok().or_else(|| {
                let dir = std::fs::canonicalize(path.parent()?).ok()?;
                Some(dir.join(path.file_name()?))
            });
            canonical.unwrap_or(path).display().to_string()
        }
        #[cfg(feature = "sqs")]
        BackendConfig::Sqs(c) => match (&c.endpoint, &c.region) {
            (Some(endpoint), _) => endpoint.trim_end_matches('/').to_owned(),
            (None, Some(region)) => format!("aws:{region}"),
            (None, None) => "aws".to_owned(),
        },
        #[cfg(feature = "pubsub")]
        BackendConfig::Pubsub(c) => match c.emulator() {
            Some(host) => format!("{}@{host}", c.project),
            None => c.project.clone(),
        },
    };
    BackendRef { kind, locator }
}
