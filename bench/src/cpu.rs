//! CPU seconds from `/proc`, for ferry-bench and the benchmarks in `src/bin/` (each of
//! them includes this file, so the figures are read one way everywhere).

/// Whose CPU a figure counts.
#[derive(Debug, Clone, Copy)]
pub enum Whose {
    /// A whole process (`std::process::id()` for this one).
    Process(u32),
    /// This process's threads with this name (a runtime of their own, a writer thread).
    Threads(&'static str),
}

/// User + system CPU seconds of `whose` so far.
pub fn cpu_of(whose: Whose) -> f64 {
    match whose {
        Whose::Process(pid) => {
            cpu_in_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default())
        }
        Whose::Threads(name) => threads_cpu(name),
    }
}

/// CPU seconds of this process's threads named `name` (`/proc/self/task/*/comm`).
fn threads_cpu(name: &str) -> f64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0.0;
    };
    tasks
        .flatten()
        .filter(|t| {
            std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.trim_end() == name)
        })
        .map(|t| cpu_in_stat(&std::fs::read_to_string(t.path().join("stat")).unwrap_or_default()))
        .sum()
}

/// User + system CPU seconds in the text of a `/proc/.../stat` file.
fn cpu_in_stat(stat: &str) -> f64 {
    // Fields after the command name: utime is field 14, stime 15 (1-based).
    let after = stat.rsplit_once(") ").map(|(_, r)| r).unwrap_or_default();
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    let hz = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .unwrap_or(100) as f64;
    (ticks(11) + ticks(12)) / hz
}
