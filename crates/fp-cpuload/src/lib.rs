//! How busy the machine's CPUs are, read from `/proc`: the cores that
//! processes other than this one keep busy.
//!
//! Two [`Sample`]s give the load of other processes between them
//! ([`other_load`]): the whole machine's busy time (`/proc/stat`) less this
//! process's and its waited-for children's (`/proc/self/stat`, whose `cutime`
//! and `cstime` hold a measured child once it has exited). `cargo xtask bench`
//! records it with every measurement; `fpae restore` reads it to choose how its
//! threads wait.

use std::time::{Duration, Instant};

/// Why `/proc` could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read (not Linux, or no `/proc`).
    #[error("cannot read {path}: {source}")]
    Read { path: &'static str, source: std::io::Error },
    /// The file did not hold what was expected.
    #[error("{path}: expected {expected}")]
    Format { path: &'static str, expected: &'static str },
}

/// Clock ticks per second of `/proc`'s CPU times (`USER_HZ`): 100 on every
/// architecture Linux runs LibTorch on (the kernel fixes it for userspace).
pub const USER_HZ: f64 = 100.0;

/// Busy ticks of all CPUs together from a `/proc/stat` text: the `cpu` line's
/// user, nice, system, irq, softirq and steal (guest time is already inside
/// user and nice; idle and iowait are not busy).
pub fn parse_stat_busy(text: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.split_whitespace().next() == Some("cpu"))?;
    let v: Vec<u64> = line.split_whitespace().skip(1).map(|f| f.parse().ok()).collect::<Option<_>>()?;
    let at = |i: usize| v.get(i).copied().unwrap_or(0);
    if v.len() < 4 {
        return None;
    }
    Some(at(0) + at(1) + at(2) + at(5) + at(6) + at(7))
}

/// What `/proc/<pid>/stat` says of a process's CPU time, in ticks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcTimes {
    pub pid: u32,
    /// The command name (`comm`, at most 15 bytes), without its parentheses.
    pub comm: String,
    /// Its own CPU time, all threads: utime + stime.
    pub own: u64,
    /// Its waited-for children's: cutime + cstime.
    pub children: u64,
}

/// Parses a `/proc/<pid>/stat` text. The command name may hold spaces and
/// parentheses, so the fields are counted from the last `)`.
pub fn parse_pid_stat(text: &str) -> Option<ProcTimes> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let pid = text[..open].trim().parse().ok()?;
    let comm = text.get(open + 1..close)?.to_owned();
    // After the name: state (field 3), ppid, ... utime is field 14, so index 11 here.
    let rest: Vec<&str> = text[close + 1..].split_whitespace().collect();
    let num = |i: usize| rest.get(i).and_then(|f| f.parse::<u64>().ok());
    Some(ProcTimes { pid, comm, own: num(11)? + num(12)?, children: num(13)? + num(14)? })
}

/// The machine's busy ticks and ours (this process and its reaped children) at one moment.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub at: Instant,
    /// The machine's busy ticks, all CPUs.
    pub busy: u64,
    /// This process's ticks and its reaped children's.
    pub ours: u64,
}

impl Sample {
    /// Reads `/proc/stat` and `/proc/self/stat` now.
    pub fn now() -> Result<Self, LoadError> {
        let read =
            |path: &'static str| std::fs::read_to_string(path).map_err(|source| LoadError::Read { path, source });
        let busy = parse_stat_busy(&read("/proc/stat")?)
            .ok_or(LoadError::Format { path: "/proc/stat", expected: "a `cpu` line of numbers" })?;
        let me = parse_pid_stat(&read("/proc/self/stat")?)
            .ok_or(LoadError::Format { path: "/proc/self/stat", expected: "pid (name) and 15 fields" })?;
        Ok(Self { at: Instant::now(), busy, ours: me.own + me.children })
    }
}

/// Cores kept busy by other processes between two samples: the machine's busy
/// ticks less ours, per second of wall time (0 when the clocks' rounding makes it negative).
pub fn other_load(before: &Sample, after: &Sample) -> f64 {
    let seconds = after.at.duration_since(before.at).as_secs_f64();
    let busy = after.busy.saturating_sub(before.busy) as f64;
    let ours = after.ours.saturating_sub(before.ours) as f64;
    if seconds <= 0.0 { 0.0 } else { ((busy - ours) / USER_HZ / seconds).max(0.0) }
}

/// Cores kept busy by other processes over the next `window`, this thread
/// sleeping meanwhile; `None` when `/proc` cannot be read.
pub fn other_load_over(window: Duration) -> Option<f64> {
    let before = Sample::now().ok()?;
    std::thread::sleep(window);
    Some(other_load(&before, &Sample::now().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAT: &str = "cpu  1766569 114645 121097 192428 4586 0 1229 980 0 0\n\
                        cpu0 872761 55635 58660 111063 1868 0 54 490 0 0\n\
                        cpu1 893807 59009 62436 81365 2717 0 1174 489 0 0\nintr 1 2 3\nctxt 42\n";

    #[test]
    fn busy_ticks_add_user_nice_system_irq_softirq_and_steal() {
        // user + nice + system + irq (0) + softirq + steal.
        assert_eq!(parse_stat_busy(STAT), Some(1766569 + 114645 + 121097 + 1229 + 980));
        // Idle (400) and iowait (50) are not busy; guest (9) and guest_nice (10) are inside user and nice.
        assert_eq!(parse_stat_busy("cpu 1 2 3 400 50 6 7 8 9 10\n"), Some(1 + 2 + 3 + 6 + 7 + 8));
        // An old kernel's four fields: no irq, softirq or steal.
        assert_eq!(parse_stat_busy("cpu 10 2 3 400\n"), Some(15));
        assert_eq!(parse_stat_busy("cpu0 1 2 3 4\n"), None, "only the all-CPU line counts");
        assert_eq!(parse_stat_busy("cpu 1 x 3 4\n"), None);
        assert_eq!(parse_stat_busy(""), None);
    }

    #[test]
    fn pid_stat_fields_are_counted_after_the_last_parenthesis() {
        let text = "31207 (cat) R 31201 31201 23583 0 -1 4194304 97 0 0 0 7 5 3 2 20 0 1 0 1102381 3133440 382\n";
        let t = parse_pid_stat(text).unwrap();
        assert_eq!(t, ProcTimes { pid: 31207, comm: "cat".into(), own: 12, children: 5 });
        // A name with a space and a parenthesis of its own.
        let odd = "42 (my (odd) name) S 1 42 42 0 -1 0 0 0 0 0 150 50 1000 24 20 0 4 0 9 9 9\n";
        let t = parse_pid_stat(odd).unwrap();
        assert_eq!((t.pid, t.comm.as_str(), t.own, t.children), (42, "my (odd) name", 200, 1024));
        assert_eq!(parse_pid_stat("42 (short) S 1 2 3"), None);
        assert_eq!(parse_pid_stat("garbage"), None);
    }

    #[test]
    fn other_load_is_the_machines_busy_time_less_ours_per_second() {
        let t0 = Instant::now();
        let before = Sample { at: t0, busy: 1000, ours: 500 };
        // 2 s later: 450 ticks busy on the machine, 250 of them ours -> 200 ticks = 2 s of CPU over 2 s.
        let after = Sample { at: t0 + Duration::from_secs(2), busy: 1450, ours: 750 };
        assert!((other_load(&before, &after) - 1.0).abs() < 1e-9);
        // All of it ours: nothing else; ticks rounding below ours is not negative load.
        let after = Sample { at: t0 + Duration::from_secs(2), busy: 1240, ours: 750 };
        assert_eq!(other_load(&before, &after), 0.0);
        assert_eq!(other_load(&before, &before), 0.0);
    }

    #[test]
    fn this_machines_load_can_be_read() {
        let load = other_load_over(Duration::from_millis(20)).expect("/proc is readable on Linux");
        assert!(load.is_finite() && load >= 0.0, "{load}");
    }
}
