//! The webhook ingress (`[ingress]`): HTTP endpoints that verify a request's signature,
//! check its size, type and schema, and publish it to a queue, answering 2xx only once
//! the backend has confirmed the publish durably — so a provider's event, once answered,
//! is never lost. A provider's repeated delivery (the same de-duplication id within the
//! window) is answered with the original message id and enqueues nothing.
//!
//! [`config`] (the `ferry.toml` model), [`route`] (a route made ready), [`verify`] (one
//! file per signature scheme), [`secret`], [`schema`], [`answer`] (2xx and RFC 9457
//! problems), [`readiness`] (the backend's publish health, for 503s and `/readyz`),
//! [`dedup`] (ferry's own de-duplication record), [`handler`] (one request) and
//! [`server`] (start-up and serving). docs/INGRESS.md is the reference.

pub mod answer;
pub mod config;
pub mod dedup;
pub mod handler;
pub mod readiness;
pub mod route;
pub mod schema;
pub mod secret;
pub mod server;
pub mod verify;

pub use config::{IngressConfig, RouteConfig};
pub use readiness::PublishHealth;
pub use server::{Prepared, prepare, serve};
