//! [`ProcessCollector`]: the standard `process_*` metrics of ferry's own process, read from
//! `/proc/self` at each scrape (Linux; nothing elsewhere): CPU seconds, resident and
//! virtual memory, open and maximum file descriptors, start time.

use prometheus_client::{
    collector::Collector,
    encoding::{DescriptorEncoder, EncodeMetric},
    metrics::{MetricType, counter::ConstCounter, gauge::ConstGauge},
};

/// Reads `/proc/self` at each scrape.
#[derive(Debug, Default)]
pub struct ProcessCollector;

/// What `/proc/self` says now.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub(super) struct Snapshot {
    pub cpu_seconds: f64,
    pub resident_bytes: i64,
    pub virtual_bytes: i64,
    pub open_fds: i64,
    pub max_fds: i64,
    pub start_time_seconds: f64,
}

/// The `stat` fields after the command name (which may hold spaces), 0-based from field 3.
fn stat_fields(stat: &str) -> Vec<&str> {
    stat.rsplit_once(") ")
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default()
}

/// Parses `/proc/self/stat`, `/proc/self/limits` and `/proc/stat` texts (pure, for tests).
pub(super) fn parse(
    stat: &str,
    limits: &str,
    boot_time: Option<f64>,
    ticks_per_second: f64,
    page_size: i64,
    open_fds: i64,
) -> Snapshot {
    let f = stat_fields(stat);
    let num = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    let int = |i: usize| f.get(i).and_then(|v| v.parse::<i64>().ok()).unwrap_or(0);
    // utime 14, stime 15, starttime 22, vsize 23, rss 24 (1-based); here 0-based from 3.
    let max_fds = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3)?.parse().ok())
        .unwrap_or(0);
    Snapshot {
        cpu_seconds: (num(11) + num(12)) / ticks_per_second,
        virtual_bytes: int(20),
        resident_bytes: int(21).saturating_mul(page_size),
        open_fds,
        max_fds,
        start_time_seconds: boot_time.map_or(0.0, |b| b + num(19) / ticks_per_second),
    }
}

fn snapshot() -> Snapshot {
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    let boot_time = read("/proc/stat")
        .lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|v| v.trim().parse().ok());
    let ticks = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .unwrap_or(100);
    let page = nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
        .ok()
        .flatten()
        .unwrap_or(4096);
    let open_fds = std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count());
    #[allow(clippy::cast_precision_loss)] // clock ticks per second: a small number
    parse(
        &read("/proc/self/stat"),
        &read("/proc/self/limits"),
        boot_time,
        ticks as f64,
        page,
        i64::try_from(open_fds).unwrap_or(i64::MAX),
    )
}

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let s = snapshot();
        let counter = ConstCounter::new(s.cpu_seconds);
        counter.encode(encoder.encode_descriptor(
            "process_cpu_seconds",
            "Total user and system CPU time spent in seconds",
            None,
            MetricType::Counter,
        )?)?;
        for (name, help, value) in [
            (
                "process_resident_memory_bytes",
                "Resident memory size in bytes",
                s.resident_bytes,
            ),
            (
                "process_virtual_memory_bytes",
                "Virtual memory size in bytes",
                s.virtual_bytes,
            ),
            (
                "process_open_fds",
                "Number of open file descriptors",
                s.open_fds,
            ),
            (
                "process_max_fds",
                "Maximum number of open file descriptors",
                s.max_fds,
            ),
        ] {
            ConstGauge::new(value).encode(encoder.encode_descriptor(
                name,
                help,
                None,
                MetricType::Gauge,
            )?)?;
        }
        ConstGauge::new(s.start_time_seconds).encode(encoder.encode_descriptor(
            "process_start_time_seconds",
            "Start time of the process since unix epoch in seconds",
            None,
            MetricType::Gauge,
        )?)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
