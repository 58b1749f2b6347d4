use core::fmt;

/// An instruction set a MaxSim kernel is written for.
///
/// The variants are ordered by preference within an architecture: [`Isa::Scalar`] runs
/// everywhere; [`Isa::Avx2Fma`] and [`Isa::Avx512`] on x86_64; [`Isa::Neon`] on aarch64.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Isa {
    /// The portable scalar reference: one fused multiply-add at a time.
    Scalar,
    /// x86_64 AVX2 with FMA3 and F16C: 8 query rows per 256-bit register. (Every AVX2 CPU has
    /// F16C, which the index kernel uses to widen `f16` documents.)
    Avx2Fma,
    /// x86_64 AVX-512 Foundation: 16 query rows per 512-bit register.
    Avx512,
    /// aarch64 Advanced SIMD (NEON): 4 query rows per 128-bit register.
    Neon,
}

impl Isa {
    /// Every ISA, whatever the architecture, in the order of [`Isa::name`]'s table.
    pub const ALL: [Isa; 4] = [Isa::Scalar, Isa::Avx2Fma, Isa::Avx512, Isa::Neon];

    /// The short name used by `MAXSIM_ISA`, `--isa` and reports.
    pub const fn name(self) -> &'static str {
        match self {
            Isa::Scalar => "scalar",
            Isa::Avx2Fma => "avx2",
            Isa::Avx512 => "avx512",
            Isa::Neon => "neon",
        }
    }

    /// Parses a name as printed by [`Isa::name`]; also accepts `avx2+fma`, `avx512f` and
    /// `avx-512`, in any case.
    pub fn from_name(name: &str) -> Option<Isa> {
        let name = name.trim();
        let eq = |s: &str| name.eq_ignore_ascii_case(s);
        if eq("scalar") {
            Some(Isa::Scalar)
        } else if eq("avx2") || eq("avx2+fma") || eq("avx2fma") {
            Some(Isa::Avx2Fma)
        } else if eq("avx512") || eq("avx512f") || eq("avx-512") {
            Some(Isa::Avx512)
        } else if eq("neon") {
            Some(Isa::Neon)
        } else {
            None
        }
    }

    /// Query rows per vector register: the block width of the packed query layout.
    pub const fn lanes(self) -> usize {
        match self {
            Isa::Scalar => 1,
            Isa::Avx2Fma => 8,
            Isa::Avx512 => 16,
            Isa::Neon => 4,
        }
    }

    /// The architecture the ISA belongs to, or `None` for the portable scalar path.
    pub const fn arch(self) -> Option<&'static str> {
        match self {
            Isa::Scalar => None,
            Isa::Avx2Fma | Isa::Avx512 => Some("x86_64"),
            Isa::Neon => Some("aarch64"),
        }
    }

    /// Preference within the ISA's architecture (higher is faster); used to apply caps.
    pub const fn rank(self) -> u8 {
        match self {
            Isa::Scalar => 0,
            Isa::Avx2Fma | Isa::Neon => 1,
            Isa::Avx512 => 2,
        }
    }

    /// Whether this CPU (and OS) runs this ISA's kernel.
    ///
    /// With the `std` feature this is detected at run time (and cached by the standard
    /// library); without it, only features enabled at compile time count.
    pub fn is_supported(self) -> bool {
        match self {
            Isa::Scalar => true,
            Isa::Avx2Fma => x86_has_avx2_fma(),
            Isa::Avx512 => x86_has_avx512f(),
            Isa::Neon => arm_has_neon(),
        }
    }

    /// The ISAs this CPU runs, slowest first.
    pub fn supported() -> impl Iterator<Item = Isa> {
        Isa::ALL.into_iter().filter(|isa| isa.is_supported())
    }

    /// The ISA dispatch uses on this CPU, as chosen by `multiversion`'s dispatcher: the function
    /// below is compiled once per target, and the clone selected at run time names its kernel.
    ///
    /// `multiversion` selects an AVX-512 target only on CPUs with Ice Lake's AVX-512 extensions
    /// (VBMI2, VNNI, BITALG and the rest), because older AVX-512 CPUs lower their clock for
    /// 512-bit code. On those, dispatch picks AVX2; [`Isa::Avx512`] can still be forced, since
    /// the kernel needs only AVX-512F.
    pub fn best_supported() -> Isa {
        best_supported_clone()
    }
}

#[multiversion::multiversion(targets(
    "x86_64+avx512f+avx2+fma+f16c",
    "x86_64+avx2+fma+f16c",
    "aarch64+neon"
))]
fn best_supported_clone() -> Isa {
    multiversion::target::match_target! {
        "x86_64+avx512f+avx2+fma+f16c" => Isa::Avx512,
        "x86_64+avx2+fma+f16c" => Isa::Avx2Fma,
        "aarch64+neon" => Isa::Neon,
        _ => Isa::Scalar,
    }
}

impl fmt::Display for Isa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(all(target_arch = "x86_64", feature = "std"))]
fn x86_has_avx2_fma() -> bool {
    std::arch::is_x86_feature_detected!("avx2")
        && std::arch::is_x86_feature_detected!("fma")
        && std::arch::is_x86_feature_detected!("f16c")
}

#[cfg(all(target_arch = "x86_64", feature = "std"))]
fn x86_has_avx512f() -> bool {
    // The AVX-512 kernel uses only AVX-512F, but it is compiled with AVX2, FMA and F16C implied.
    x86_has_avx2_fma() && std::arch::is_x86_feature_detected!("avx512f")
}

#[cfg(all(target_arch = "x86_64", not(feature = "std")))]
fn x86_has_avx2_fma() -> bool {
    cfg!(all(
        target_feature = "avx2",
        target_feature = "fma",
        target_feature = "f16c"
    ))
}

#[cfg(all(target_arch = "x86_64", not(feature = "std")))]
fn x86_has_avx512f() -> bool {
    cfg!(all(
        target_feature = "avx512f",
        target_feature = "avx2",
        target_feature = "fma",
        target_feature = "f16c"
    ))
}

#[cfg(not(target_arch = "x86_64"))]
fn x86_has_avx2_fma() -> bool {
    false
}

#[cfg(not(target_arch = "x86_64"))]
fn x86_has_avx512f() -> bool {
    false
}

#[cfg(all(target_arch = "aarch64", feature = "std"))]
fn arm_has_neon() -> bool {
    std::arch::is_aarch64_feature_detected!("neon")
}

#[cfg(all(target_arch = "aarch64", not(feature = "std")))]
fn arm_has_neon() -> bool {
    cfg!(target_feature = "neon")
}

#[cfg(not(target_arch = "aarch64"))]
fn arm_has_neon() -> bool {
    false
}
