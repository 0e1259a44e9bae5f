//! [`LimitedAllocator`]: the system allocator, watching for single allocations
//! above [`ALLOCATION_LIMIT`], which no input of fpae's readers should cause
//! (an image header that claims 60000x60000 pixels, a length field that is not
//! checked against the file).
//!
//! Under libFuzzer the allocator aborts, so that libFuzzer keeps the input as a
//! crash; libFuzzer's own `-malloc_limit_mb` needs a sanitizer's malloc hooks,
//! which a build without sanitizers does not have. Under `cargo test` it lets
//! the allocation through and records its size for the thread that made it, so
//! that [`replay`](crate::replay) reports it as a failure instead of killing the
//! test binary. Allocations made by LibTorch's C++ code do not pass through it;
//! libFuzzer's `-rss_limit_mb` bounds those.
// A global allocator is unsafe by nature: it only forwards to `System`.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::Write;

/// The largest single allocation an input may cause: 512 MiB, the limit fp-data
/// gives the image decoders (`image::Limits`' default, which `decode_gray`
/// reports in its `TooLarge` error). Nothing else fpae reads from a file needs
/// a tenth of it.
pub const ALLOCATION_LIMIT: usize = 512 << 20;

thread_local! {
    /// The largest allocation above the limit this thread made since it was last taken.
    static LARGEST_EXCESS: Cell<usize> = const { Cell::new(0) };
}

/// The system allocator with a limit on single allocations; install it with
/// `#[global_allocator]`.
#[derive(Debug)]
pub struct LimitedAllocator {
    abort_on_excess: bool,
}

impl LimitedAllocator {
    /// Aborts the process on an allocation above the limit (for libFuzzer, which
    /// then keeps the input).
    pub const fn aborting() -> Self {
        Self { abort_on_excess: true }
    }

    /// Lets an allocation above the limit through and records its size (for tests).
    pub const fn recording() -> Self {
        Self { abort_on_excess: false }
    }

    fn check(&self, size: usize) {
        if size <= ALLOCATION_LIMIT {
            return;
        }
        if self.abort_on_excess {
            // Formatting integers into unbuffered stderr does not allocate.
            let _ = writeln!(
                std::io::stderr(),
                "==fp-fuzz== a single allocation of {size} bytes, above the limit of {ALLOCATION_LIMIT} bytes"
            );
            std::process::abort();
        }
        // `try_with`: the thread-local may already be gone while a thread exits.
        let _ = LARGEST_EXCESS.try_with(|largest| largest.set(largest.get().max(size)));
    }
}

/// The largest allocation above [`ALLOCATION_LIMIT`] this thread made since the
/// last call, if any (recorded by a [`LimitedAllocator::recording`] allocator).
pub(crate) fn take_largest_excess() -> Option<usize> {
    let largest = LARGEST_EXCESS.try_with(|largest| largest.replace(0)).unwrap_or(0);
    (largest > 0).then_some(largest)
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged;
// `check` only reads the size and touches a `Cell` (no allocation).
unsafe impl GlobalAlloc for LimitedAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.check(layout.size());
        // SAFETY: forwarded unchanged; the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        self.check(layout.size());
        // SAFETY: as in `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged; `ptr` came from `System` through this allocator.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        self.check(new_size);
        // SAFETY: forwarded unchanged; `ptr` came from `System` through this allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}
