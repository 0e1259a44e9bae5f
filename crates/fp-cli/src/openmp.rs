//! How LibTorch's OpenMP threads wait when fpae restores prints: spinning on
//! an idle machine, asleep on a busy one.
//!
//! libgomp, LibTorch's OpenMP runtime, makes a thread that waits (for the next
//! parallel operator, or for the other threads at the end of one) spin on its
//! core for up to 300,000 iterations before it sleeps. On cores shared with
//! other programs that spinning takes the time the thread being waited for
//! needs: restoring 16 FVC2002 prints with `--threads 2` on a busy 2-core
//! machine, `perf` put 63 % of fpae's samples in libgomp's spin loop and 24 % in
//! the convolutions, and the run took 22 to 23 s, against 11 s with
//! `OMP_WAIT_POLICY=passive` (runs alternated; docs/performance.md). On an idle
//! machine the spinning costs nobody anything and saves the wake-ups: there
//! sleeping threads restored 64 prints 0 to 7 % slower.
//!
//! So the policy follows the load at start: fpae watches the machine for
//! [`LOAD_WINDOW`] (`/proc/stat`, less its own time), and when the cores other
//! processes keep busy plus fpae's threads would not fit on the cores, its
//! threads sleep. libgomp reads its settings once, as it is loaded, before
//! `main` runs, so the variable cannot be set from inside: the commands that
//! run a network over many prints execute fpae again with it set, once, unless
//! the user set `OMP_WAIT_POLICY` themselves (`active` spins, `passive`
//! sleeps, whatever the load).

/// The OpenMP variable libgomp reads its wait policy from.
pub const WAIT_POLICY_VAR: &str = "OMP_WAIT_POLICY";

/// How long fpae watches the machine's load before it chooses.
pub const LOAD_WINDOW: std::time::Duration = std::time::Duration::from_millis(100);

/// Whether fpae's `threads` should sleep while they wait: when the cores
/// `others` keep busy and those threads do not fit on `cores` (with a quarter
/// of a core to spare for the short tasks every machine runs).
pub fn should_sleep(others: f64, threads: usize, cores: usize) -> bool {
    others + threads as f64 > cores as f64 + 0.25
}

/// The value of `OMP_WAIT_POLICY` fpae's network commands run with, `None`
/// for libgomp's default (spin a while, then sleep): the user's value when
/// set, otherwise [`policy_for_load`]'s.
pub fn chosen_policy(threads: Option<usize>) -> Option<String> {
    match std::env::var_os(WAIT_POLICY_VAR) {
        Some(set) => Some(set.to_string_lossy().into_owned()),
        None => policy_for_load(threads).map(str::to_owned),
    }
}

/// `passive` when the machine is too busy for `threads` spinning threads (see
/// [`should_sleep`]) or its load cannot be read (spinning on shared cores cost
/// 3.7x, sleeping on idle ones up to 7 %); `None`, libgomp's default, when it
/// has room.
fn policy_for_load(threads: Option<usize>) -> Option<&'static str> {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let threads = threads.unwrap_or(cores).max(1);
    let others = fp_cpuload::other_load_over(LOAD_WINDOW);
    let room = others.is_some_and(|others| !should_sleep(others, threads, cores));
    (!room).then_some("passive")
}

/// Executes this program again, with the same arguments and
/// `OMP_WAIT_POLICY=passive`, when that variable is unset and the machine is
/// too busy for spinning threads ([`policy_for_load`]). Returns when the
/// variable is set already, when the machine has room (libgomp's default then
/// spins a while), or when fpae cannot execute itself.
pub fn wait_passively_when_busy(threads: Option<usize>) {
    if std::env::var_os(WAIT_POLICY_VAR).is_some() {
        return;
    }
    let Some(policy) = policy_for_load(threads) else { return };
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;

        let Ok(exe) = std::env::current_exe() else { return };
        let mut args = std::env::args_os();
        let mut cmd = std::process::Command::new(exe);
        if let Some(name) = args.next() {
            cmd.arg0(name);
        }
        let err = cmd.args(args).env(WAIT_POLICY_VAR, policy).exec();
        tracing::debug!("cannot execute fpae again with {WAIT_POLICY_VAR}={policy}: {err}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threads_sleep_only_when_the_cores_are_shared() {
        assert!(!should_sleep(0.08, 2, 2), "idle");
        assert!(!should_sleep(0.2, 2, 2), "a little background work");
        assert!(should_sleep(1.5, 2, 2), "another program on one core");
        assert!(!should_sleep(1.5, 2, 16), "room left on a larger machine");
        assert!(should_sleep(0.0, 4, 2), "more threads than cores");
    }
}
