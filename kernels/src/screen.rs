//! The screen: each query row's approximate maximum over a document sketch ([`crate::sketch`]),
//! in integer arithmetic, bit-identical on every ISA.
//!
//! The screen has paths of its own, finer than [`Isa`]: the integer dot products use
//! instructions that the floating-point kernels do not need (AVX-512BW, VNNI). [`ScreenIsa`]
//! names them; [`Screen`] is the safe way in, made only for a path this CPU runs.

use core::fmt;

use crate::Isa;

/// An instruction set a screen kernel is written for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ScreenIsa {
    /// The portable scalar reference.
    Scalar,
    /// x86_64 AVX2: codes widened to `i16`, `vpmaddwd` (2 products per 32-bit lane).
    Avx2,
    /// x86_64 AVX-512F and AVX-512BW: `vpmaddwd` on 512-bit registers.
    Avx512Bw,
    /// x86_64 AVX-512F, AVX-512BW and AVX-512 VNNI: `vpdpbusd`, 64 products per instruction.
    Avx512Vnni,
    /// aarch64 Advanced SIMD (NEON): `smull` and `sadalp`.
    Neon,
}

impl ScreenIsa {
    /// Every screen path, whatever the architecture, in the order of [`ScreenIsa::name`]'s
    /// table.
    pub const ALL: [ScreenIsa; 5] = [
        ScreenIsa::Scalar,
        ScreenIsa::Avx2,
        ScreenIsa::Avx512Bw,
        ScreenIsa::Avx512Vnni,
        ScreenIsa::Neon,
    ];

    /// The short name used by `MAXSIM_REQUIRE_SCREENS` and reports.
    pub const fn name(self) -> &'static str {
        match self {
            ScreenIsa::Scalar => "scalar",
            ScreenIsa::Avx2 => "avx2",
            ScreenIsa::Avx512Bw => "avx512bw",
            ScreenIsa::Avx512Vnni => "avx512vnni",
            ScreenIsa::Neon => "neon",
        }
    }

    /// Parses a name as printed by [`ScreenIsa::name`], in any case.
    pub fn from_name(name: &str) -> Option<ScreenIsa> {
        let name = name.trim();
        ScreenIsa::ALL
            .into_iter()
            .find(|isa| name.eq_ignore_ascii_case(isa.name()))
    }

    /// Whether this CPU (and OS) runs this path.
    ///
    /// With the `std` feature this is detected at run time (and cached by the standard
    /// library); without it, only features enabled at compile time count.
    pub fn is_supported(self) -> bool {
        match self {
            ScreenIsa::Scalar => true,
            ScreenIsa::Avx2 => x86_has_avx2(),
            ScreenIsa::Avx512Bw => x86_has_avx512bw(),
            ScreenIsa::Avx512Vnni => x86_has_avx512bw() && x86_has_avx512vnni(),
            ScreenIsa::Neon => Isa::Neon.is_supported(),
        }
    }

    /// The paths this CPU runs, in the order of [`ScreenIsa::ALL`].
    pub fn supported() -> impl Iterator<Item = ScreenIsa> {
        ScreenIsa::ALL.into_iter().filter(|isa| isa.is_supported())
    }

    /// The fastest screen path of `isa`'s family that this CPU runs: [`Isa::Avx512`] takes
    /// VNNI, else AVX-512BW, else AVX2; [`Isa::Avx2Fma`] takes AVX2; [`Isa::Neon`] takes NEON;
    /// each falls back to the scalar path if the CPU runs none of them.
    pub fn for_isa(isa: Isa) -> ScreenIsa {
        let preference: &[ScreenIsa] = match isa {
            Isa::Scalar => &[],
            Isa::Avx2Fma => &[ScreenIsa::Avx2],
            Isa::Avx512 => &[ScreenIsa::Avx512Vnni, ScreenIsa::Avx512Bw, ScreenIsa::Avx2],
            Isa::Neon => &[ScreenIsa::Neon],
        };
        preference
            .iter()
            .copied()
            .find(|screen| screen.is_supported())
            .unwrap_or(ScreenIsa::Scalar)
    }
}

impl fmt::Display for ScreenIsa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Calls the screen function of `isa`'s module.
///
/// Only a [`Screen`] calls it, and a `Screen` exists only for a path this CPU supports, which is
/// the one safety condition of the per-ISA functions; their length checks stay in force.
macro_rules! on_screen {
    ($isa:expr, $function:ident($($arg:expr),*)) => {
        match $isa {
            ScreenIsa::Scalar => crate::scalar::$function($($arg),*),
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Screen::new` confirmed AVX2.
            ScreenIsa::Avx2 => unsafe { crate::x86_64::avx2::screen::$function($($arg),*) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Screen::new` confirmed AVX-512F, AVX-512BW and AVX2.
            ScreenIsa::Avx512Bw => unsafe {
                crate::x86_64::avx512::screen::bw::$function($($arg),*)
            },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Screen::new` confirmed AVX-512F, AVX-512BW, AVX-512 VNNI and AVX2.
            ScreenIsa::Avx512Vnni => unsafe {
                crate::x86_64::avx512::screen::vnni::$function($($arg),*)
            },
            #[cfg(target_arch = "aarch64")]
            // SAFETY: `Screen::new` confirmed NEON.
            ScreenIsa::Neon => unsafe { crate::aarch64::neon::screen::$function($($arg),*) },
            #[allow(unreachable_patterns)]
            other => unreachable!("no {other} screen on this architecture"),
        }
    };
}

/// A screen kernel this CPU can run: the safe way into the per-ISA screen code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Screen {
    isa: ScreenIsa,
}

impl Screen {
    /// The screen for `isa`, or `None` if this CPU does not run it.
    pub fn new(isa: ScreenIsa) -> Option<Screen> {
        isa.is_supported().then_some(Screen { isa })
    }

    /// The fastest screen of `isa`'s family that this CPU runs ([`ScreenIsa::for_isa`]).
    pub fn for_isa(isa: Isa) -> Screen {
        let screen = ScreenIsa::for_isa(isa);
        // `for_isa` only names supported paths; a disagreement falls back to the reference.
        Screen::new(screen).unwrap_or(Screen::scalar())
    }

    /// The scalar reference, which runs everywhere.
    pub const fn scalar() -> Screen {
        Screen {
            isa: ScreenIsa::Scalar,
        }
    }

    /// The path this screen runs.
    pub const fn isa(self) -> ScreenIsa {
        self.isa
    }

    /// Writes each query row's screen maximum over a document sketch into `out[..query_rows]`:
    /// the maximum over the `doc_rows` tokens of `scales[j] * (T[i][j] as f32)`, `-inf` for an
    /// empty document ([`crate::sketch`]). Every path returns the bits of
    /// [`crate::scalar::screen_row_maxima`].
    ///
    /// `query` is row-major with [`crate::sketch::sketch_dim`]`(dim)` codes per row, zero past
    /// `dim` ([`crate::sketch::pad_query_codes`]); `doc` is a document sketch of `doc_rows`
    /// tokens ([`crate::sketch::pack_sketch`]), bytes past its [`crate::sketch::sketch_len`]
    /// ignored; `scales` holds one finite scale per token (its elements past `doc_rows` are
    /// ignored).
    ///
    /// # Panics
    ///
    /// If `dim` is zero or above [`crate::sketch::MAX_SKETCH_DIM`], or `query`, `doc`, `scales`
    /// or `out` is too short.
    #[allow(clippy::too_many_arguments)]
    pub fn screen_row_maxima(
        self,
        query: &[i8],
        query_rows: usize,
        dim: usize,
        doc: &[i8],
        scales: &[f32],
        doc_rows: usize,
        out: &mut [f32],
    ) {
        on_screen!(
            self.isa,
            screen_row_maxima(query, query_rows, dim, doc, scales, doc_rows, out)
        )
    }
}

#[cfg(all(target_arch = "x86_64", feature = "std"))]
fn x86_has_avx2() -> bool {
    std::arch::is_x86_feature_detected!("avx2")
}

/// AVX-512F and AVX-512BW; the AVX-512 screens are also compiled with AVX2, which every
/// AVX-512 CPU has.
#[cfg(all(target_arch = "x86_64", feature = "std"))]
fn x86_has_avx512bw() -> bool {
    x86_has_avx2()
        && std::arch::is_x86_feature_detected!("avx512f")
        && std::arch::is_x86_feature_detected!("avx512bw")
}

#[cfg(all(target_arch = "x86_64", feature = "std"))]
fn x86_has_avx512vnni() -> bool {
    std::arch::is_x86_feature_detected!("avx512vnni")
}

#[cfg(all(target_arch = "x86_64", not(feature = "std")))]
fn x86_has_avx2() -> bool {
    cfg!(target_feature = "avx2")
}

#[cfg(all(target_arch = "x86_64", not(feature = "std")))]
fn x86_has_avx512bw() -> bool {
    cfg!(all(
        target_feature = "avx2",
        target_feature = "avx512f",
        target_feature = "avx512bw"
    ))
}

#[cfg(all(target_arch = "x86_64", not(feature = "std")))]
fn x86_has_avx512vnni() -> bool {
    cfg!(target_feature = "avx512vnni")
}

#[cfg(not(target_arch = "x86_64"))]
fn x86_has_avx2() -> bool {
    false
}

#[cfg(not(target_arch = "x86_64"))]
fn x86_has_avx512bw() -> bool {
    false
}

#[cfg(not(target_arch = "x86_64"))]
fn x86_has_avx512vnni() -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for isa in ScreenIsa::ALL {
            assert_eq!(ScreenIsa::from_name(isa.name()), Some(isa));
            assert_eq!(ScreenIsa::from_name(&isa.name().to_uppercase()), Some(isa));
        }
        assert_eq!(ScreenIsa::from_name("avx512"), None);
    }

    #[test]
    fn each_isa_maps_to_a_supported_screen_of_its_family() {
        assert_eq!(ScreenIsa::for_isa(Isa::Scalar), ScreenIsa::Scalar);
        for isa in Isa::ALL {
            let screen = ScreenIsa::for_isa(isa);
            assert!(screen.is_supported(), "{isa} -> {screen}");
            assert_eq!(Screen::for_isa(isa).isa(), screen);
        }
    }
}
