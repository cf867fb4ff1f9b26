use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use futures::poll;

use super::FirstPolls;

#[tokio::test]
async fn with_nothing_tracked_the_wait_is_over_at_once() {
    assert!(poll!(Box::pin(FirstPolls::new().wait())).is_ready());
}

#[tokio::test(flavor = "current_thread")]
async fn the_wait_lasts_until_each_delivery_has_run_once_even_if_it_never_finishes() {
    let polls = FirstPolls::new();
    let runs = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..3)
        .map(|_| {
            let runs = runs.clone();
            tokio::spawn(polls.track(async move {
                runs.fetch_add(1, Ordering::SeqCst);
                std::future::pending::<()>().await;
            }))
        })
        .collect();
    let mut wait = Box::pin(polls.wait());
    // One thread: the spawned deliveries have not run yet.
    assert!(poll!(&mut wait).is_pending());
    assert_eq!(runs.load(Ordering::SeqCst), 0);
    wait.await;
    assert_eq!(runs.load(Ordering::SeqCst), 3);
    for t in tasks {
        assert!(!t.is_finished());
        t.abort();
    }
}

#[tokio::test]
async fn a_tracked_delivery_still_runs_to_its_end() {
    let polls = FirstPolls::new();
    let task = tokio::spawn(polls.track(async {
        tokio::task::yield_now().await;
        7
    }));
    polls.wait().await;
    assert_eq!(task.await.unwrap(), 7);
}
