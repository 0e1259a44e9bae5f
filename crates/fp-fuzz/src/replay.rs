//! [`replay`]: runs one input through a target the way libFuzzer would judge
//! it, for the regression test: a panic, a run longer than [`INPUT_TIME_LIMIT`]
//! or an allocation above [`ALLOCATION_LIMIT`](crate::ALLOCATION_LIMIT) is a
//! [`Failure`].

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc;
use std::time::Duration;

use crate::alloc_limit::take_largest_excess;

/// The longest one input may take, here and under libFuzzer (`-timeout`).
pub const INPUT_TIME_LIMIT: Duration = Duration::from_secs(10);

/// Why an input failed a target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The target panicked, with this message.
    Panic(String),
    /// The target did not return within the time limit.
    Hang(Duration),
    /// The target made a single allocation of this many bytes, above the limit.
    Allocation(usize),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Panic(message) => write!(f, "panicked: {message}"),
            Self::Hang(limit) => write!(f, "still running after {} s", limit.as_secs_f64()),
            Self::Allocation(bytes) => {
                write!(f, "allocated {bytes} bytes at once (limit {} bytes)", crate::ALLOCATION_LIMIT)
            }
        }
    }
}

/// Runs `target` on `input` in a thread of its own, and says how it failed, if
/// it did. A hung run's thread is left behind (it cannot be stopped); the caller
/// reports the failure. Allocations are only watched where the binary installs
/// [`LimitedAllocator::recording`](crate::LimitedAllocator::recording).
pub fn replay(target: fn(&[u8]), input: &[u8], time_limit: Duration) -> Result<(), Failure> {
    let (done, outcome) = mpsc::channel();
    let input = input.to_vec();
    std::thread::Builder::new()
        .name("fp-fuzz replay".into())
        .spawn(move || {
            take_largest_excess();
            let result = catch_unwind(AssertUnwindSafe(|| target(&input)));
            let excess = take_largest_excess();
            let _ = done.send(match (result, excess) {
                (Err(payload), _) => Err(Failure::Panic(panic_message(payload.as_ref()))),
                (Ok(()), Some(bytes)) => Err(Failure::Allocation(bytes)),
                (Ok(()), None) => Ok(()),
            });
        })
        .expect("a thread can be spawned");
    outcome.recv_timeout(time_limit).unwrap_or(Err(Failure::Hang(time_limit)))
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(a panic payload that is not a string)".to_owned()
    }
}
