//! Target `model`: loading a saved model folder, as `restore`, `reconstruct`,
//! `evaluate` and `train --init` do ([`fp_model::load`]: read and check
//! `model.toml`, build the network it describes, check and copy the tensors of
//! `model.safetensors` into it).
//!
//! Input: `model.toml`'s text, then a NUL byte and `model.safetensors`' bytes
//! (no NUL: no weights file).

use std::sync::Once;

use tch::Device;

/// Runs one input; see the module documentation for its layout.
pub fn load_saved_model(input: &[u8]) {
    static ONE_THREAD: Once = Once::new();
    // Fuzzing runs one input at a time on a shared machine; LibTorch's thread
    // pool would only add noise.
    ONE_THREAD.call_once(|| tch::set_num_threads(1));
    let (config, weights) = super::split_at_nul(input);
    let dir = crate::scratch::folder();
    crate::scratch::write(&dir.path().join(fp_model::MODEL_CONFIG_FILE), config);
    if let Some(weights) = weights {
        crate::scratch::write(&dir.path().join(fp_model::MODEL_WEIGHTS_FILE), weights);
    }
    let _ = fp_model::load(dir.path(), Device::Cpu);
}
