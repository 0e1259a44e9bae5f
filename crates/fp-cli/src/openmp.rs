//! How LibTorch's OpenMP threads wait when fpae restores prints: asleep, not
//! spinning.
//!
//! libgomp, LibTorch's OpenMP runtime, makes a thread that waits (for the next
//! parallel operator, or for the other threads at the end of one) spin on its
//! core for up to 300,000 iterations before it sleeps. On cores shared with
//! other programs that spinning takes the time the thread being waited for
//! needs: restoring 16 FVC2002 prints with `--threads 2` on a busy 2-core
//! machine, `perf` put 63 % of fpae's samples in libgomp's spin loop and 24 % in
//! the convolutions, and the run took 22 to 23 s, against 11 s with
//! `OMP_WAIT_POLICY=passive` (runs alternated; docs/performance.md).
//!
//! libgomp reads its settings once, as it is loaded, before `main` runs, so the
//! variable cannot be set from inside: the commands that run a network over
//! many prints execute fpae again with it set, once, unless the user set
//! `OMP_WAIT_POLICY` themselves (`OMP_WAIT_POLICY=active` keeps the spinning).

/// The OpenMP variable libgomp reads its wait policy from.
pub const WAIT_POLICY_VAR: &str = "OMP_WAIT_POLICY";

/// Executes this program again, with the same arguments and
/// `OMP_WAIT_POLICY=passive`, when that variable is unset. Returns only when it
/// is set already or fpae cannot execute itself (then with libgomp's default).
pub fn wait_passively() {
    if std::env::var_os(WAIT_POLICY_VAR).is_some() {
        return;
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;

        let Ok(exe) = std::env::current_exe() else { return };
        let mut args = std::env::args_os();
        let mut cmd = std::process::Command::new(exe);
        if let Some(name) = args.next() {
            cmd.arg0(name);
        }
        let err = cmd.args(args).env(WAIT_POLICY_VAR, "passive").exec();
        tracing::debug!("cannot execute fpae again with {WAIT_POLICY_VAR}=passive: {err}");
    }
}
