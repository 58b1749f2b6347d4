//! The scalar reference: the definition every SIMD kernel must match bit for bit.
//!
//! It takes the same arguments as the SIMD kernels; with one lane the packed query is simply
//! the row-major query. It needs no CPU feature, so its functions are safe.

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
fn max_similarity(doc: &[f32], dim: usize, mut similarity: impl FnMut(&[f32]) -> f32) -> f32 {
    let mut best = f32::NEG_INFINITY;
    let mut saw_nan = false;
    for doc_row in doc.chunks_exact(dim) {
        let similarity = similarity(doc_row);
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
