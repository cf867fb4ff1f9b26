//! Dispatch, per subscription: the poller receives only as much as there is room to start
//! ([`admission`]), each message is checked and delivered to the worker while its lease is
//! kept alive ([`delivery`]), and the answer is applied to the queue ([`settle`]).

mod admission;
mod context;
mod delivery;
mod first_polls;
mod partitions;
mod poller;
mod settle;

pub use admission::Admission;
pub use context::SubscriptionContext;
pub use partitions::realm_queues;
pub use poller::run_subscription;
