//! libFuzzer entry of the `fetch_manifest` target (see [`fp_fuzz::targets`]); built and
//! run by `cargo xtask fuzz`.
#![no_main]

#[global_allocator]
static ALLOCATOR: fp_fuzz::LimitedAllocator = fp_fuzz::LimitedAllocator::aborting();

libfuzzer_sys::fuzz_target!(|input: &[u8]| fp_fuzz::targets::fetch::read_manifest(input));
