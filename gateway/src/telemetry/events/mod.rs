//! The events ferry emits, one struct per step. Each writes one record (`event.action` is
//! the name in the table) and counts itself.
//!
//! | `event.action` | when |
//! |---|---|
//! | `ferry.started` / `ferry.stopped` | process start (with bound addresses) / end of drain |
//! | `message.received` | a delivery starts |
//! | `message.done` | the worker answered done; follow-ups published; input acked |
//! | `message.retried` | returned to the queue with a delay, attempt counted |
//! | `message.dead_lettered` | moved to the error queue with its story |
//! | `message.handed_back` | returned without counting the attempt (worker down, realm busy, shutdown) |
//! | `message.published` | a follow-up message was published |
//! | `message.settle_failed` | ack / release / dead-letter failed (the message comes back) |
//! | `worker.log` | a log line from the worker |
//! | `worker.health` | the worker's health changed |
//! | `worker.started` / `worker.exited` | the child worker process started / exited |
//! | `worker.output` | a line the child worker wrote to its stdout or stderr |
//! | `receive.failed` | a receive from the backend failed |
//! | `ingress.accepted` | the webhook ingress published a request (or answered a repeated delivery with its original id) |
//! | `ingress.rejected` | the webhook ingress refused a request (status and reason) |
//! | `console.reachable` / `console.unreachable` | the console answered a heartbeat again (or changed the controls) / stopped answering |
//! | `runtime.stalled` / `runtime.resumed` | ferry's runtime ran no task for a second (something blocks its thread) / runs again, with the stall's length |
//! | `logs.dropped` | a log sink's queue was full and records were dropped (written by the sink, [`crate::telemetry::sink::Drops`]) |
//!
//! One file per part of ferry: [`process`] (start and stop), [`message`] (one delivery's
//! steps, receives), [`ingress`] (the webhook ingress's requests), [`worker`] (the worker's log lines, health and child process).

mod console;
mod ingress;
mod message;
mod process;
mod worker;

pub use console::*;
pub use ingress::*;
pub use message::*;
pub use process::*;
pub use worker::*;
