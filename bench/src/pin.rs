//! `--pin`: gives the queue server a core of its own. ElasticMQ (or the emulator) is moved
//! to the last CPU and the benchmark — ferry, the worker and the baseline consumer — to the
//! others. In production the queue is a remote service whose CPU is not the consumer's;
//! without pinning, every side competes for the same two cores here and the comparison
//! measures, above all, which consumer leaves more CPU to the Java server. The server's
//! threads get their former affinity back when the benchmark ends.

use nix::{
    sched::{CpuSet, sched_getaffinity, sched_setaffinity},
    unistd::Pid,
};

/// The server's threads and the affinity each had before pinning.
pub struct Pinned {
    server: Vec<(Pid, CpuSet)>,
}

fn threads_of(pid: u32) -> Vec<Pid> {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|dir| {
            dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
                .map(Pid::from_raw)
                .collect()
        })
        .unwrap_or_default()
}

/// Pins the server `server_pid` to the last CPU and the calling thread (and so every thread
/// and process it starts afterwards) to the others. Call before the runtime starts.
pub fn pin(server_pid: u32) -> Result<Pinned, String> {
    let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    if cpus < 2 {
        return Err(format!(
            "--pin needs at least 2 CPUs, this machine has {cpus}"
        ));
    }
    let mut server_set = CpuSet::new();
    server_set
        .set(cpus - 1)
        .map_err(|e| format!("cpu set: {e}"))?;
    let mut ours = CpuSet::new();
    for cpu in 0..cpus - 1 {
        ours.set(cpu).map_err(|e| format!("cpu set: {e}"))?;
    }
    let threads = threads_of(server_pid);
    if threads.is_empty() {
        return Err(format!("--server-pid {server_pid}: no such process"));
    }
    let mut server = Vec::with_capacity(threads.len());
    for tid in threads {
        // A thread may end meanwhile: skip it.
        if let Ok(before) = sched_getaffinity(tid)
            && sched_setaffinity(tid, &server_set).is_ok()
        {
            server.push((tid, before));
        }
    }
    sched_setaffinity(Pid::from_raw(0), &ours).map_err(|e| format!("pinning ourselves: {e}"))?;
    println!(
        "pinned: queue server (pid {server_pid}, {} threads) on CPU {}, ferry, worker and baseline on CPU 0-{}",
        server.len(),
        cpus - 1,
        cpus - 2
    );
    Ok(Pinned { server })
}

impl Drop for Pinned {
    fn drop(&mut self) {
        for (tid, before) in &self.server {
            let _ = sched_setaffinity(*tid, before);
        }
    }
}
