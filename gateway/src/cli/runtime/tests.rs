use tokio::runtime::RuntimeFlavor;

use super::{Threads, build};

/// Where a task spawned on `rt` ran, and the runtime's flavour and worker count.
fn shape(threads: Threads) -> (RuntimeFlavor, usize, bool) {
    let rt = build(threads).unwrap();
    let main = std::thread::current().id();
    let on_main = rt.block_on(async move {
        // A spawned task runs on the thread that drives the runtime only when there is
        // one thread.
        tokio::spawn(async move { std::thread::current().id() == main })
            .await
            .unwrap()
    });
    (
        rt.handle().runtime_flavor(),
        rt.metrics().num_workers(),
        on_main,
    )
}

#[test]
fn one_thread_runs_every_task_on_the_thread_that_drives_it() {
    assert_eq!(
        shape(Threads::Exactly(1)),
        (RuntimeFlavor::CurrentThread, 1, true)
    );
}

#[test]
fn more_threads_run_the_multi_thread_scheduler_with_that_many_workers() {
    assert_eq!(
        shape(Threads::Exactly(3)),
        (RuntimeFlavor::MultiThread, 3, false)
    );
}

#[test]
fn the_other_commands_keep_one_worker_per_core() {
    let cores = std::thread::available_parallelism().unwrap().get();
    let (flavor, workers, _) = shape(Threads::PerCore);
    assert_eq!((flavor, workers), (RuntimeFlavor::MultiThread, cores));
}
