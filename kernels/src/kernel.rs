use crate::{layout, scalar, Isa};

/// A MaxSim kernel this CPU can run: the safe way into the per-ISA code.
///
/// A `Kernel` is only made for an ISA that [`Isa::is_supported`] confirms, so its methods can
/// call the `#[target_feature]` functions soundly. Choose it once per call or batch; every
/// method then runs one ISA's code with no further detection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Kernel {
    isa: Isa,
}

impl Kernel {
    /// The kernel for `isa`, or `None` if this CPU does not run it.
    pub fn new(isa: Isa) -> Option<Kernel> {
        isa.is_supported().then_some(Kernel { isa })
    }

    /// The fastest kernel this CPU runs ([`Isa::best_supported`]).
    pub fn best() -> Kernel {
        let isa = Isa::best_supported();
        // Both detections ask the same CPUID bits; a disagreement falls back to the reference.
        Kernel::new(isa).unwrap_or(Kernel { isa: Isa::Scalar })
    }

    /// The scalar reference, which runs everywhere.
    pub const fn scalar() -> Kernel {
        Kernel { isa: Isa::Scalar }
    }

    /// The instruction set this kernel runs.
    pub const fn isa(self) -> Isa {
        self.isa
    }

    /// Query rows per vector register: the block width of the packed layout.
    pub const fn lanes(self) -> usize {
        self.isa.lanes()
    }

    /// Length of a `rows x dim` query packed for this kernel, or `None` on overflow.
    pub const fn packed_len(self, rows: usize, dim: usize) -> Option<usize> {
        layout::packed_len(rows, dim, self.lanes())
    }

    /// Packs a row-major query into this kernel's layout ([`layout::pack_query`]).
    ///
    /// # Panics
    ///
    /// As [`layout::pack_query`].
    pub fn pack_query(self, query: &[f32], dim: usize, packed: &mut [f32]) {
        layout::pack_query(query, dim, self.lanes(), packed)
    }

    /// Each query row's maximum similarity over the rows of `doc`, into `out[..query_rows]`.
    ///
    /// `packed` is the query packed by [`Kernel::pack_query`]; `doc` is row-major, and trailing
    /// floats short of a whole row are ignored.
    ///
    /// # Panics
    ///
    /// If `dim` is zero, or `packed` or `out` is too short.
    pub fn row_maxima(
        self,
        packed: &[f32],
        query_rows: usize,
        dim: usize,
        doc: &[f32],
        out: &mut [f32],
    ) {
        match self.isa {
            Isa::Scalar => scalar::row_maxima(packed, query_rows, dim, doc, out),
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Kernel::new` confirmed AVX2 and FMA; the kernel checks the lengths.
            Isa::Avx2Fma => unsafe {
                crate::x86_64::avx2::row_maxima(packed, query_rows, dim, doc, out)
            },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Kernel::new` confirmed AVX-512F, AVX2 and FMA; lengths are checked.
            Isa::Avx512 => unsafe {
                crate::x86_64::avx512::row_maxima(packed, query_rows, dim, doc, out)
            },
            #[cfg(target_arch = "aarch64")]
            // SAFETY: `Kernel::new` confirmed NEON; the kernel checks the lengths.
            Isa::Neon => unsafe {
                crate::aarch64::neon::row_maxima(packed, query_rows, dim, doc, out)
            },
            #[allow(unreachable_patterns)]
            other => unreachable!("no {other} kernel on this architecture"),
        }
    }

    /// The MaxSim score of the packed query against `doc`: row maxima summed in row order from
    /// `+0.0`, NaN canonical. Same arguments as [`Kernel::row_maxima`].
    ///
    /// # Panics
    ///
    /// If `dim` is zero or `packed` is too short.
    pub fn score(self, packed: &[f32], query_rows: usize, dim: usize, doc: &[f32]) -> f32 {
        match self.isa {
            Isa::Scalar => scalar::score(packed, query_rows, dim, doc),
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Kernel::new` confirmed AVX2 and FMA; the kernel checks the lengths.
            Isa::Avx2Fma => unsafe { crate::x86_64::avx2::score(packed, query_rows, dim, doc) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Kernel::new` confirmed AVX-512F, AVX2 and FMA; lengths are checked.
            Isa::Avx512 => unsafe { crate::x86_64::avx512::score(packed, query_rows, dim, doc) },
            #[cfg(target_arch = "aarch64")]
            // SAFETY: `Kernel::new` confirmed NEON; the kernel checks the lengths.
            Isa::Neon => unsafe { crate::aarch64::neon::score(packed, query_rows, dim, doc) },
            #[allow(unreachable_patterns)]
            other => unreachable!("no {other} kernel on this architecture"),
        }
    }

    /// Runs this ISA's FMA throughput probe: `iterations` steps of independent fused
    /// multiply-add chains, [`Kernel::probe_flops`] flops in all.
    pub fn fma_peak_probe(self, iterations: usize) -> f32 {
        match self.isa {
            Isa::Scalar => scalar::fma_peak_probe(iterations),
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Kernel::new` confirmed AVX2 and FMA.
            Isa::Avx2Fma => unsafe { crate::x86_64::avx2::fma_peak_probe(iterations) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Kernel::new` confirmed AVX-512F, AVX2 and FMA.
            Isa::Avx512 => unsafe { crate::x86_64::avx512::fma_peak_probe(iterations) },
            #[cfg(target_arch = "aarch64")]
            // SAFETY: `Kernel::new` confirmed NEON.
            Isa::Neon => unsafe { crate::aarch64::neon::fma_peak_probe(iterations) },
            #[allow(unreachable_patterns)]
            other => unreachable!("no {other} kernel on this architecture"),
        }
    }

    /// Floating-point operations in `iterations` steps of [`Kernel::fma_peak_probe`].
    pub const fn probe_flops(self, iterations: usize) -> usize {
        iterations * crate::PEAK_PROBE_CHAINS * self.lanes() * 2
    }
}
