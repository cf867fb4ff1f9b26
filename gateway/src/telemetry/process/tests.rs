//! Unit tests of the process metrics' parsing.

use super::parse;

#[test]
fn proc_files_are_read() {
    // A real /proc/<pid>/stat line (the command name holds a space and parentheses).
    let stat = "4321 (ferry (x) y) S 1 4321 4321 0 -1 4194560 1234 0 0 0 250 50 0 0 20 0 9 0 \
                12345 1073741824 2048 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";
    let limits = "Limit                     Soft Limit           Hard Limit           Units\n\
                  Max open files            1024                 524288               files\n";
    let s = parse(stat, limits, Some(1_700_000_000.0), 100.0, 4096, 12);
    assert_eq!(s.cpu_seconds, 3.0, "utime 250 + stime 50 ticks");
    assert_eq!(s.virtual_bytes, 1_073_741_824);
    assert_eq!(s.resident_bytes, 2048 * 4096);
    assert_eq!(s.max_fds, 1024);
    assert_eq!(s.open_fds, 12);
    assert_eq!(s.start_time_seconds, 1_700_000_123.45);
}
