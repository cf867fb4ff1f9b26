//! Generated types for the Ferry protocol (`proto/ferry/v1`).
//!
//! `WorkerService` is what a worker implements; `GatewayService` is what the ferry sidecar
//! serves to the worker and other local services. The `.proto` files next to this crate are
//! the source of truth and document every field; Go and C# code is generated from the same
//! files with `buf generate`.
#![allow(missing_docs, clippy::all, unreachable_pub)]

pub mod codec;

/// `ferry.v1`: the worker protocol and gateway API.
pub mod v1 {
    tonic::include_proto!("ferry.v1");
}
