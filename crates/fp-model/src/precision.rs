//! Numeric precision and memory layout of the model's computations.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

use crate::device::DeviceSpec;
use crate::error::{ModelError, Result};

/// The precision setting: `f32`, `bf16` (mixed precision) or `auto`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// Everything in 32-bit floats.
    F32,
    /// Mixed precision, like PyTorch's autocast: convolutions and activations
    /// in bfloat16; weights, optimiser state and the loss stay in f32.
    Bf16,
    /// bf16 where the hardware runs it natively (CPUs with AVX512-BF16 or AMX,
    /// CUDA GPUs of compute capability 8.0 and newer), else f32.
    #[default]
    Auto,
}

impl Precision {
    /// What the model should compute with on `device`.
    pub fn resolve(self, device: Device) -> Compute {
        let bf16 = match self {
            Precision::F32 => false,
            Precision::Bf16 => true,
            Precision::Auto => fast_bf16(device),
        };
        Compute::new(bf16, device)
    }
}

impl FromStr for Precision {
    type Err = ModelError;

    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "f32" | "fp32" | "float32" => Ok(Self::F32),
            "bf16" | "bfloat16" => Ok(Self::Bf16),
            "auto" => Ok(Self::Auto),
            _ => Err(ModelError::Precision(s.to_owned())),
        }
    }
}

impl fmt::Display for Precision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Precision::F32 => "f32",
            Precision::Bf16 => "bf16",
            Precision::Auto => "auto",
        })
    }
}

/// How the model computes: the resolved precision and memory layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Compute {
    /// Convolutions and activations in bfloat16 (weights stay f32).
    pub bf16: bool,
    /// Activations and convolution weights in channels-last (NHWC) layout,
    /// which oneDNN and cuDNN run faster, above all in bf16.
    pub channels_last: bool,
}

impl Compute {
    /// f32 in the default (NCHW) layout: what the model does unless told otherwise.
    pub const F32: Compute = Compute { bf16: false, channels_last: false };

    /// The layout that is fastest for this precision on `device`: channels-last
    /// for bf16 everywhere and for f32 on CUDA; on the CPU, f32 convolutions
    /// of this network are faster in the default layout.
    pub fn new(bf16: bool, device: Device) -> Self {
        Self { bf16, channels_last: bf16 || device.is_cuda() }
    }

    /// The element type activations are computed in.
    pub fn kind(self) -> Kind {
        if self.bf16 { Kind::BFloat16 } else { Kind::Float }
    }

    /// `t` in this precision and layout. Autograd records the cast, so the
    /// gradients of an f32 weight come back in f32.
    pub fn prepare(self, t: &Tensor) -> Tensor {
        let t = if t.kind() == self.kind() { t.shallow_clone() } else { t.to_kind(self.kind()) };
        if self.channels_last && t.dim() == 4 { to_channels_last(&t) } else { t }
    }
}

impl fmt::Display for Compute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let precision = if self.bf16 { "bf16 mixed precision" } else { "f32" };
        let layout = if self.channels_last { "channels-last" } else { "NCHW" };
        write!(f, "{precision}, {layout}")
    }
}

/// Where and how a command's model computes: the device and the precision
/// and layout, resolved once from the settings (`device`, `precision`) and
/// handed to everything that builds, loads or runs a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    /// The tch device the model's weights and inputs live on.
    pub device: Device,
    /// The resolved precision and memory layout.
    pub compute: Compute,
}

impl Placement {
    /// f32 in the default layout on the CPU: what tests and tools that
    /// compare numbers use.
    pub const CPU_F32: Placement = Placement { device: Device::Cpu, compute: Compute::F32 };

    /// The device `device` names and what `precision` means on it, or an
    /// error when that device is not available here.
    pub fn resolve(device: DeviceSpec, precision: Precision) -> Result<Self> {
        let device = device.resolve()?;
        Ok(Self { device, compute: precision.resolve(device) })
    }
}

/// The same values with NHWC strides (`[N, C, H, W]` shape kept): what
/// PyTorch's `.to(memory_format=torch.channels_last)` does, including its
/// canonical strides for size-1 dimensions. Those matter: with one input
/// channel (the first convolution here) the NCHW and NHWC orders are the same
/// bytes, and only strides like `[HW, 1, W, 1]` make LibTorch pick its
/// channels-last kernels.
pub fn to_channels_last(t: &Tensor) -> Tensor {
    let size = t.size();
    let strides = channels_last_strides(&size);
    if t.stride() == strides {
        return t.shallow_clone();
    }
    let nhwc = t.permute([0, 2, 3, 1]).contiguous();
    nhwc.as_strided(size, strides, nhwc.storage_offset())
}

/// Canonical channels-last strides of an `[N, C, H, W]` shape.
fn channels_last_strides(size: &[i64]) -> Vec<i64> {
    let (c, h, w) = (size[1], size[2], size[3]);
    vec![h * w * c, 1, w * c, c]
}

/// Whether `device` runs bfloat16 natively.
fn fast_bf16(device: Device) -> bool {
    match device {
        Device::Cpu => std::fs::read_to_string("/proc/cpuinfo").is_ok_and(|info| cpuinfo_has_bf16(&info)),
        Device::Cuda(n) => cuda_compute_capability(n).is_some_and(|(major, _)| cuda_has_bf16(major)),
        _ => false,
    }
}

/// Whether a `/proc/cpuinfo` text lists AVX512-BF16 or AMX-BF16 among the
/// CPU's flags: the instructions that make bf16 convolutions faster than f32.
/// Without them (AVX2 only, or AVX512 without its BF16 extension) LibTorch
/// emulates bf16, slower than f32.
fn cpuinfo_has_bf16(cpuinfo: &str) -> bool {
    cpuinfo
        .lines()
        .find(|l| l.starts_with("flags"))
        .is_some_and(|flags| flags.split_whitespace().any(|f| f == "avx512_bf16" || f == "amx_bf16"))
}

/// Whether a CUDA device of compute capability `major`.x has bf16 tensor
/// cores (Ampere, 8.0, and later).
fn cuda_has_bf16(major: u32) -> bool {
    major >= 8
}

/// The compute capability of CUDA device `n`, as `nvidia-smi` reports it
/// (LibTorch's C API, and so tch, does not expose it).
fn cuda_compute_capability(n: usize) -> Option<(u32, u32)> {
    let out = std::process::Command::new("nvidia-smi")
        .args(["--query-gpu=compute_cap", "--format=csv,noheader", &format!("--id={n}")])
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let (major, minor) = text.trim().split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_last_keeps_shape_and_values_with_nhwc_strides() {
        let t = Tensor::arange(24, (Kind::Float, Device::Cpu)).view([1, 2, 3, 4]);
        let cl = to_channels_last(&t);
        assert_eq!(cl.size(), [1, 2, 3, 4]);
        assert_eq!(cl.stride(), [24, 1, 8, 2]);
        assert!(cl.equal(&t));
    }

    #[test]
    fn one_channel_tensors_get_canonical_channels_last_strides() {
        let t = Tensor::arange(12, (Kind::Float, Device::Cpu)).view([2, 1, 2, 3]);
        let cl = to_channels_last(&t);
        assert_eq!(cl.stride(), [6, 1, 3, 1]);
        assert!(cl.equal(&t));
        // Already channels-last: returned as it is.
        assert_eq!(to_channels_last(&cl).stride(), [6, 1, 3, 1]);
    }

    #[test]
    fn precision_parses_and_prints() {
        for p in [Precision::F32, Precision::Bf16, Precision::Auto] {
            assert_eq!(p.to_string().parse::<Precision>().unwrap(), p);
        }
        assert!("f16".parse::<Precision>().is_err());
        assert_eq!(Precision::F32.resolve(Device::Cpu), Compute::F32);
        assert_eq!(Precision::Bf16.resolve(Device::Cpu), Compute { bf16: true, channels_last: true });
    }

    #[test]
    fn placement_resolves_device_and_precision_together() {
        let cpu = Placement::resolve(DeviceSpec::Cpu, Precision::F32).unwrap();
        assert_eq!(cpu, Placement::CPU_F32);
        let bf16 = Placement::resolve(DeviceSpec::Cpu, Precision::Bf16).unwrap();
        assert_eq!(bf16.device, Device::Cpu);
        assert!(bf16.compute.bf16 && bf16.compute.channels_last);
        // A CUDA device that cannot exist here is an error naming it.
        let err = Placement::resolve(DeviceSpec::Cuda(1 << 20), Precision::F32).unwrap_err().to_string();
        assert!(err.contains("cuda:1048576"), "{err}");
    }

    /// Flag lines as Linux prints them on the two kinds of machines the project
    /// runs on, shortened: an AMD EPYC with AVX512-BF16, and one with AVX2 only.
    const EPYC_AVX512_BF16: &str = "processor\t: 0\nmodel name\t: AMD EPYC 9R14\nflags\t\t: fpu sse2 avx avx2 fma \
        avx512f avx512dq avx512bw avx512vl avx512_bf16 avx512_vnni\n";
    const EPYC_AVX2: &str = "processor\t: 0\nmodel name\t: AMD EPYC 7B13\nflags\t\t: fpu sse2 avx avx2 fma\n";

    #[test]
    fn auto_picks_bf16_only_where_it_is_native() {
        assert!(cpuinfo_has_bf16(EPYC_AVX512_BF16));
        assert!(!cpuinfo_has_bf16(EPYC_AVX2));
        // AVX512 without its BF16 extension still emulates bf16.
        assert!(!cpuinfo_has_bf16(&EPYC_AVX512_BF16.replace(" avx512_bf16", "")));
        // Intel's AMX counts; a flag only in another line (the model name) does not.
        assert!(cpuinfo_has_bf16(&EPYC_AVX2.replace("avx2 fma", "avx2 fma amx_bf16 amx_tile")));
        assert!(!cpuinfo_has_bf16("model name\t: avx512_bf16 lookalike\nflags\t\t: avx2\n"));
        assert!(!cpuinfo_has_bf16(""));
        assert!(cuda_has_bf16(8) && cuda_has_bf16(9));
        assert!(!cuda_has_bf16(7));
        // And on this machine, whatever it is, auto agrees with its flags.
        let here = std::fs::read_to_string("/proc/cpuinfo").is_ok_and(|info| cpuinfo_has_bf16(&info));
        assert_eq!(Precision::Auto.resolve(Device::Cpu).bf16, here);
    }
}
