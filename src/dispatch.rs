//! Which kernel runs: runtime detection, the `MAXSIM_ISA` cap, and forcing an ISA.

use std::sync::OnceLock;

use maxsim_kernels::Kernel;

use crate::{Error, Isa, Result};

/// The environment variable that caps the dispatched ISA: `scalar`, `avx2`, `avx512` or `neon`.
///
/// The kernel chosen is the fastest this CPU runs that is no faster than the cap, so
/// `MAXSIM_ISA=avx2` on an AVX-512 machine runs AVX2, and `MAXSIM_ISA=avx512` on an AVX2-only
/// machine still runs AVX2. Unset or empty means no cap. An unknown name, or one of another
/// architecture (`neon` on x86_64), is an error from every dispatched call. It is read once per
/// process.
pub const ISA_ENV: &str = "MAXSIM_ISA";

/// The ISAs this CPU runs, slowest first (always including [`Isa::Scalar`]).
#[must_use]
pub fn supported_isas() -> Vec<Isa> {
    Isa::supported().collect()
}

/// The ISA that dispatched calls use: [`Isa::best_supported`], capped by [`ISA_ENV`].
///
/// # Errors
///
/// [`Error::UnknownIsa`] or [`Error::ForeignIsa`] if `MAXSIM_ISA` is set to something unusable.
pub fn selected_isa() -> Result<Isa> {
    static SELECTED: OnceLock<Result<Isa>> = OnceLock::new();
    SELECTED
        .get_or_init(|| select_isa(std::env::var(ISA_ENV).ok().as_deref()))
        .clone()
}

/// The ISA dispatch would choose under the cap `cap` (a value of `MAXSIM_ISA`).
///
/// # Errors
///
/// As [`selected_isa`].
pub fn select_isa(cap: Option<&str>) -> Result<Isa> {
    let best = Isa::best_supported();
    let cap = match cap.map(str::trim) {
        None | Some("") => return Ok(best),
        Some(name) => Isa::from_name(name).ok_or_else(|| Error::UnknownIsa {
            name: name.to_string(),
        })?,
    };
    if let Some(arch) = cap.arch() {
        if arch != std::env::consts::ARCH {
            return Err(Error::ForeignIsa {
                isa: cap,
                arch: std::env::consts::ARCH,
            });
        }
    }
    // A cap lowers the choice; it never raises it past what dispatch picks unasked.
    let ceiling = cap.rank().min(best.rank());
    Ok(Isa::supported()
        .filter(|isa| isa.rank() <= ceiling)
        .max_by_key(|isa| isa.rank())
        .unwrap_or(Isa::Scalar))
}

/// The kernel for a forced ISA.
pub(crate) fn kernel_for(isa: Isa) -> Result<Kernel> {
    Kernel::new(isa).ok_or_else(|| Error::UnsupportedIsa {
        isa,
        supported: supported_isas(),
    })
}
