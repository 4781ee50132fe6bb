//! Which instruction sets the kernels use, detected once per process, and the one
//! mechanism that lets tests and benchmarks force a kernel.
//!
//! Forcing exists only with the `kernel-override` cargo feature (enabled by this
//! workspace's own tests and by the benchmark build, never by default): it reads
//! `GAUSSMIX_SIMD=avx2|portable` (cap the instruction set, to run the AVX2 or portable
//! paths on an AVX-512 machine), `GAUSSMIX_KERNEL=gemm|fused` (kernel family) and
//! `GAUSSMIX_F32_FULL=convert|anchored` (how f32 full covariances run). Without the
//! feature the environment is never read, so nothing outside a program changes what
//! the library computes.

/// Instruction-set levels the kernels are compiled for, in increasing order (the tokens
/// of `simd`: `Scalar`, `V3`, `V4`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Level {
    /// Whatever the target's baseline gives (SSE2 on x86-64).
    Portable,
    /// AVX2 and FMA.
    Avx2,
    /// AVX-512F (with AVX2 and FMA).
    Avx512,
}

/// The level every dispatch in the crate uses (cached).
pub(crate) fn level() -> Level {
    static LEVEL: std::sync::OnceLock<Level> = std::sync::OnceLock::new();
    *LEVEL.get_or_init(|| {
        let cap = match overridden("GAUSSMIX_SIMD").as_deref() {
            Some("portable") => Level::Portable,
            Some("avx2") => Level::Avx2,
            _ => Level::Avx512,
        };
        hardware().min(cap)
    })
}

/// The level the CPU supports, whatever the tests' cap (detected on every call).
#[cfg(target_arch = "x86_64")]
pub(crate) fn hardware() -> Level {
    let avx2 =
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma");
    if avx2 && std::arch::is_x86_feature_detected!("avx512f") {
        Level::Avx512
    } else if avx2 {
        Level::Avx2
    } else {
        Level::Portable
    }
}

/// The level the CPU supports: other targets run the scalar loops.
#[cfg(not(target_arch = "x86_64"))]
pub(crate) fn hardware() -> Level {
    Level::Portable
}

/// The value of a kernel-forcing variable, only with the `kernel-override` feature.
pub(crate) fn overridden(name: &str) -> Option<String> {
    #[cfg(feature = "kernel-override")]
    {
        std::env::var(name).ok()
    }
    #[cfg(not(feature = "kernel-override"))]
    {
        let _ = name;
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The forced-kernel tests of this crate (child processes with `GAUSSMIX_*` set)
    /// only prove something if the forcing is compiled in for its tests.
    #[test]
    fn kernel_forcing_is_compiled_into_this_crates_tests() {
        const { assert!(cfg!(feature = "kernel-override")) };
    }

    #[test]
    fn levels_are_ordered_and_the_detected_level_is_consistent() {
        assert!(Level::Portable < Level::Avx2 && Level::Avx2 < Level::Avx512);
        assert!(level() <= hardware());
    }
}
