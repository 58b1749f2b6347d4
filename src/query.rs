//! A query packed once for its kernel, then scored against any number of documents.

use maxsim_kernels::{scalar, Kernel};

use crate::dispatch::{kernel_for, selected_isa};
use crate::documents::check_dims;
use crate::prune::QuerySketch;
use crate::value::with_f32;
use crate::{Error, Isa, Result, TokenMatrix, Value};

/// At or below this many multiply-adds a SIMD call's fixed cost (about 230 instructions)
/// exceeds the whole scalar computation, so the reference runs instead: the same bits, and
/// never slower than the reference on tiny shapes.
const TINY_WORK: usize = 24;

fn is_tiny_work(query_rows: usize, doc: &[f32]) -> bool {
    query_rows.saturating_mul(doc.len()) <= TINY_WORK
}

/// A query rearranged once into its kernel's layout (dimension-major, in blocks of the ISA's
/// lane width), so scoring many documents never redoes it.
///
/// Scoring a document allocates nothing and stores no similarity matrix.
#[derive(Clone, Debug)]
pub struct PreparedQuery {
    packed: Vec<f32>,
    /// The row-major query, for the scalar path on tiny documents and for explanations.
    row_major: Vec<f32>,
    rows: usize,
    dim: usize,
    kernel: Kernel,
    /// One weight per row, when the query is weighted ([`PreparedQuery::with_weights`]).
    weights: Option<Vec<f32>>,
    /// The caller's index of each row, when a mask or zero weights removed some.
    source_rows: Option<Vec<usize>>,
    /// The rows' int8 sketch, for pruned top-k over an index: made on first use.
    sketch: std::sync::OnceLock<QuerySketch>,
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
        Self::with_kernel(query, kernel_for(isa)?)
    }

    fn with_kernel(query: TokenMatrix<'_>, kernel: Kernel) -> Result<Self> {
        Self::pack(query.as_slice().to_vec(), query.dim(), kernel, None, None)
    }

    fn pack(
        row_major: Vec<f32>,
        dim: usize,
        kernel: Kernel,
        weights: Option<Vec<f32>>,
        source_rows: Option<Vec<usize>>,
    ) -> Result<Self> {
        let rows = row_major.len() / dim;
        let len = kernel
            .packed_len(rows, dim)
            .ok_or(Error::TooLarge { rows, dim })?;
        let mut packed = vec![0.0; len];
        kernel.pack_query(&row_major, dim, &mut packed);
        Ok(PreparedQuery {
            packed,
            row_major,
            rows,
            dim,
            kernel,
            weights,
            source_rows,
            sketch: std::sync::OnceLock::new(),
        })
    }

    /// Weights the query's rows: the score becomes `sum over i of weights[i] * max_i`,
    /// accumulated in row order as `total = fma(weights[i], max_i, total)`. A row of weight
    /// `0.0` is masked: removed, so it contributes nothing (not even a NaN or an infinity).
    /// With every weight `1.0` the score is bit-identical to the unweighted one.
    ///
    /// # Errors
    ///
    /// [`Error::Weights`] if there is not one weight per row or a weight is not finite.
    pub fn with_weights(self, weights: &[f32]) -> Result<Self> {
        if weights.len() != self.rows {
            return Err(Error::Weights {
                message: format!("{} weights for {} query rows", weights.len(), self.rows),
            });
        }
        if let Some((i, w)) = weights.iter().enumerate().find(|(_, w)| !w.is_finite()) {
            return Err(Error::Weights {
                message: format!("weight {i} is {w}; weights must be finite"),
            });
        }
        // On a query that is already weighted, the weights compose by multiplication, and a row
        // is dropped only once its composed weight is known: chained weights whose product
        // underflows to zero remove the row, as a zero weight does.
        let composed: Vec<f32> = (0..self.rows)
            .map(|i| weights[i] * self.weight(i))
            .collect();
        if let Some(w) = composed.iter().find(|w| !w.is_finite()) {
            return Err(Error::Weights {
                message: format!("composed weight {w} is not finite"),
            });
        }
        let kept: Vec<usize> = (0..self.rows).filter(|&i| composed[i] != 0.0).collect();
        let row_major = kept
            .iter()
            .flat_map(|&i| &self.row_major[i * self.dim..(i + 1) * self.dim])
            .copied()
            .collect();
        let new_weights: Vec<f32> = kept.iter().map(|&i| composed[i]).collect();
        let source_rows = kept.iter().map(|&i| self.source_row(i)).collect();
        let weights = (!new_weights.iter().all(|&w| w == 1.0)).then_some(new_weights);
        Self::pack(row_major, self.dim, self.kernel, weights, Some(source_rows))
    }

    /// Masks query rows: rows whose `mask` entry is `false` are removed and contribute
    /// nothing. The same as [`PreparedQuery::with_weights`] with weights `1.0` and `0.0`.
    ///
    /// # Errors
    ///
    /// [`Error::Weights`] if there is not one mask entry per row.
    pub fn with_mask(self, mask: &[bool]) -> Result<Self> {
        let weights: Vec<f32> = mask.iter().map(|&keep| f32::from(u8::from(keep))).collect();
        self.with_weights(&weights)
    }

    /// The query's rows, row-major (after any mask): what the index kernels broadcast.
    pub(crate) fn row_major(&self) -> &[f32] {
        &self.row_major
    }

    /// One weight per row, when weighted.
    pub(crate) fn weights(&self) -> Option<&[f32]> {
        self.weights.as_deref()
    }

    pub(crate) fn kernel(&self) -> Kernel {
        self.kernel
    }

    /// The rows' int8 sketch.
    pub(crate) fn sketch(&self) -> &QuerySketch {
        // Made on first use: most queries never prune.
        self.sketch
            .get_or_init(|| QuerySketch::new(&self.row_major, self.dim))
    }

    fn weight(&self, row: usize) -> f32 {
        self.weights.as_ref().map_or(1.0, |w| w[row])
    }

    fn source_row(&self, row: usize) -> usize {
        self.source_rows.as_ref().map_or(row, |rows| rows[row])
    }

    /// Number of query token vectors scored (after any mask).
    #[must_use]
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Dimension of the query's token vectors.
    #[must_use]
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The ISA whose kernel scores this query.
    #[must_use]
    pub fn isa(&self) -> Isa {
        self.kernel.isa()
    }

    /// The MaxSim score against `doc` (see the crate documentation for the exact semantics).
    /// An f16 or bf16 document is widened to f32 exactly first (into a per-thread buffer).
    ///
    /// # Errors
    ///
    /// [`Error::DimMismatch`] if `doc.dim() != self.dim()`.
    pub fn score<T: Value>(&self, doc: TokenMatrix<'_, T>) -> Result<f32> {
        self.check_dim_of(doc.dim())?;
        Ok(self.score_values(doc.as_slice()))
    }

    /// [`PreparedQuery::score`] of row-major values of any [`Value`] type, dims checked.
    pub(crate) fn score_values<T: Value>(&self, doc: &[T]) -> f32 {
        with_f32(doc, |doc| self.score_unchecked(doc))
    }

    /// [`PreparedQuery::row_maxima`] of row-major values of any [`Value`] type, dims checked.
    pub(crate) fn row_maxima_values<T: Value>(&self, doc: &[T], out: &mut [f32]) {
        with_f32(doc, |doc| self.row_maxima_unchecked(doc, out))
    }

    /// [`PreparedQuery::score`] for a document whose dim is known to match.
    pub(crate) fn score_unchecked(&self, doc: &[f32]) -> f32 {
        let (rows, dim) = (self.rows, self.dim);
        match (&self.weights, self.is_tiny(doc)) {
            (None, true) => scalar::score(&self.row_major, rows, dim, doc),
            (None, false) => self.kernel.score(&self.packed, rows, dim, doc),
            (Some(w), true) => scalar::score_weighted(&self.row_major, rows, dim, doc, w),
            (Some(w), false) => self.kernel.score_weighted(&self.packed, rows, dim, doc, w),
        }
    }

    /// Each query row's maximum similarity over `doc`'s rows, written into `out` (one per query
    /// row): `-inf` for an empty document, NaN where any similarity is NaN. Summing `out` in
    /// order from `+0.0` gives [`PreparedQuery::score`] bit for bit for an unweighted query
    /// (NaN aside, which `score` returns as [`f32::NAN`]).
    ///
    /// # Errors
    ///
    /// [`Error::DimMismatch`]; [`Error::OutputLength`] if `out.len() != self.rows()`.
    pub fn row_maxima<T: Value>(&self, doc: TokenMatrix<'_, T>, out: &mut [f32]) -> Result<()> {
        self.check_dim_of(doc.dim())?;
        if out.len() != self.rows {
            return Err(Error::OutputLength {
                expected: self.rows,
                actual: out.len(),
            });
        }
        self.row_maxima_values(doc.as_slice(), out);
        Ok(())
    }

    pub(crate) fn row_maxima_unchecked(&self, doc: &[f32], out: &mut [f32]) {
        if self.is_tiny(doc) {
            scalar::row_maxima(&self.row_major, self.rows, self.dim, doc, out);
        } else {
            self.kernel
                .row_maxima(&self.packed, self.rows, self.dim, doc, out);
        }
    }

    /// Why `doc` scores what it does: for each query row, the first document row attaining
    /// its maximum and that similarity. Adding `weight * similarity` in row order (as
    /// [`Explanation::score`] records) gives [`PreparedQuery::score`] bit for bit.
    ///
    /// This allocates: one entry per query row.
    ///
    /// # Errors
    ///
    /// [`Error::DimMismatch`].
    pub fn explain<T: Value>(&self, doc: TokenMatrix<'_, T>) -> Result<Explanation> {
        self.check_dim_of(doc.dim())?;
        if T::STORAGE != maxsim_kernels::index::Storage::F32 {
            return self.explain(doc.to_f32().as_matrix());
        }
        let doc = TokenMatrix::new(bytemuck::cast_slice::<T, f32>(doc.as_slice()), doc.dim())?;
        let mut maxima = vec![0.0; self.rows];
        self.row_maxima(doc, &mut maxima)?;
        let matches = maxima
            .iter()
            .enumerate()
            .map(|(row, &max)| {
                let query_row = &self.row_major[row * self.dim..(row + 1) * self.dim];
                // The kernel keeps the first row attaining the maximum, so the first row whose
                // dot product has the maximum's bits is that row (for NaN, the first NaN).
                let doc_row = doc.iter_rows().position(|doc_row| {
                    let similarity = scalar::dot(query_row, doc_row);
                    similarity.to_bits() == max.to_bits() || (max.is_nan() && similarity.is_nan())
                });
                RowMatch {
                    query_row: self.source_row(row),
                    doc_row,
                    similarity: max,
                    weight: self.weight(row),
                }
            })
            .collect();
        Ok(Explanation {
            score: self.score(doc)?,
            matches,
        })
    }

    fn is_tiny(&self, doc: &[f32]) -> bool {
        is_tiny_work(self.rows, doc)
    }

    pub(crate) fn check_dim_of(&self, doc_dim: usize) -> Result<()> {
        check_dims(self.dim, doc_dim)
    }
}

/// The best document row for each query row: see [`PreparedQuery::explain`].
#[derive(Clone, Debug, PartialEq)]
pub struct Explanation {
    /// The document's score.
    pub score: f32,
    /// One entry per scored query row, in order.
    pub matches: Vec<RowMatch>,
}

impl Explanation {
    /// The score re-added from the matches: `fma(weight, similarity, total)` in order from
    /// `+0.0`, NaN canonical. Always the bits of [`Explanation::score`].
    #[must_use]
    pub fn sum_of_matches(&self) -> f32 {
        let total = self.matches.iter().fold(0.0f32, |total, m| {
            maxsim_kernels::weighted_sum_in_order(total, &[m.similarity], &[m.weight])
        });
        maxsim_kernels::canonical_nan(total)
    }
}

/// One query row's best match in a document.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RowMatch {
    /// The query row, as the caller numbered it (before any mask).
    pub query_row: usize,
    /// The first document row attaining the maximum; `None` for an empty document.
    pub doc_row: Option<usize>,
    /// The maximum similarity (`-inf` for an empty document, NaN if any similarity was NaN).
    pub similarity: f32,
    /// The row's weight (`1.0` unless weighted).
    pub weight: f32,
}

/// The MaxSim score of `query` against `doc` on the dispatched ISA.
///
/// This packs the query on every call (an allocation; none for tiny shapes, which take the
/// reference's path as [`PreparedQuery::score`] does); to score many documents, prepare it
/// once with [`PreparedQuery::new`].
///
/// # Errors
///
/// As [`PreparedQuery::new`] and [`PreparedQuery::score`].
pub fn maxsim<T: Value>(query: TokenMatrix<'_>, doc: TokenMatrix<'_, T>) -> Result<f32> {
    maxsim_with_isa(query, doc, selected_isa()?)
}

/// The MaxSim score on a named ISA; [`Isa::Scalar`] gives the reference.
///
/// # Errors
///
/// As [`PreparedQuery::with_isa`] and [`PreparedQuery::score`].
pub fn maxsim_with_isa<T: Value>(
    query: TokenMatrix<'_>,
    doc: TokenMatrix<'_, T>,
    isa: Isa,
) -> Result<f32> {
    let kernel = kernel_for(isa)?; // UnsupportedIsa even where the reference's path runs
    let (rows, dim) = (query.rows(), query.dim());
    check_dims(dim, doc.dim())?;
    with_f32(doc.as_slice(), |doc| {
        if !is_tiny_work(rows, doc) {
            let prepared = PreparedQuery::with_kernel(query, kernel)?;
            return Ok(prepared.score_unchecked(doc));
        }
        // The path PreparedQuery::score takes for this shape, without packing (so without
        // allocating): a one-shot call on a tiny shape costs what the reference costs.
        Ok(scalar::score(query.as_slice(), rows, dim, doc))
    })
}
