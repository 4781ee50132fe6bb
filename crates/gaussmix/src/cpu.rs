//! Which instruction sets the kernels use, detected once per process, and the one
//! mechanism that lets tests and benchmarks force a kernel.
//!
//! Forcing is [`force_kernels`], which works only with the `kernel-override` cargo
//! feature (enabled by this workspace's own tests and by the benchmark build, never by
//! default) and only before the first fit: `simd=avx2|portable` (cap the instruction
//! set, to run the AVX2 or portable paths on an AVX-512 machine), `kernel=gemm|fused`
//! (kernel family) and `f32-full=convert|anchored` (how f32 full covariances run).
//! Nothing outside the program (no environment variable) changes what the library
//! computes.

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
        let cap = match overridden("simd").as_deref() {
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

/// The forced choices (`key=value` pairs), set once by [`force_kernels`].
static FORCED: std::sync::OnceLock<Vec<(String, String)>> = std::sync::OnceLock::new();
/// Set once a kernel choice has read the forcing: later forcing would be ignored.
static READ: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

const FORCIBLE: [(&str, &[&str]); 3] = [
    ("simd", &["avx2", "portable"]),
    ("kernel", &["gemm", "fused"]),
    ("f32-full", &["convert", "anchored"]),
];

/// Forces kernel choices for this process, for tests and benchmarks: `spec` is a
/// comma-separated list of `simd=avx2|portable`, `kernel=gemm|fused` and
/// `f32-full=convert|anchored` (see the module docs of `cpu.rs` for what each does).
///
/// Only with the `kernel-override` cargo feature; without it every call is refused.
/// Must come before the first fit or prediction of the process (the choices are read
/// once); a later call, or a second call with another spec, is refused rather than
/// silently ignored.
///
/// ```
/// // Without the feature (the default), forcing is refused.
/// # #[cfg(not(feature = "kernel-override"))]
/// assert!(gaussmix::force_kernels("kernel=gemm").is_err());
/// assert!(gaussmix::force_kernels("kernel=fast").is_err());
/// ```
pub fn force_kernels(spec: &str) -> crate::Result<()> {
    let refuse = |m: String| Err(crate::error::invalid_option("kernel override", m));
    let mut pairs = Vec::new();
    for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let Some((key, value)) = item.split_once('=') else {
            return refuse(format!("{item:?} is not key=value"));
        };
        match FORCIBLE.iter().find(|(k, _)| *k == key) {
            Some((_, values)) if values.contains(&value) => {
                pairs.push((key.to_string(), value.to_string()))
            }
            Some((_, values)) => {
                return refuse(format!("{key} must be one of {values:?}, got {value:?}"))
            }
            None => {
                return refuse(format!(
                    "unknown key {key:?}; the keys are simd, kernel and f32-full"
                ))
            }
        }
    }
    if !cfg!(feature = "kernel-override") {
        return refuse(
            "this build has no kernel override (cargo feature `kernel-override`)".into(),
        );
    }
    if FORCED.get().is_some_and(|f| *f == pairs) {
        return Ok(());
    }
    let late = || {
        refuse(
            "kernels were already chosen or forced differently in this process; force them once, before the first fit".into(),
        )
    };
    if READ.load(std::sync::atomic::Ordering::SeqCst) {
        return late();
    }
    match FORCED.set(pairs.clone()) {
        Ok(()) => Ok(()),
        // Another thread forced the same spec between the check above and here (tests
        // running in parallel each force their process's spec first).
        Err(_) if FORCED.get() == Some(&pairs) => Ok(()),
        Err(_) => late(),
    }
}

/// The forced value of `key`, only with the `kernel-override` feature.
pub(crate) fn overridden(key: &str) -> Option<String> {
    if !cfg!(feature = "kernel-override") {
        return None;
    }
    READ.store(true, std::sync::atomic::Ordering::SeqCst);
    FORCED
        .get()?
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The forced-kernel tests of this crate (child processes that call
    /// `force_kernels`) only prove something if the forcing is compiled in for its tests.
    #[test]
    fn kernel_forcing_is_compiled_into_this_crates_tests() {
        const { assert!(cfg!(feature = "kernel-override")) };
    }

    #[test]
    fn levels_are_ordered_and_the_detected_level_is_consistent() {
        assert!(Level::Portable < Level::Avx2 && Level::Avx2 < Level::Avx512);
        assert!(level() <= hardware());
    }

    /// Bad specs are refused by name; forcing after the kernels were chosen is refused
    /// instead of silently ignored (nothing here sets a forcing: other tests share the
    /// process).
    #[test]
    fn force_kernels_refuses_bad_specs_and_late_calls() {
        for (spec, words) in [
            ("kernel", "not key=value"),
            ("kernel=fast", "must be one of"),
            ("speed=max", "unknown key"),
        ] {
            let e = force_kernels(spec).unwrap_err().to_string();
            assert!(e.contains(words), "{spec}: {e}");
        }
        let _ = overridden("simd");
        let e = force_kernels("simd=portable").unwrap_err().to_string();
        assert!(e.contains("before the first fit"), "{e}");
    }
}
