//! The scalar reference: the definition every SIMD kernel must match bit for bit.
//!
//! It takes the same arguments as the SIMD kernels; with one lane the packed query is simply
//! the row-major query. It needs no CPU feature, so its functions are safe.

use crate::index::{self, Element};
use crate::sketch;

/// Query rows per step: the scalar kernel is one lane wide.
pub const LANES: usize = 1;

/// `dot(q, d)`: fused multiply-adds over `k` in order, starting from `+0.0`.
///
/// `libm::fmaf` is correctly rounded everywhere (a hardware FMA where the CPU has one, an exact
/// software emulation elsewhere), so this chain is the same on every machine.
#[inline]
pub fn dot(q: &[f32], d: &[f32]) -> f32 {
    q.iter()
        .zip(d)
        .fold(0.0f32, |acc, (&qk, &dk)| libm::fmaf(qk, dk, acc))
}

/// The maximum of `dot(query_row, doc_row)` over the rows of `doc` in order: `-inf` for an
/// empty document, NaN if any dot product is NaN.
#[inline]
pub fn row_max(query_row: &[f32], doc: &[f32]) -> f32 {
    max_similarity(doc, query_row.len(), |doc_row| dot(query_row, doc_row))
}

/// The maximum of `similarity(doc_row)` over the rows of `doc`, with the kernels' semantics.
#[inline]
fn max_similarity(doc: &[f32], dim: usize, similarity: impl FnMut(&[f32]) -> f32) -> f32 {
    max_in_order(doc.chunks_exact(dim).map(similarity))
}

/// The maximum of `similarities` taken in order: `-inf` if there are none, NaN if any is NaN,
/// and of equal values the first.
#[inline]
fn max_in_order(similarities: impl Iterator<Item = f32>) -> f32 {
    let mut best = f32::NEG_INFINITY;
    let mut saw_nan = false;
    for similarity in similarities {
        saw_nan |= similarity.is_nan();
        // Strictly greater: the first of equal values is kept, exactly as the SIMD
        // `max(similarity, best)` instructions do; NaN never compares greater.
        if similarity > best {
            best = similarity;
        }
    }
    if saw_nan {
        f32::NAN
    } else {
        best
    }
}

/// Writes each query row's maximum similarity into `out[..query_rows]`.
///
/// # Panics
///
/// If `dim` is zero or `packed` or `out` is shorter than `query_rows` rows.
pub fn row_maxima(packed: &[f32], query_rows: usize, dim: usize, doc: &[f32], out: &mut [f32]) {
    assert!(dim > 0, "dim must be at least 1");
    let query = &packed[..query_rows * dim];
    for (max, query_row) in out[..query_rows].iter_mut().zip(query.chunks_exact(dim)) {
        *max = row_max(query_row, doc);
    }
}

/// The MaxSim score: the sum of [`row_maxima`] in row order from `+0.0`, NaN canonical.
///
/// # Panics
///
/// If `dim` is zero or `packed` is shorter than `query_rows` rows.
pub fn score(packed: &[f32], query_rows: usize, dim: usize, doc: &[f32]) -> f32 {
    assert!(dim > 0, "dim must be at least 1");
    let query = &packed[..query_rows * dim];
    let total = query.chunks_exact(dim).fold(0.0f32, |total, query_row| {
        crate::sum_in_order(total, &[row_max(query_row, doc)])
    });
    crate::canonical_nan(total)
}

/// The weighted score: `total = fma(weights[i], max_i, total)` in row order from `+0.0`, NaN
/// canonical.
///
/// # Panics
///
/// If `dim` is zero or `packed` or `weights` is shorter than `query_rows` rows.
pub fn score_weighted(
    packed: &[f32],
    query_rows: usize,
    dim: usize,
    doc: &[f32],
    weights: &[f32],
) -> f32 {
    assert!(dim > 0, "dim must be at least 1");
    let query = &packed[..query_rows * dim];
    let total = query.chunks_exact(dim).zip(&weights[..query_rows]).fold(
        0.0f32,
        |total, (query_row, &weight)| {
            crate::weighted_sum_in_order(total, &[row_max(query_row, doc)], &[weight])
        },
    );
    crate::canonical_nan(total)
}

/// The maximum of [`crate::index::stored_dot`] over the `doc_rows` rows of a stored document,
/// in row order: `-inf` for an empty document, NaN if any dot product is NaN, and of equal
/// values the first (which decides the sign of a zero maximum).
///
/// # Panics
///
/// If `query_row` is empty or `doc` is shorter than `doc_rows` stored rows.
#[inline]
pub fn index_row_max<T: Element>(query_row: &[f32], doc: &[T], doc_rows: usize) -> f32 {
    max_in_order((0..doc_rows).map(|row| index::stored_dot(query_row, doc, row)))
}

/// Writes each query row's maximum similarity over a stored document into `out[..query_rows]`.
///
/// `query` is row-major; `doc` is a document of `doc_rows` rows in the index layout
/// ([`crate::index`]), of which elements past [`index::index_len`] are ignored. This is the
/// definition every ISA's index kernel matches bit for bit.
///
/// # Panics
///
/// If `dim` is zero, or `query`, `doc` or `out` is too short.
pub fn index_row_maxima<T: Element>(
    query: &[f32],
    query_rows: usize,
    dim: usize,
    doc: &[T],
    doc_rows: usize,
    out: &mut [f32],
) {
    index::check_arguments(query.len(), query_rows, dim, doc.len(), doc_rows);
    index::check_rows(out.len(), query_rows, "out");
    for (max, query_row) in out[..query_rows].iter_mut().zip(query.chunks_exact(dim)) {
        *max = index_row_max(query_row, doc, doc_rows);
    }
}

/// The MaxSim score against a stored document: the sum of [`index_row_maxima`] in row order
/// from `+0.0`, NaN canonical.
///
/// # Panics
///
/// If `dim` is zero, or `query` or `doc` is too short.
pub fn index_score<T: Element>(
    query: &[f32],
    query_rows: usize,
    dim: usize,
    doc: &[T],
    doc_rows: usize,
) -> f32 {
    index::check_arguments(query.len(), query_rows, dim, doc.len(), doc_rows);
    let total = query[..query_rows * dim]
        .chunks_exact(dim)
        .fold(0.0f32, |total, query_row| {
            crate::sum_in_order(total, &[index_row_max(query_row, doc, doc_rows)])
        });
    crate::canonical_nan(total)
}

/// The weighted score against a stored document: `total = fma(weights[i], max_i, total)` in row
/// order from `+0.0`, NaN canonical.
///
/// # Panics
///
/// If `dim` is zero, or `query`, `doc` or `weights` is too short.
pub fn index_score_weighted<T: Element>(
    query: &[f32],
    query_rows: usize,
    dim: usize,
    doc: &[T],
    doc_rows: usize,
    weights: &[f32],
) -> f32 {
    index::check_arguments(query.len(), query_rows, dim, doc.len(), doc_rows);
    index::check_rows(weights.len(), query_rows, "weights");
    let total = query[..query_rows * dim]
        .chunks_exact(dim)
        .zip(&weights[..query_rows])
        .fold(0.0f32, |total, (query_row, &weight)| {
            let max = index_row_max(query_row, doc, doc_rows);
            crate::weighted_sum_in_order(total, &[max], &[weight])
        });
    crate::canonical_nan(total)
}

/// The scalar counterpart of the SIMD kernels' `fma_peak_probe`: [`crate::PEAK_PROBE_CHAINS`]
/// independent chains of `iterations` correctly rounded fused multiply-adds.
pub fn fma_peak_probe(iterations: usize) -> f32 {
    let mut chains = [0.0f32; crate::PEAK_PROBE_CHAINS];
    for _ in 0..iterations {
        for chain in chains.iter_mut() {
            *chain = libm::fmaf(*chain, 0.999_999_9, 1e-7);
        }
    }
    chains.iter().sum()
}

/// Writes each query row's screen maximum over a document sketch into `out[..query_rows]`: the
/// maximum over the `doc_rows` tokens of `scales[j] * (T[i][j] as f32)` ([`crate::sketch`]).
///
/// `query` is row-major with [`sketch::sketch_dim`]`(dim)` codes per row, zero past `dim`;
/// `doc` is a document sketch of `doc_rows` tokens ([`sketch::pack_sketch`]), of which bytes past
/// [`sketch::sketch_len`] are ignored; `scales` holds one finite scale per token. This is the
/// definition every ISA's screen matches bit for bit.
///
/// # Panics
///
/// If `dim` is zero or above [`sketch::MAX_SKETCH_DIM`], or `query`, `doc`, `scales` or `out`
/// is too short.
pub fn screen_row_maxima(
    query: &[i8],
    query_rows: usize,
    dim: usize,
    doc: &[i8],
    scales: &[f32],
    doc_rows: usize,
    out: &mut [f32],
) {
    sketch::check_screen_arguments(
        query.len(),
        query_rows,
        dim,
        doc.len(),
        scales.len(),
        doc_rows,
        out.len(),
    );
    let padded_dim = sketch::sketch_dim(dim);
    let query = &query[..query_rows * padded_dim];
    for (max, query_row) in out.iter_mut().zip(query.chunks_exact(padded_dim)) {
        *max = sketch::screen_row_max(query_row, doc, scales, doc_rows);
    }
}
