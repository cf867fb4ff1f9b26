//! The console: stub.
