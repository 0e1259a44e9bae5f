//! How much arithmetic a step of the tutorial's network is, and how much the
//! CPU could do at most: the convolutions' FLOPs counted layer by layer, and
//! the peak FLOP/s derived from `/proc/cpuinfo` and the clock.
//!
//! Two counts: the model's FLOPs (the plain network: every upsampling followed
//! by a 3x3 convolution of the upsampled image, as PyTorch computes it), and the
//! FLOPs a program executes, which for fpae count each layer it computes as a
//! sub-pixel convolution (its `subpixel_layers`) at that layer's real cost, so
//! that its GFLOP/s stay below the CPU's peak.

use std::fmt::Write as _;

/// One convolution of the tutorial's network at a given input size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conv {
    /// The layer's name in `fpae summary` (`enc1`, ... `dec3`).
    pub name: String,
    /// Height and width of its output (its input, 'same' padding).
    pub height: i64,
    pub width: i64,
    pub cin: i64,
    pub cout: i64,
    pub kernel: i64,
    /// Whether a 2x nearest upsampling comes right before it (a sub-pixel
    /// convolution in fpae when the kernel is 3x3).
    pub after_upsampling: bool,
}

impl Conv {
    /// Multiply-adds per image computed the plain way: every output pixel of
    /// every output channel reads `cin * k * k` inputs.
    pub fn macs(&self) -> i64 {
        self.height * self.width * self.cin * self.cout * self.kernel * self.kernel
    }

    /// Multiply-adds per image as fpae computes the layer: after an upsampling,
    /// a 3x3 convolution is four 2x2 convolutions (one per output phase) of the
    /// low-resolution input padded by one pixel all round, each evaluated on the
    /// `(H/2 + 1) x (W/2 + 1)` grid of that padding (one row and column more
    /// than the phases keep).
    pub fn subpixel_macs(&self) -> i64 {
        if self.after_upsampling && self.kernel == 3 {
            (self.height / 2 + 1) * (self.width / 2 + 1) * self.cin * (4 * self.cout) * 2 * 2
        } else {
            self.macs()
        }
    }
}

/// The convolutions of the tutorial's network (`kind = "tutorial-cae"`) with
/// encoder widths `filters` and `kernel` x `kernel` kernels on `height` x
/// `width` input, in order: the encoder's convolutions with a 2x2 pooling
/// between consecutive ones, then the decoder's (the last width again, the
/// encoder's widths back down without the first, then 1) with a 2x upsampling
/// between consecutive ones; as `fp_model`'s `TutorialCaeConfig` builds it.
pub fn tutorial_convs(filters: &[i64], kernel: i64, height: i64, width: i64) -> Vec<Conv> {
    let mut convs = Vec::new();
    let (mut h, mut w, mut cin) = (height, width, 1);
    for (i, &cout) in filters.iter().enumerate() {
        if i > 0 {
            (h, w) = (h / 2, w / 2);
        }
        convs.push(Conv {
            name: format!("enc{}", i + 1),
            height: h,
            width: w,
            cin,
            cout,
            kernel,
            after_upsampling: false,
        });
        cin = cout;
    }
    let decoder: Vec<i64> = match filters {
        [] | [_] => vec![1],
        [.., last] => {
            std::iter::once(*last).chain(filters[1..filters.len() - 1].iter().rev().copied()).chain([1]).collect()
        }
    };
    for (i, &cout) in decoder.iter().enumerate() {
        if i > 0 {
            (h, w) = (h * 2, w * 2);
        }
        convs.push(Conv {
            name: format!("dec{}", i + 1),
            height: h,
            width: w,
            cin,
            cout,
            kernel,
            after_upsampling: i > 0,
        });
        cin = cout;
    }
    convs
}

/// The arithmetic of one image through a network.
#[derive(Debug, Clone, PartialEq)]
pub struct Work {
    pub convs: Vec<Conv>,
}

impl Work {
    /// The tutorial's network (filters 32, 64, 128; 3x3 kernels) on `size` x `size` images.
    pub fn tutorial(size: i64) -> Self {
        Self { convs: tutorial_convs(&[32, 64, 128], 3, size, size) }
    }

    /// FLOPs (2 per multiply-add) of a forward pass, the plain network's (the model FLOPs).
    pub fn forward_flops(&self) -> f64 {
        2.0 * self.convs.iter().map(Conv::macs).sum::<i64>() as f64
    }

    /// The layers that can be computed as sub-pixel convolutions (3x3 after an upsampling).
    pub fn subpixel_capable(&self) -> Vec<String> {
        self.convs.iter().filter(|c| c.subpixel_macs() != c.macs()).map(|c| c.name.clone()).collect()
    }

    /// Multiply-adds of `c` as executed when the layers named in `subpixel` are sub-pixel convolutions.
    fn executed_macs(c: &Conv, subpixel: &[String]) -> i64 {
        if subpixel.contains(&c.name) { c.subpixel_macs() } else { c.macs() }
    }

    /// FLOPs of a forward pass as executed with the layers named in `subpixel`
    /// computed as four 2x2 phases (fpae's `subpixel_layers`; none for PyTorch
    /// or `--plain-upsampling`, which execute the model FLOPs).
    pub fn forward_flops_executed(&self, subpixel: &[String]) -> f64 {
        2.0 * self.convs.iter().map(|c| Self::executed_macs(c, subpixel)).sum::<i64>() as f64
    }

    /// FLOPs of a forward pass as fpae's sub-pixel decoder executes it (every capable layer).
    pub fn forward_flops_subpixel(&self) -> f64 {
        self.forward_flops_executed(&self.subpixel_capable())
    }

    /// FLOPs of a training step, each convolution counted with `macs`: the
    /// forward pass, then per convolution one GEMM of the same size for the
    /// weights' gradient and, except for the first (the images need none), one
    /// for its input's gradient.
    fn train_of(&self, macs: impl Fn(&Conv) -> i64) -> f64 {
        2.0 * self.convs.iter().enumerate().map(|(i, c)| macs(c) * if i == 0 { 2 } else { 3 }).sum::<i64>() as f64
    }

    /// FLOPs of a training step of the plain network (the model FLOPs).
    pub fn train_flops(&self) -> f64 {
        self.train_of(Conv::macs)
    }

    /// FLOPs of a training step as executed with the layers named in `subpixel` computed as four phases.
    pub fn train_flops_executed(&self, subpixel: &[String]) -> f64 {
        self.train_of(|c| Self::executed_macs(c, subpixel))
    }

    /// How the counts were made, one layer a line.
    pub fn derivation(&self) -> String {
        let mut s = String::from(
            "work per image, counted per convolution as 2 x H x W x Cin x Cout x k x k \
             (bias, ReLU, pooling, upsampling and the loss not counted):\n",
        );
        for c in &self.convs {
            let _ = write!(
                s,
                "  {:<5} {:>4}x{:<4} {:>4} -> {:<4} {}x{}  {:>8.3} GFLOP",
                c.name,
                c.height,
                c.width,
                c.cin,
                c.cout,
                c.kernel,
                c.kernel,
                2.0 * c.macs() as f64 / 1e9
            );
            if c.subpixel_macs() != c.macs() {
                let _ = write!(
                    s,
                    "  (fpae: 4 phases x 2x2 on {}x{}: {:.3} GFLOP)",
                    c.height / 2 + 1,
                    c.width / 2 + 1,
                    2.0 * c.subpixel_macs() as f64 / 1e9
                );
            }
            s.push('\n');
        }
        let _ = write!(
            s,
            "  model FLOPs (the plain network): forward {:.3} GFLOP ({:.3} G multiply-adds); training = \
             forward + weight gradients + input gradients (none for the first layer, whose input is the \
             images) = {:.3} GFLOP.\n  \
             executed FLOPs: PyTorch (and fpae --plain-upsampling) execute the model FLOPs; fpae computes \
             each upsampling 3x3 convolution as four 2x2 phases of the low-resolution input \
             (16 instead of 36 multiply-adds per low-resolution pixel and channel pair, on a grid one row \
             and column larger than the input): forward {:.3} GFLOP ({:.0} % of the model's), training \
             {:.3} GFLOP.\n  \
             GFLOP/s below are executed FLOPs per second, against the peak; model GFLOP/s (the useful work, \
             the same count for both) in the column \"fpae model\" and the JSON.",
            self.forward_flops() / 1e9,
            self.forward_flops() / 2e9,
            self.train_flops() / 1e9,
            self.forward_flops_subpixel() / 1e9,
            100.0 * self.forward_flops_subpixel() / self.forward_flops(),
            self.train_flops_executed(&self.subpixel_capable()) / 1e9
        );
        s
    }
}

/// What the peak derivation needs of the CPU, from `/proc/cpuinfo`.
#[derive(Debug, Clone, PartialEq)]
pub struct CpuInfo {
    pub model: String,
    pub vendor: String,
    pub family: Option<u32>,
    pub flags: Vec<String>,
    /// Physical cores: distinct (physical id, core id) pairs, else `cpu cores`
    /// times the packages, else the logical processors.
    pub physical_cores: usize,
    /// The `cpu MHz` line of the first processor.
    pub mhz: Option<f64>,
}

impl CpuInfo {
    /// Parses a `/proc/cpuinfo` text (x86 layout: blocks of `key : value` lines).
    pub fn parse(text: &str) -> Self {
        let mut blocks: Vec<Vec<(&str, &str)>> = vec![Vec::new()];
        for line in text.lines() {
            match line.split_once(':') {
                Some((k, v)) => blocks.last_mut().expect("one block at least").push((k.trim(), v.trim())),
                None if line.trim().is_empty() => blocks.push(Vec::new()),
                None => {}
            }
        }
        blocks.retain(|b| b.iter().any(|(k, _)| *k == "processor"));
        let get = |block: &[(&str, &str)], key: &str| block.iter().find(|(k, _)| *k == key).map(|(_, v)| v.to_string());
        let first: &[(&str, &str)] = blocks.first().map_or(&[], Vec::as_slice);
        let mut cores: Vec<(String, String)> =
            blocks.iter().filter_map(|b| Some((get(b, "physical id")?, get(b, "core id")?))).collect();
        cores.sort();
        cores.dedup();
        let mut packages: Vec<String> = blocks.iter().filter_map(|b| get(b, "physical id")).collect();
        packages.sort();
        packages.dedup();
        let physical_cores = if !cores.is_empty() {
            cores.len()
        } else if let Some(per_package) = get(first, "cpu cores").and_then(|v| v.parse::<usize>().ok()) {
            per_package * packages.len().max(1)
        } else {
            blocks.len()
        };
        Self {
            model: get(first, "model name").unwrap_or_else(|| "unknown CPU".into()),
            vendor: get(first, "vendor_id").unwrap_or_default(),
            family: get(first, "cpu family").and_then(|v| v.parse().ok()),
            flags: get(first, "flags").map(|f| f.split_whitespace().map(String::from).collect()).unwrap_or_default(),
            physical_cores,
            mhz: get(first, "cpu MHz").and_then(|v| v.parse().ok()),
        }
    }

    pub fn has(&self, flag: &str) -> bool {
        self.flags.iter().any(|f| f == flag)
    }

    /// Whether the CPU computes bf16 natively: AVX512-BF16 or AMX-BF16, the
    /// decision fpae's `--precision auto` makes.
    pub fn bf16_native(&self) -> bool {
        self.has("avx512_bf16") || self.has("amx_bf16")
    }
}

/// The CPU's peak FLOP/s and how it was derived.
#[derive(Debug, Clone, PartialEq)]
pub struct Peak {
    pub cores: usize,
    pub mhz: f64,
    /// Where the clock came from.
    pub clock_source: String,
    /// The widest f32 FMA the CPU has: "AVX-512", "AVX2" or "SSE".
    pub isa: &'static str,
    pub lanes: u32,
    pub fma_units: u32,
    /// Why `fma_units` is what it is.
    pub fma_note: String,
    pub f32_gflops: f64,
    /// With AMX-BF16, its tile unit's 1024 FLOP per cycle and core; else twice f32
    /// where AVX512-BF16 (`vdpbf16ps`) exists; none elsewhere.
    pub bf16_gflops: Option<f64>,
    /// Whether `bf16_gflops` is AMX's.
    pub amx: bool,
}

/// bf16 FLOP per cycle and core of AMX's tile unit: one `tdpbf16ps` (16 x 16 x 32
/// multiply-adds) every 16 cycles, as Intel states it for Sapphire Rapids and later.
const AMX_BF16_FLOP_PER_CYCLE: f64 = 1024.0;

impl Peak {
    /// The peak of `cpu` at `max_khz` (cpufreq's `cpuinfo_max_freq`) when
    /// known, else at its `cpu MHz` line, on at most `usable` cores (what this
    /// process may run on).
    pub fn derive(cpu: &CpuInfo, max_khz: Option<u64>, usable: usize) -> Option<Self> {
        let (mhz, clock_source) = match (max_khz, cpu.mhz) {
            (Some(khz), _) => (khz as f64 / 1e3, "cpufreq cpuinfo_max_freq".to_owned()),
            (None, Some(mhz)) => {
                (mhz, "the `cpu MHz` line of /proc/cpuinfo (no cpufreq; boost clocks may be higher)".to_owned())
            }
            (None, None) => return None,
        };
        let (isa, lanes) = if cpu.has("avx512f") {
            ("AVX-512", 16)
        } else if cpu.has("avx2") || cpu.has("avx") {
            ("AVX2", 8)
        } else {
            ("SSE", 4)
        };
        let zen3_or_4 = cpu.vendor == "AuthenticAMD" && cpu.family == Some(0x19);
        let (fma_units, fma_note) = if !cpu.has("fma") && isa != "AVX-512" {
            (1, "no FMA: one vector add and one multiply per cycle, counted as 1 FMA unit".to_owned())
        } else if isa == "AVX-512" && zen3_or_4 {
            (1, "1 FMA unit per core at 512 bits (AMD family 19h runs AVX-512 on its two 256-bit FMA pipes)".to_owned())
        } else {
            (2, "2 FMA units per core (assumed: Zen 3/4/5 EPYC and most Intel server cores have 2)".to_owned())
        };
        let cores = cpu.physical_cores.min(usable.max(1));
        let f32_gflops = cores as f64 * mhz / 1e3 * f64::from(lanes) * f64::from(fma_units) * 2.0;
        let amx = cpu.has("amx_bf16");
        let bf16_gflops = if amx {
            Some(cores as f64 * mhz / 1e3 * AMX_BF16_FLOP_PER_CYCLE)
        } else {
            cpu.has("avx512_bf16").then_some(2.0 * f32_gflops)
        };
        Some(Self { cores, mhz, clock_source, isa, lanes, fma_units, fma_note, f32_gflops, bf16_gflops, amx })
    }

    /// The one-line derivation, then where its inputs came from.
    pub fn derivation(&self) -> String {
        let bf16 = match self.bf16_gflops {
            Some(g) if self.amx => format!(
                "bf16 {g:.1} GFLOP/s ({} cores x {:.0} MHz x {AMX_BF16_FLOP_PER_CYCLE} FLOP per cycle of AMX-BF16's tile unit)",
                self.cores, self.mhz
            ),
            Some(g) => {
                format!("bf16 {g:.1} GFLOP/s (2 x f32: AVX512-BF16 vdpbf16ps does two multiply-adds per f32 lane)")
            }
            None => "bf16: no peak (no AVX512-BF16: LibTorch emulates bf16, slower than f32)".to_owned(),
        };
        format!(
            "peak: {} cores x {:.0} MHz x {} f32 lanes ({}) x {} FMA units x 2 FLOP/FMA = {:.1} GFLOP/s f32; {bf16}\n  \
             cores: physical, from /proc/cpuinfo (at most the CPUs this process may use); clock: {}; {}",
            self.cores,
            self.mhz,
            self.lanes,
            self.isa,
            self.fma_units,
            self.f32_gflops,
            self.clock_source,
            self.fma_note
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tutorial_network_at_224_is_1_9_gmac_forward() {
        let work = Work::tutorial(224);
        // By hand: H x W x Cin x Cout x 9 per layer.
        let hand = 224 * 224 * 32 * 9 // enc1, 1 -> 32
            + 112 * 112 * 32 * 64 * 9 // enc2
            + 56 * 56 * 64 * 128 * 9 // enc3
            + 56 * 56 * 128 * 128 * 9 // dec1
            + 112 * 112 * 128 * 64 * 9 // dec2, after the first upsampling
            + 224 * 224 * 64 * 9; // dec3, 64 -> 1
        assert_eq!(hand, 1_893_040_128);
        assert_eq!(work.forward_flops(), 2.0 * hand as f64);
        // Three GEMMs a layer, but no input gradient for enc1.
        assert_eq!(work.train_flops(), 2.0 * (3 * hand as i64 - 224 * 224 * 32 * 9) as f64);
        // docs/performance.md: 1.9 GMAC forward, about 11.3 GFLOP per training image.
        assert!((work.train_flops() / 1e9 - 11.33).abs() < 0.01);
        let names: Vec<&str> = work.convs.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["enc1", "enc2", "enc3", "dec1", "dec2", "dec3"]);
    }

    #[test]
    fn sub_pixel_layers_count_four_2x2_phases_on_the_padded_low_resolution_grid() {
        let work = Work::tutorial(224);
        let dec2 = &work.convs[4];
        assert!(dec2.after_upsampling);
        // 56x56 input, padded to 58x58, 2x2 valid -> 57x57; 4 x 64 outputs of 128 x 2 x 2.
        assert_eq!(dec2.subpixel_macs(), 57 * 57 * 128 * 256 * 4);
        assert_eq!(work.convs[5].subpixel_macs(), 113 * 113 * 64 * 4 * 4);
        for c in &work.convs[..4] {
            assert_eq!(c.subpixel_macs(), c.macs(), "{}", c.name);
        }
        let ratio = work.forward_flops_subpixel() / work.forward_flops();
        assert!((0.72..0.74).contains(&ratio), "{ratio}");
        // Other widths and sizes follow the same rule: 5x5 kernels have no sub-pixel path.
        let narrow = tutorial_convs(&[4, 8], 5, 16, 8);
        assert_eq!(narrow.len(), 4);
        assert_eq!((narrow[3].height, narrow[3].width, narrow[3].cin, narrow[3].cout), (16, 8, 8, 1));
        assert_eq!(narrow[3].subpixel_macs(), narrow[3].macs());
    }

    #[test]
    fn a_tiny_network_counts_by_hand_model_and_executed_flops() {
        // Filters [2, 4], 3x3, 8x8 input: enc1 8x8 1->2, enc2 4x4 2->4, dec1 4x4 4->4,
        // dec2 8x8 4->1 after the upsampling.
        let work = Work { convs: tutorial_convs(&[2, 4], 3, 8, 8) };
        let plain = [8 * 8 * 2 * 9, 4 * 4 * 2 * 4 * 9, 4 * 4 * 4 * 4 * 9, 8 * 8 * 4 * 9];
        assert_eq!(plain, [1152, 1152, 2304, 2304]);
        assert_eq!(work.forward_flops(), 2.0 * 6912.0);
        assert_eq!(work.subpixel_capable(), ["dec2"]);
        // dec2 as four 2x2 phases of the 4x4 input padded to 6x6: a 5x5 grid x 4 phases x
        // 1 output x 4 inputs x 4 taps = 1600 multiply-adds instead of 2304.
        let sub = 5 * 5 * 4 * 4 * 4;
        assert_eq!(work.convs[3].subpixel_macs(), sub);
        let dec2 = vec!["dec2".to_owned()];
        assert_eq!(work.forward_flops_executed(&dec2), 2.0 * (1152 + 1152 + 2304 + sub) as f64);
        assert_eq!(work.forward_flops_subpixel(), work.forward_flops_executed(&dec2));
        assert_eq!(work.forward_flops_executed(&[]), work.forward_flops());
        // Training: enc1 twice (forward, weight gradient), the others three times.
        assert_eq!(work.train_flops(), 2.0 * (2 * 1152 + 3 * (1152 + 2304 + 2304)) as f64);
        assert_eq!(work.train_flops_executed(&dec2), 2.0 * (2 * 1152 + 3 * (1152 + 2304 + sub)) as f64);
        assert!(work.train_flops_executed(&dec2) < work.train_flops());
        // A layer fpae names but that has no sub-pixel path (enc1) costs what it costs.
        assert_eq!(work.forward_flops_executed(&["enc1".to_owned()]), work.forward_flops());
    }

    const EPYC_AVX2: &str = "processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel\t\t: 1\n\
        model name\t: AMD EPYC 7B13\ncpu MHz\t\t: 2445.428\nphysical id\t: 0\nsiblings\t: 2\ncore id\t\t: 0\n\
        cpu cores\t: 2\nflags\t\t: fpu sse sse2 avx fma avx2\n\n\
        processor\t: 1\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel name\t: AMD EPYC 7B13\n\
        cpu MHz\t\t: 2445.428\nphysical id\t: 0\nsiblings\t: 2\ncore id\t\t: 1\ncpu cores\t: 2\n\
        flags\t\t: fpu sse sse2 avx fma avx2\n\n";

    #[test]
    fn peak_of_an_avx2_epyc_from_its_cpuinfo() {
        let cpu = CpuInfo::parse(EPYC_AVX2);
        assert_eq!(cpu.model, "AMD EPYC 7B13");
        assert_eq!(cpu.physical_cores, 2);
        assert_eq!(cpu.mhz, Some(2445.428));
        assert!(!cpu.bf16_native());
        let peak = Peak::derive(&cpu, None, 2).unwrap();
        // 2 cores x 2.445428 GHz x 8 lanes x 2 FMA units x 2.
        assert!((peak.f32_gflops - 2.0 * 2.445428 * 32.0).abs() < 1e-9);
        assert_eq!(peak.bf16_gflops, None);
        assert!(
            peak.derivation().contains("2 cores x 2445 MHz x 8 f32 lanes (AVX2) x 2 FMA units"),
            "{}",
            peak.derivation()
        );
        // cpufreq's maximum wins over the cpu MHz line; the process's CPUs cap the cores.
        let peak = Peak::derive(&cpu, Some(3_500_000), 1).unwrap();
        assert_eq!((peak.cores, peak.mhz), (1, 3500.0));
        assert!((peak.f32_gflops - 3.5 * 32.0).abs() < 1e-9);
        assert!(Peak::derive(&CpuInfo::parse("processor : 0\n"), None, 4).is_none());
    }

    #[test]
    fn peak_with_avx512_and_bf16() {
        // Hyper-threads count once: 4 logical processors on 2 cores.
        let intel: String = (0..4)
            .map(|i| {
                format!(
                    "processor : {i}\nvendor_id : GenuineIntel\ncpu family : 6\nmodel name : Xeon\ncpu MHz : 2000.000\n\
                     physical id : 0\ncore id : {}\ncpu cores : 2\nflags : avx2 fma avx512f avx512_bf16\n\n",
                    i % 2
                )
            })
            .collect();
        let cpu = CpuInfo::parse(&intel);
        assert_eq!(cpu.physical_cores, 2);
        assert!(cpu.bf16_native());
        let peak = Peak::derive(&cpu, None, 4).unwrap();
        assert_eq!((peak.lanes, peak.fma_units), (16, 2));
        assert!((peak.f32_gflops - 2.0 * 2.0 * 64.0).abs() < 1e-9);
        assert_eq!(peak.bf16_gflops, Some(2.0 * peak.f32_gflops));
        // With AMX-BF16 the tile unit sets the bf16 peak: 2 cores x 2 GHz x 1024.
        let peak =
            Peak::derive(&CpuInfo::parse(&intel.replace("avx512_bf16", "avx512_bf16 amx_bf16")), None, 4).unwrap();
        assert!((peak.f32_gflops - 2.0 * 2.0 * 64.0).abs() < 1e-9);
        assert_eq!(peak.bf16_gflops, Some(2.0 * 2.0 * 1024.0));
        assert!(peak.derivation().contains("AMX-BF16"), "{}", peak.derivation());
        // Zen 4 (family 19h) double-pumps AVX-512 through two 256-bit FMA pipes.
        let zen4 = EPYC_AVX2.replace("fma avx2", "fma avx2 avx512f avx512_bf16");
        let peak = Peak::derive(&CpuInfo::parse(&zen4), None, 2).unwrap();
        assert_eq!((peak.lanes, peak.fma_units), (16, 1));
        assert!((peak.f32_gflops - 2.0 * 2.445428 * 32.0).abs() < 1e-9);
        // A flag in another line is not a flag.
        assert!(!CpuInfo::parse("processor : 0\nmodel name : avx512_bf16 lookalike\nflags : avx2\n").bf16_native());
    }
}
