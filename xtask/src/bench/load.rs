//! Whether the machine is quiet enough to measure on: the CPU time that
//! processes other than the benchmark use, read from `/proc`.
//!
//! A benchmark measures two programs that suffer unequally from a busy machine
//! (PyTorch's thread pool loses more to another process than LibTorch called
//! from fpae does), so a ratio measured under load says little about either.
//! Before measuring, [`check_idle`] samples every process for a moment and
//! refuses to go on when others keep more than [`IDLE_THRESHOLD_CORES`] busy;
//! during the measurements, [`Sample`]s taken before and after each run give the
//! load of other processes over that run ([`other_load`], from `fp-cpuload`): the whole machine's
//! busy time (`/proc/stat`) less ours and our waited-for children's
//! (`/proc/self/stat`, whose `cutime` and `cstime` hold the measured process
//! once it has exited).

use std::fmt::Write as _;
use std::time::Duration;

use anyhow::Result;
pub use fp_cpuload::{ProcTimes, Sample, USER_HZ, other_load, parse_pid_stat};
use serde_json::{Value, json};

/// Busy cores of other processes above which the machine is not idle.
pub const IDLE_THRESHOLD_CORES: f64 = 0.2;

/// How long [`check_idle`] watches the machine.
pub const IDLE_WINDOW: Duration = Duration::from_secs(3);

/// The load of a run: samples around it, `None` when `/proc` cannot be read
/// (not Linux), with a warning the first time.
pub fn sample() -> Option<Sample> {
    match Sample::now() {
        Ok(s) => Some(s),
        Err(e) => {
            static WARNED: std::sync::Once = std::sync::Once::new();
            WARNED.call_once(|| eprintln!("warning: the load of other processes is not recorded: {e:#}"));
            None
        }
    }
}

/// Other processes' load between `before` and now, as JSON (null when unknown).
pub fn other_load_since(before: Option<&Sample>) -> Value {
    match (before, sample()) {
        (Some(b), Some(a)) => json!(round2(other_load(b, &a))),
        _ => Value::Null,
    }
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// A process that used CPU while the machine was watched.
#[derive(Debug, Clone, PartialEq)]
pub struct Consumer {
    pub pid: u32,
    pub cores: f64,
    /// Its command line (its name where that cannot be read), shortened.
    pub command: String,
}

/// The processes that used the most CPU between two readings of every
/// process's [`ProcTimes`] `seconds` apart, busiest first, at most `top`;
/// processes in only one reading (started or ended between them) count from 0.
pub fn top_consumers(before: &[ProcTimes], after: &[ProcTimes], seconds: f64, top: usize) -> Vec<(u32, String, f64)> {
    let mut used: Vec<(u32, String, f64)> = after
        .iter()
        .map(|a| {
            let was = before.iter().find(|b| b.pid == a.pid && b.comm == a.comm).map_or(0, |b| b.own);
            (a.pid, a.comm.clone(), a.own.saturating_sub(was) as f64 / USER_HZ / seconds.max(1e-9))
        })
        .filter(|(_, _, cores)| *cores > 0.0)
        .collect();
    used.sort_by(|a, b| b.2.total_cmp(&a.2));
    used.truncate(top);
    used
}

/// What to do given other processes' load before measuring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Idle: measure.
    Quiet,
    /// Busy, and not forced: stop with the list of consumers.
    Refuse,
    /// Busy, but --force: measure, warn loudly and mark the result `"quiet": false`.
    Forced,
}

/// The decision for `load` busy cores of other processes.
pub fn verdict(load: f64, threshold: f64, force: bool) -> Verdict {
    match (load > threshold, force) {
        (false, _) => Verdict::Quiet,
        (true, false) => Verdict::Refuse,
        (true, true) => Verdict::Forced,
    }
}

/// What [`check_idle`] saw.
#[derive(Debug, Clone)]
pub struct IdleCheck {
    /// Busy cores of other processes over the window.
    pub load: f64,
    pub consumers: Vec<Consumer>,
    pub verdict: Verdict,
}

impl IdleCheck {
    /// The load, the threshold and the busiest processes, for messages.
    pub fn describe(&self) -> String {
        let mut s = format!(
            "other processes kept {:.2} cores busy over {} s (the idle threshold is {IDLE_THRESHOLD_CORES} core)",
            self.load,
            IDLE_WINDOW.as_secs()
        );
        if !self.consumers.is_empty() {
            s.push_str("; the busiest:");
            for c in &self.consumers {
                let _ = write!(s, "\n  pid {:>7}  {:>5.2} cores  {}", c.pid, c.cores, c.command);
            }
        }
        s
    }

    /// As JSON for the report.
    pub fn to_json(&self) -> Value {
        json!({
            "other_load": round2(self.load),
            "threshold": IDLE_THRESHOLD_CORES,
            "window_s": IDLE_WINDOW.as_secs_f64(),
            "top": self.consumers.iter().map(|c| json!({"pid": c.pid, "cores": round2(c.cores), "command": c.command})).collect::<Vec<_>>(),
        })
    }
}

/// Every process's CPU times now (those that vanish while read are skipped).
fn all_processes() -> Vec<ProcTimes> {
    let Ok(dir) = std::fs::read_dir("/proc") else { return Vec::new() };
    dir.filter_map(|e| {
        let e = e.ok()?;
        e.file_name().to_str()?.parse::<u32>().ok()?;
        parse_pid_stat(&std::fs::read_to_string(e.path().join("stat")).ok()?)
    })
    .collect()
}

/// A process's command line, spaces between its arguments, at most 120 characters.
fn command_line(pid: u32, comm: &str) -> String {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    // Arguments may hold newlines (`python -c "..."`): one line, single spaces.
    let line = String::from_utf8_lossy(&raw).replace('\0', " ").split_whitespace().collect::<Vec<_>>().join(" ");
    let line = if line.is_empty() { format!("[{comm}]") } else { line };
    if line.chars().count() > 120 { line.chars().take(117).collect::<String>() + "..." } else { line }
}

/// Watches the machine for [`IDLE_WINDOW`] and decides whether to measure
/// (see [`verdict`]); errors when `/proc` cannot be read, unless `force`.
pub fn check_idle(force: bool) -> Result<IdleCheck> {
    let before_all = all_processes();
    let before = Sample::now();
    std::thread::sleep(IDLE_WINDOW);
    let after = Sample::now();
    let after_all = all_processes();
    let (before, after) = match (before, after) {
        (Ok(b), Ok(a)) => (b, a),
        (Err(e), _) | (_, Err(e)) if !force => {
            return Err(anyhow::Error::new(e)
                .context("cannot tell whether the machine is idle (pass --force to measure anyway)"));
        }
        _ => return Ok(IdleCheck { load: f64::NAN, consumers: Vec::new(), verdict: Verdict::Forced }),
    };
    let load = other_load(&before, &after);
    let seconds = after.at.duration_since(before.at).as_secs_f64();
    let me = std::process::id();
    let consumers = top_consumers(&before_all, &after_all, seconds, 6)
        .into_iter()
        .filter(|(pid, _, _)| *pid != me)
        .take(5)
        .map(|(pid, comm, cores)| Consumer { pid, cores, command: command_line(pid, &comm) })
        .collect();
    Ok(IdleCheck { load, consumers, verdict: verdict(load, IDLE_THRESHOLD_CORES, force) })
}

/// [`check_idle`], then: refuse with the busiest processes, or warn loudly when
/// forced; `Ok(true)` when the machine was quiet.
pub fn require_idle(force: bool) -> Result<(bool, IdleCheck)> {
    eprintln!("checking that the machine is idle ({} s) ...", IDLE_WINDOW.as_secs());
    let check = check_idle(force)?;
    match check.verdict {
        Verdict::Quiet => Ok((true, check)),
        Verdict::Refuse => anyhow::bail!(
            "the machine is not idle: {}\nmeasurements under load are not comparable (the programs suffer \
             unequally); wait until it is idle, or pass --force to measure anyway (the result is marked \
             \"quiet\": false)",
            check.describe()
        ),
        Verdict::Forced => {
            let bar = "!".repeat(78);
            eprintln!(
                "{bar}\nWARNING: measuring on a busy machine (--force): {}\nthe numbers below are under load, \
                 not comparable with quiet ones; the result is marked \"quiet\": false\n{bar}",
                check.describe()
            );
            Ok((false, check))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_busiest_processes_come_first_and_new_ones_count_from_zero() {
        let p = |pid, comm: &str, own| ProcTimes { pid, comm: comm.into(), own, children: 0 };
        let before = [p(1, "init", 100), p(7, "train", 1000), p(9, "idle", 5)];
        let after = [p(1, "init", 101), p(7, "train", 1230), p(9, "idle", 5), p(12, "cc", 40)];
        let top = top_consumers(&before, &after, 2.0, 5);
        let names: Vec<(&str, f64)> = top.iter().map(|(_, c, cores)| (c.as_str(), *cores)).collect();
        assert_eq!(names, [("train", 1.15), ("cc", 0.2), ("init", 0.005)]);
        assert_eq!(top_consumers(&before, &after, 2.0, 1).len(), 1);
        // A pid reused by another program counts from zero.
        let reused = [p(7, "other", 1010)];
        assert_eq!(top_consumers(&before, &reused, 1.0, 5)[0].2, 10.1);
    }

    #[test]
    fn a_busy_machine_is_refused_unless_forced() {
        assert_eq!(verdict(0.05, IDLE_THRESHOLD_CORES, false), Verdict::Quiet);
        assert_eq!(verdict(0.2, IDLE_THRESHOLD_CORES, false), Verdict::Quiet);
        assert_eq!(verdict(0.05, IDLE_THRESHOLD_CORES, true), Verdict::Quiet);
        assert_eq!(verdict(1.3, IDLE_THRESHOLD_CORES, false), Verdict::Refuse);
        assert_eq!(verdict(1.3, IDLE_THRESHOLD_CORES, true), Verdict::Forced);
        let check = IdleCheck {
            load: 1.3,
            consumers: vec![Consumer { pid: 19475, cores: 1.15, command: "fpae train configs/restore.toml".into() }],
            verdict: Verdict::Refuse,
        };
        let text = check.describe();
        assert!(text.contains("1.30 cores busy") && text.contains("0.2 core"), "{text}");
        assert!(text.contains("pid   19475   1.15 cores  fpae train configs/restore.toml"), "{text}");
        assert_eq!(check.to_json()["top"][0]["pid"], 19475);
    }
}
