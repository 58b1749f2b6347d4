//! A query packed once for its kernel, then scored against any number of documents.

use maxsim_kernels::{scalar, Kernel};

/// At or below this many multiply-adds a SIMD call's fixed cost (about 230 instructions)
/// exceeds the whole scalar computation, so the reference runs instead: the same bits, and
/// never slower than the reference on tiny shapes.
const TINY_WORK: usize = 24;

use crate::dispatch::{kernel_for, selected_isa};
use crate::{Error, Isa, Result, TokenMatrix};

/// A query rearranged once into its kernel's layout (dimension-major, in blocks of the ISA's
/// lane width), so scoring many documents never redoes it.
///
/// Scoring a document allocates nothing and stores no similarity matrix.
#[derive(Clone, Debug)]
pub struct PreparedQuery {
    packed: Vec<f32>,
    /// The row-major query, for the scalar path on tiny documents.
    row_major: Vec<f32>,
    rows: usize,
    dim: usize,
    kernel: Kernel,
}

impl PreparedQuery {
    /// Prepares `query` for the dispatched ISA ([`crate::selected_isa`]).
    ///
    /// # Errors
    ///
    /// The errors of [`crate::selected_isa`]; [`Error::TooLarge`] if the packed query would
    /// not fit in memory.
    pub fn new(query: TokenMatrix<'_>) -> Result<Self> {
        Self::with_isa(query, selected_isa()?)
    }

    /// Prepares `query` for a named ISA, whatever `MAXSIM_ISA` says.
    ///
    /// # Errors
    ///
    /// [`Error::UnsupportedIsa`] if this CPU does not run `isa`; [`Error::TooLarge`] as
    /// [`PreparedQuery::new`].
    pub fn with_isa(query: TokenMatrix<'_>, isa: Isa) -> Result<Self> {
        let kernel = kernel_for(isa)?;
        let (rows, dim) = (query.rows(), query.dim());
        let len = kernel
            .packed_len(rows, dim)
            .ok_or(Error::TooLarge { rows, dim })?;
        let mut packed = vec![0.0; len];
        kernel.pack_query(query.as_slice(), dim, &mut packed);
        Ok(PreparedQuery {
            packed,
            row_major: query.as_slice().to_vec(),
            rows,
            dim,
            kernel,
        })
    }

    /// Number of query token vectors.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Dimension of the query's token vectors.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The ISA whose kernel scores this query.
    pub fn isa(&self) -> Isa {
        self.kernel.isa()
    }

    /// The MaxSim score against `doc` (see the crate documentation for the exact semantics).
    ///
    /// # Errors
    ///
    /// [`Error::DimMismatch`] if `doc.dim() != self.dim()`.
    pub fn score(&self, doc: TokenMatrix<'_>) -> Result<f32> {
        self.check_dim(doc)?;
        let doc = doc.as_slice();
        Ok(if self.is_tiny(doc) {
            scalar::score(&self.row_major, self.rows, self.dim, doc)
        } else {
            self.kernel.score(&self.packed, self.rows, self.dim, doc)
        })
    }

    /// Each query row's maximum similarity over `doc`'s rows, written into `out` (one per query
    /// row): `-inf` for an empty document, NaN where any similarity is NaN. Summing `out` in
    /// order from `+0.0` gives [`PreparedQuery::score`] bit for bit (NaN aside, which `score`
    /// returns as [`f32::NAN`]).
    ///
    /// # Errors
    ///
    /// [`Error::DimMismatch`]; [`Error::OutputLength`] if `out.len() != self.rows()`.
    pub fn row_maxima(&self, doc: TokenMatrix<'_>, out: &mut [f32]) -> Result<()> {
        self.check_dim(doc)?;
        if out.len() != self.rows {
            return Err(Error::OutputLength {
                expected: self.rows,
                actual: out.len(),
            });
        }
        let doc = doc.as_slice();
        if self.is_tiny(doc) {
            scalar::row_maxima(&self.row_major, self.rows, self.dim, doc, out);
        } else {
            self.kernel
                .row_maxima(&self.packed, self.rows, self.dim, doc, out);
        }
        Ok(())
    }

    fn is_tiny(&self, doc: &[f32]) -> bool {
        self.rows.saturating_mul(doc.len()) <= TINY_WORK
    }

    fn check_dim(&self, doc: TokenMatrix<'_>) -> Result<()> {
        if doc.dim() == self.dim {
            Ok(())
        } else {
            Err(Error::DimMismatch {
                query_dim: self.dim,
                doc_dim: doc.dim(),
            })
        }
    }
}

/// The MaxSim score of `query` against `doc` on the dispatched ISA.
///
/// This packs the query on every call; to score many documents, prepare it once with
/// [`PreparedQuery::new`].
///
/// # Errors
///
/// As [`PreparedQuery::new`] and [`PreparedQuery::score`].
pub fn maxsim(query: TokenMatrix<'_>, doc: TokenMatrix<'_>) -> Result<f32> {
    PreparedQuery::new(query)?.score(doc)
}

/// The MaxSim score on a named ISA; [`Isa::Scalar`] gives the reference.
///
/// # Errors
///
/// As [`PreparedQuery::with_isa`] and [`PreparedQuery::score`].
pub fn maxsim_with_isa(query: TokenMatrix<'_>, doc: TokenMatrix<'_>, isa: Isa) -> Result<f32> {
    PreparedQuery::with_isa(query, isa)?.score(doc)
}
