//! Exact top-k over an [`crate::Index`] with a sketch: every document is screened with int8
//! codes, which gives an interval proven to contain its exact score; only documents whose
//! interval reaches the k-th best lower bound are scored exactly, best upper bound first. The
//! result is the full scan's, bit for bit (the derivation is in the README, "Pruned top-k").

use maxsim_kernels::sketch as sk;
use maxsim_kernels::Screen;

use crate::scorer::{current_threads, map_reduce};
use crate::search::{BestK, Hit};
use crate::PreparedQuery;

/// The unit roundoff of f32.
const F32_UNIT: f64 = 1.0 / (1u64 << 24) as f64;
/// A token (or query row) whose norm exceeds this is not bounded: its dot products could
/// overflow f32, and then no interval holds the score. Documents with such tokens, or with a
/// non-finite value, are always scored exactly; a query with such a row is not pruned.
const NORM_LIMIT: f64 = (1u64 << 50) as f64;
/// The slack for f64 rounding in the bound arithmetic itself, per operation on a magnitude:
/// generous (every f64 operation is within 2^-53 of exact).
const F64_SLACK: f64 = 1.0 / (1u64 << 50) as f64;
/// Screening stops and the full scan runs when more than this share of a sample of the
/// documents would have to be scored exactly anyway (see [`pruned_top_k`]).
const GUARD_SHARE: f64 = 0.5;
/// The guard's sample: an eighth of the documents, at least this many times k (its k-th best
/// lower bound is then a fair estimate of the final one).
const GUARD_SAMPLE_PER_K: usize = 8;

/// The relative bound of an f32 dot product of `dim` terms as the kernels compute it (one
/// rounding per fused multiply-add): `gamma(dim)`.
pub(crate) fn dot_rounding(dim: usize) -> f64 {
    gamma(dim)
}

/// `gamma(n) = n u / (1 - n u)`: the relative bound of `n` f32 roundings (Higham), inflated
/// for the f64 arithmetic computing it.
fn gamma(n: usize) -> f64 {
    let nu = n as f64 * F32_UNIT;
    if nu >= 0.5 {
        return f64::INFINITY;
    }
    nu / (1.0 - nu) * (1.0 + F64_SLACK)
}

/// The smallest f32 at or above `x` (for `x >= 0`).
pub(crate) fn f32_up(x: f64) -> f32 {
    let y = x as f32;
    if f64::from(y) < x {
        y.next_up()
    } else {
        y
    }
}

/// One token's sketch: its int8 codes (into `codes`), its scale, and what the bound needs of
/// it: `(error, sketched_norm, norm)` as upper bounds, where `error = |x - scale * codes|`,
/// `sketched_norm = |scale * codes|`. `None` if the token is not bounded (a non-finite value or
/// a norm above [`NORM_LIMIT`]).
pub(crate) fn sketch_token(values: &[f32], codes: &mut [i8]) -> Option<(f32, f64, f64, f64)> {
    let scale = sk::quantize_row(values, codes)?;
    let n = values.len();
    let scale64 = f64::from(scale);
    // One pass for the three sums of squares: `scale * code` is exact in f64 (24 + 8 bits) and
    // the difference rounds once; each square of an f32 is exact.
    let (mut norm, mut error, mut sketched) = (0.0f64, 0.0f64, 0.0f64);
    for (&x, &c) in values.iter().zip(codes.iter()) {
        let (x, y) = (f64::from(x), scale64 * f64::from(c));
        norm += x * x;
        error += (x - y) * (x - y);
        sketched += y * y;
    }
    let up = |sum: f64, terms: usize| sum.sqrt() * (1.0 + (terms as f64 + 8.0) * f64::EPSILON);
    let norm = up(norm, n);
    if norm > NORM_LIMIT {
        return None;
    }
    Some((scale, up(error, 2 * n), up(sketched, n), norm))
}

/// A query's sketch, made when it is prepared: per row, int8 codes and what the bound needs.
#[derive(Clone, Debug)]
pub(crate) struct QuerySketch {
    /// `rows x sketch_dim(dim)` codes, zero padded.
    codes: Vec<i8>,
    /// Per row: the scale `b`, an upper bound of `|q - b t|`, an upper bound of `|q|`.
    rows: Vec<(f64, f64, f64)>,
    /// Whether every row is bounded (finite, norm at most [`NORM_LIMIT`]).
    usable: bool,
}

impl QuerySketch {
    pub(crate) fn new(row_major: &[f32], dim: usize) -> QuerySketch {
        if dim == 0 || dim > sk::MAX_SKETCH_DIM {
            // Beyond the screen's dims (whose sums would overflow i32): never pruned.
            return QuerySketch {
                codes: Vec::new(),
                rows: Vec::new(),
                usable: false,
            };
        }
        let padded = sk::sketch_dim(dim);
        let rows = row_major.len() / dim;
        let mut codes = vec![0i8; rows * padded];
        let mut per_row = Vec::with_capacity(rows);
        let mut usable = true;
        for (row, out) in row_major
            .chunks_exact(dim)
            .zip(codes.chunks_exact_mut(padded))
        {
            match usable.then(|| sketch_token(row, &mut out[..dim])).flatten() {
                Some((scale, error, _, norm)) => per_row.push((f64::from(scale), error, norm)),
                None => {
                    usable = false;
                    per_row.push((0.0, f64::INFINITY, f64::INFINITY));
                }
            }
        }
        QuerySketch {
            codes,
            rows: per_row,
            usable,
        }
    }
}

/// An index's sketch of one document: the bound's per-document terms.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct DocumentBound {
    /// `max over tokens of (|d - a s| + gamma(dim) |d|)`, rounded up; `+inf` if the document
    /// is not bounded.
    pub(crate) error: f32,
    /// `max over tokens of |a s|`, rounded up.
    pub(crate) sketched: f32,
}

impl DocumentBound {
    pub(crate) const UNBOUNDED: DocumentBound = DocumentBound {
        error: f32::INFINITY,
        sketched: f32::INFINITY,
    };

    /// Whether the document's score can be bounded.
    pub(crate) fn is_bounded(self) -> bool {
        self.error.is_finite() && self.sketched.is_finite()
    }
}

/// What the pruned top-k reads of an index's sketch, per document.
pub(crate) trait Sketched: Sync {
    fn documents(&self) -> usize;
    fn dim(&self) -> usize;
    /// Token rows of document `doc`.
    fn doc_rows(&self, doc: usize) -> usize;
    /// The packed codes, the per-token scales and the bound terms of document `doc`.
    fn sketch(&self, doc: usize) -> (&[i8], &[f32], DocumentBound);
    /// The exact score of document `doc` (the full scan's).
    fn exact(&self, query: &PreparedQuery, doc: usize) -> f32;
    /// The id top-k reports for document `doc`.
    fn id(&self, doc: usize) -> usize {
        doc
    }
}

/// What pruning did: how many documents were screened and how many scored exactly.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TopKStats {
    /// Documents searched.
    pub documents: usize,
    /// Documents whose sketch was screened (0 for a full scan).
    pub screened: usize,
    /// Documents scored exactly (all of them for a full scan).
    pub rescored: usize,
    /// Whether bounds pruned the search. `false` for a full scan: turned off, documents
    /// without a sketch, a query that cannot be bounded (a non-finite value or a huge norm),
    /// or the guard found bounds too wide to prune (as with random unit vectors).
    pub pruned: bool,
}

/// The interval `[lower, upper]` that holds the exact score of a document whose screen gave
/// `maxima` (one per query row), with `bound` its per-document terms; `None` if it cannot be
/// bounded (then it is scored exactly).
fn interval(
    query: &QuerySketch,
    weights: Option<&[f32]>,
    maxima: &[f32],
    bound: DocumentBound,
    dim: usize,
) -> Option<(f64, f64)> {
    if !bound.is_bounded() {
        return None;
    }
    let (error, sketched) = (f64::from(bound.error), f64::from(bound.sketched));
    let rows = maxima.len();
    // A screened maximum is fl(a * fl(T)): within 2u(1 + u) of a * T, so within 2.02u of
    // itself; its subnormal rounding adds at most 2^-149 per operation.
    let screen_rounding = 2.02 * F32_UNIT;
    let tiny = f64::from(f32::from_bits(1)); // 2^-149
    let (mut lower, mut upper, mut magnitude) = (0.0f64, 0.0f64, 0.0f64);
    for (i, (&m, &(b, f, norm))) in maxima.iter().zip(&query.rows).enumerate() {
        if !m.is_finite() {
            // An empty document: the caller never asks; be safe.
            return None;
        }
        let m = f64::from(m);
        let width = f * sketched + norm * error + dim as f64 * tiny + b * 4.0 * tiny;
        let low = b * (m - screen_rounding * m.abs()) - width;
        let high = b * (m + screen_rounding * m.abs()) + width;
        let (low, high) = match weights {
            None => (low, high),
            Some(w) => {
                let w = f64::from(w[i]);
                if w >= 0.0 {
                    (w * low, w * high)
                } else {
                    (w * high, w * low)
                }
            }
        };
        lower += low;
        upper += high;
        magnitude += low.abs().max(high.abs());
    }
    // The exact score rounds each of `rows` additions (or fused multiply-adds) once.
    let slack = (gamma(rows) + (rows as f64 + 32.0) * F64_SLACK) * magnitude + rows as f64 * tiny;
    let (lower, upper) = (lower - slack, upper + slack);
    // Every partial sum of the exact score is at most `magnitude + slack` in size: below f32's
    // range, none overflows (terms of opposite signs could cancel in the final sum after an
    // infinite partial sum). This also bounds `lower` and `upper`; a NaN fails the comparison.
    (magnitude + slack < f64::from(f32::MAX) / 2.0).then_some((lower, upper))
}

/// Screens document `doc`: its interval, or `None` (score it exactly).
fn screen_one<S: Sketched + ?Sized>(
    screen: Screen,
    query: &PreparedQuery,
    sketch: &QuerySketch,
    documents: &S,
    doc: usize,
    maxima: &mut [f32],
) -> Option<(f64, f64)> {
    let rows = documents.doc_rows(doc);
    if rows == 0 {
        return None;
    }
    let (codes, scales, bound) = documents.sketch(doc);
    if !bound.is_bounded() {
        return None;
    }
    screen.screen_row_maxima(
        &sketch.codes,
        query.rows(),
        documents.dim(),
        codes,
        scales,
        rows,
        maxima,
    );
    interval(sketch, query.weights(), maxima, bound, documents.dim())
}

/// The interval proven to hold `query`'s exact score against document `doc` (see
/// [`crate::Index::score_bounds`]).
pub(crate) fn score_bounds<S: Sketched + ?Sized>(
    query: &PreparedQuery,
    documents: &S,
    doc: usize,
) -> Option<(f64, f64)> {
    let sketch = query.sketch();
    if !sketch.usable || query.rows() == 0 || doc >= documents.documents() {
        return None;
    }
    let screen = Screen::for_isa(query.isa());
    let mut maxima = vec![0.0f32; query.rows()];
    screen_one(screen, query, sketch, documents, doc, &mut maxima)
}

/// The exact top `k` (`k >= 1`) of `documents` for `query`, the full scan's bit for bit, by
/// pruning with the sketch; `None` when pruning cannot help (the caller scans in full): the
/// query cannot be bounded, there are no more documents than `k`, or the guard finds the
/// bounds of a sample too wide (more than [`GUARD_SHARE`] of it would be rescored).
pub(crate) fn pruned_top_k<S: Sketched + ?Sized>(
    query: &PreparedQuery,
    documents: &S,
    k: usize,
) -> Option<(Vec<Hit>, TopKStats)> {
    let sketch = query.sketch();
    let n = documents.documents();
    if !sketch.usable || n <= k || query.rows() == 0 {
        return None;
    }
    let screen = Screen::for_isa(query.isa());
    let rows = query.rows();
    let screen_range = |positions: Vec<usize>| -> Vec<(usize, Option<(f64, f64)>)> {
        let mut maxima = vec![0.0f32; rows];
        positions
            .into_iter()
            .map(|doc| {
                (
                    doc,
                    screen_one(screen, query, sketch, documents, doc, &mut maxima),
                )
            })
            .collect()
    };
    let parallel_screen = |positions: Vec<usize>| -> Vec<(usize, Option<(f64, f64)>)> {
        map_reduce(
            split(&positions, current_threads() * 4),
            screen_range,
            Vec::new,
            |mut left, right| {
                left.extend(right);
                left
            },
        )
    };

    // The guard: a sample spread over the documents estimates the share of documents that
    // would be rescored; where it is high, the bounds cannot prune and the full scan runs at
    // once. An estimate only: it decides the cost, never the hits. The sample's screening is
    // kept for the full pass.
    let sample_size = (n / 8).max(GUARD_SAMPLE_PER_K * k);
    let mut screened = Vec::with_capacity(n);
    let mut in_sample = vec![false; n];
    if sample_size <= n / 2 {
        // Spread evenly (in u128: `i * n` overflows a 32-bit usize on large corpora).
        let sample: Vec<usize> = (0..sample_size)
            .map(|i| (i as u128 * n as u128 / sample_size as u128) as usize)
            .collect();
        for &doc in &sample {
            in_sample[doc] = true;
        }
        screened = parallel_screen(sample);
        // The sample's analogue of the k-th best: its (k * sample / n)-th best lower bound, an
        // estimate of the final threshold (the sample's own k-th best would sit far below it
        // and send every search of a small corpus to the full scan).
        let threshold = kth_lower(&screened, (k * sample_size).div_ceil(n).max(1));
        let reached = screened
            .iter()
            .filter(|(_, bounds)| bounds.is_none_or(|(_, upper)| upper >= threshold))
            .count();
        if reached as f64 > GUARD_SHARE * sample_size as f64 {
            return None;
        }
    }
    screened.extend(parallel_screen(
        (0..n).filter(|&doc| !in_sample[doc]).collect(),
    ));
    let threshold = kth_lower(&screened, k);
    // Candidates: every document whose upper bound reaches the threshold (or that has no
    // bounds), best upper bound first.
    screened.retain(|(_, bounds)| bounds.is_none_or(|(_, upper)| upper >= threshold));
    screened.sort_by(|(a, x), (b, y)| {
        let upper = |bounds: &Option<(f64, f64)>| bounds.map_or(f64::INFINITY, |(_, u)| u);
        upper(y).total_cmp(&upper(x)).then(a.cmp(b))
    });
    let mut best = BestK::new(k);
    let mut rescored = 0;
    let mut next = 0;
    let mut batch = (2 * k).max(current_threads() * 4);
    while next < screened.len() {
        // Stop once no remaining candidate can reach the k-th best exact score found: its
        // exact score is at most its upper bound, strictly below (a tie could still win on
        // a lower index, so an equal bound is rescored).
        if let (Some(worst), Some((_, Some((_, upper))))) = (best.worst(), screened.get(next)) {
            if best.is_full() && !worst.score.is_nan() && *upper < f64::from(worst.score) {
                break;
            }
        }
        let end = (next + batch).min(screened.len());
        let positions: Vec<usize> = screened[next..end].iter().map(|&(doc, _)| doc).collect();
        let found = map_reduce(
            split(&positions, current_threads()),
            |docs| {
                let mut found = BestK::new(k);
                for doc in docs {
                    found.offer(Hit {
                        index: documents.id(doc),
                        score: documents.exact(query, doc),
                    });
                }
                found
            },
            || BestK::new(k),
            BestK::merge,
        );
        best = best.merge(found);
        rescored += end - next;
        next = end;
        batch *= 2;
    }
    let stats = TopKStats {
        documents: n,
        screened: n,
        rescored,
        pruned: true,
    };
    Some((best.into_sorted(), stats))
}

/// `positions` in at most `pieces` (at least 1) runs of nearly equal length, for the threads.
fn split(positions: &[usize], pieces: usize) -> Vec<Vec<usize>> {
    let per_piece = positions.len().div_ceil(pieces.max(1)).max(1);
    positions.chunks(per_piece).map(<[usize]>::to_vec).collect()
}

/// The k-th largest lower bound (documents without bounds count as `-inf`).
fn kth_lower(screened: &[(usize, Option<(f64, f64)>)], k: usize) -> f64 {
    let mut lowers: Vec<f64> = screened
        .iter()
        .map(|(_, bounds)| bounds.map_or(f64::NEG_INFINITY, |(lower, _)| lower))
        .collect();
    if lowers.len() < k {
        return f64::NEG_INFINITY;
    }
    let (_, kth, _) = lowers.select_nth_unstable_by(k - 1, |a, b| b.total_cmp(a));
    *kth
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gamma_grows_with_n_and_gives_up_past_half() {
        assert!(gamma(1) > F32_UNIT);
        assert!(gamma(128) > 128.0 * F32_UNIT);
        assert!(gamma(1 << 23) == f64::INFINITY);
    }

    #[test]
    fn rounding_up_to_f32_never_goes_below() {
        for x in [0.0, 1e-40, 0.1, 1.0 / 3.0, 1e30, 3.4e38] {
            assert!(f64::from(f32_up(x)) >= x, "{x}");
        }
        assert_eq!(f32_up(0.5), 0.5);
    }

    #[test]
    fn a_token_sketch_bounds_its_error_and_norms() {
        let values = [0.3f32, -0.7, 0.001, 0.25, -1e-6];
        let mut codes = [0i8; 5];
        let (scale, error, sketched, norm) = sketch_token(&values, &mut codes).unwrap();
        let exact_norm: f64 = values
            .iter()
            .map(|&x| f64::from(x).powi(2))
            .sum::<f64>()
            .sqrt();
        assert!(norm >= exact_norm && norm < exact_norm * 1.001);
        let exact_error: f64 = values
            .iter()
            .zip(codes)
            .map(|(&x, c)| (f64::from(x) - f64::from(scale) * f64::from(c)).powi(2))
            .sum::<f64>()
            .sqrt();
        assert!(error >= exact_error && error <= f64::from(scale) * 5f64.sqrt());
        assert!(sketched > 0.0);
        assert!(sketch_token(&[1.0, f32::NAN], &mut [0; 2]).is_none());
        assert!(sketch_token(&[1e30, 1e30], &mut [0; 2]).is_none());
    }
}
