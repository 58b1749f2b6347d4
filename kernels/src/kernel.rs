use crate::{layout, Element, Isa};

/// Calls the function of that name in the module of `isa`.
///
/// Only a [`Kernel`] calls it, and a `Kernel` exists only for an ISA this CPU supports, which
/// is the one safety condition of the per-ISA functions; their length checks stay in force.
macro_rules! on_isa {
    ($isa:expr, $function:ident($($arg:expr),*)) => {
        match $isa {
            Isa::Scalar => crate::scalar::$function($($arg),*),
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Kernel::new` confirmed AVX2, FMA and F16C.
            Isa::Avx2Fma => unsafe { crate::x86_64::avx2::$function($($arg),*) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Kernel::new` confirmed AVX-512F, AVX2, FMA and F16C.
            Isa::Avx512 => unsafe { crate::x86_64::avx512::$function($($arg),*) },
            #[cfg(target_arch = "aarch64")]
            // SAFETY: `Kernel::new` confirmed NEON.
            Isa::Neon => unsafe { crate::aarch64::neon::$function($($arg),*) },
            #[allow(unreachable_patterns)]
            other => unreachable!("no {other} kernel on this architecture"),
        }
    };
}

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
        on_isa!(self.isa, row_maxima(packed, query_rows, dim, doc, out))
    }

    /// The MaxSim score of the packed query against `doc`: row maxima summed in row order from
    /// `+0.0`, NaN canonical. Same arguments as [`Kernel::row_maxima`].
    ///
    /// # Panics
    ///
    /// If `dim` is zero or `packed` is too short.
    pub fn score(self, packed: &[f32], query_rows: usize, dim: usize, doc: &[f32]) -> f32 {
        on_isa!(self.isa, score(packed, query_rows, dim, doc))
    }

    /// The weighted score: `total = fma(weights[i], max_i, total)` in row order from `+0.0`,
    /// NaN canonical ([`crate::weighted_sum_in_order`]).
    ///
    /// # Panics
    ///
    /// If `dim` is zero or `packed` or `weights` is too short.
    pub fn score_weighted(
        self,
        packed: &[f32],
        query_rows: usize,
        dim: usize,
        doc: &[f32],
        weights: &[f32],
    ) -> f32 {
        on_isa!(
            self.isa,
            score_weighted(packed, query_rows, dim, doc, weights)
        )
    }

    /// Each query row's maximum similarity over a stored document, into `out[..query_rows]`.
    ///
    /// `query` is row-major (`query_rows` rows of `dim`, no packing); `doc` is a document of
    /// `doc_rows` rows in the index layout ([`crate::index`]), as written by
    /// [`crate::index::pack_document`]; elements past its [`crate::index::index_len`] are
    /// ignored. Every ISA returns the bits of [`crate::scalar::index_row_maxima`].
    ///
    /// # Panics
    ///
    /// If `dim` is zero, or `query`, `doc` or `out` is too short.
    pub fn index_row_maxima<T: Element>(
        self,
        query: &[f32],
        query_rows: usize,
        dim: usize,
        doc: &[T],
        doc_rows: usize,
        out: &mut [f32],
    ) {
        on_isa!(
            self.isa,
            index_row_maxima(query, query_rows, dim, doc, doc_rows, out)
        )
    }

    /// The MaxSim score of a row-major query against a stored document: row maxima summed in
    /// row order from `+0.0`, NaN canonical. Same arguments as [`Kernel::index_row_maxima`];
    /// it allocates nothing.
    ///
    /// # Panics
    ///
    /// If `dim` is zero, or `query` or `doc` is too short.
    pub fn index_score<T: Element>(
        self,
        query: &[f32],
        query_rows: usize,
        dim: usize,
        doc: &[T],
        doc_rows: usize,
    ) -> f32 {
        on_isa!(self.isa, index_score(query, query_rows, dim, doc, doc_rows))
    }

    /// The weighted score against a stored document: `total = fma(weights[i], max_i, total)`
    /// in row order from `+0.0`, NaN canonical ([`crate::weighted_sum_in_order`]).
    ///
    /// # Panics
    ///
    /// If `dim` is zero, or `query`, `doc` or `weights` is too short.
    pub fn index_score_weighted<T: Element>(
        self,
        query: &[f32],
        query_rows: usize,
        dim: usize,
        doc: &[T],
        doc_rows: usize,
        weights: &[f32],
    ) -> f32 {
        on_isa!(
            self.isa,
            index_score_weighted(query, query_rows, dim, doc, doc_rows, weights)
        )
    }

    /// Runs this ISA's FMA throughput probe: `iterations` steps of independent fused
    /// multiply-add chains, [`Kernel::probe_flops`] flops in all.
    pub fn fma_peak_probe(self, iterations: usize) -> f32 {
        on_isa!(self.isa, fma_peak_probe(iterations))
    }

    /// Floating-point operations in `iterations` steps of [`Kernel::fma_peak_probe`].
    pub const fn probe_flops(self, iterations: usize) -> usize {
        iterations * crate::PEAK_PROBE_CHAINS * self.lanes() * 2
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scalar_kernel_scores_a_packed_query() {
        let kernel = Kernel::scalar();
        let query = [1.0, 0.0, 0.0, 1.0];
        let mut packed = [0.0; 4];
        kernel.pack_query(&query, 2, &mut packed);
        let doc = [0.5, 0.5, 2.0, -1.0, 0.0, 3.0];
        assert_eq!(kernel.score(&packed, 2, 2, &doc), 5.0);
        let mut out = [0.0; 2];
        kernel.row_maxima(&packed, 2, 2, &doc, &mut out);
        assert_eq!(out, [2.0, 3.0]);
        assert_eq!(
            kernel.score_weighted(&packed, 2, 2, &doc, &[2.0, -1.0]),
            1.0
        );
        assert_eq!(kernel.score(&packed, 2, 2, &[]), f32::NEG_INFINITY);
    }

    #[test]
    fn every_supported_kernel_agrees_with_the_reference() {
        let query: [f32; 40] = core::array::from_fn(|i| (i % 7) as f32 - 3.0);
        let doc: [f32; 55] = core::array::from_fn(|i| (i % 5) as f32 * 0.5 - 1.0);
        let mut reference = [0.0; 40];
        Kernel::scalar().pack_query(&query, 5, &mut reference);
        let expected = Kernel::scalar().score(&reference, 8, 5, &doc);
        for isa in Isa::ALL {
            let Some(kernel) = Kernel::new(isa) else {
                continue;
            };
            let mut packed = [0.0; 5 * 16];
            let len = kernel.packed_len(8, 5).unwrap();
            kernel.pack_query(&query, 5, &mut packed[..len]);
            let got = kernel.score(&packed[..len], 8, 5, &doc);
            assert_eq!(got.to_bits(), expected.to_bits(), "{isa}");
        }
    }
}
