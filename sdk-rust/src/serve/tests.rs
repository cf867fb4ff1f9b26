//! Unit tests for reading the worker address from the environment's value, and for the
//! accepted connections' socket options.

use super::{no_delay, worker_addr};
use crate::error::ServeError;

#[test]
fn host_port_is_accepted_with_or_without_scheme() {
    assert_eq!(worker_addr("127.0.0.1:50061").unwrap(), "127.0.0.1:50061");
    assert_eq!(worker_addr(" http://localhost:7/ ").unwrap(), "localhost:7");
    assert_eq!(worker_addr("[::1]:8080").unwrap(), "[::1]:8080");
}

#[test]
fn bad_addresses_are_named() {
    for bad in ["50051", ":50051", "host:port", "host:70000"] {
        let err = worker_addr(bad).unwrap_err();
        assert!(matches!(err, ServeError::BadAddress { .. }), "{bad}");
        assert!(err.to_string().contains("FERRY_WORKER_ADDR"), "{err}");
    }
}

#[tokio::test]
async fn accepted_connections_do_not_wait_to_send_small_frames() {
    use futures::StreamExt as _;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut accepted = Box::pin(no_delay(listener));
    let _client = tokio::net::TcpStream::connect(addr).await.unwrap();
    let served = accepted.next().await.unwrap().unwrap();
    assert!(served.nodelay().unwrap(), "Nagle's algorithm is off");
}
