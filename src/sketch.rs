//! An index's sketch: every stored token as int8 codes with one scale, plus what the pruning
//! bounds need per document (see [`crate::prune`]).

use maxsim_kernels::sketch as sk;

use crate::prune::{f32_up, sketch_token, DocumentBound};
use crate::scorer::{for_each, grouped_for_threads};
use crate::{Error, Result};

/// Whether an index carries a sketch for pruned top-k.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Sketch {
    /// Int8 codes with one f32 scale per token (`dim + 4` bytes a token) and two bounds per
    /// document: top-k on the index screens with them and scores exactly only the documents
    /// that can be among the best (the default).
    #[default]
    Int8,
    /// No sketch: top-k scores every document.
    Off,
}

/// The sketch of every document of an index.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct IndexSketch {
    /// Each document's packed codes ([`sk::pack_sketch`]), one after the other.
    pub(crate) codes: Vec<i8>,
    /// Where each document's codes start (one more than documents).
    code_starts: Vec<usize>,
    /// Each token's scale, document after document.
    pub(crate) scales: Vec<f32>,
    /// Where each document's scales start (one more than documents).
    row_starts: Vec<usize>,
    /// The bound's terms of each document.
    pub(crate) bounds: Vec<DocumentBound>,
}

/// Where each document's packed codes start, for documents of `rows` tokens of `dim` (one more
/// than documents); `None` on overflow.
pub(crate) fn code_starts(rows: &[usize], dim: usize) -> Option<Vec<usize>> {
    let mut starts = Vec::with_capacity(rows.len() + 1);
    let mut at = 0usize;
    starts.push(at);
    for &doc_rows in rows {
        at = at.checked_add(sk::sketch_len(doc_rows, dim)?)?;
        starts.push(at);
    }
    Some(starts)
}

fn row_starts(rows: &[usize]) -> Vec<usize> {
    let mut starts = Vec::with_capacity(rows.len() + 1);
    starts.push(0);
    let mut at = 0;
    for &doc_rows in rows {
        at += doc_rows;
        starts.push(at);
    }
    starts
}

impl IndexSketch {
    /// Sketches documents of `rows[i]` tokens of `dim`, given by `document(i, out)` writing
    /// document `i`'s stored values, widened to f32, row-major into `out` (in parallel).
    pub(crate) fn build(
        rows: &[usize],
        dim: usize,
        document: impl Fn(usize, &mut [f32]) + Sync,
    ) -> Result<IndexSketch> {
        let too_large = || Error::TooLarge {
            rows: rows.iter().sum(),
            dim,
        };
        let code_starts = code_starts(rows, dim).ok_or_else(too_large)?;
        let row_starts = row_starts(rows);
        let mut codes = Vec::new();
        codes
            .try_reserve_exact(*code_starts.last().unwrap_or(&0))
            .map_err(|_| too_large())?;
        codes.resize(*code_starts.last().unwrap_or(&0), 0i8);
        let mut scales = vec![0.0f32; *row_starts.last().unwrap_or(&0)];
        let mut bounds = vec![DocumentBound::UNBOUNDED; rows.len()];
        if dim <= sk::MAX_SKETCH_DIM {
            let mut pieces = Vec::with_capacity(rows.len());
            let (mut code_rest, mut scale_rest) = (&mut codes[..], &mut scales[..]);
            for ((doc, bound), &doc_rows) in bounds.iter_mut().enumerate().zip(rows) {
                let (codes, rest) = std::mem::take(&mut code_rest)
                    .split_at_mut(code_starts[doc + 1] - code_starts[doc]);
                code_rest = rest;
                let (scales, rest) = std::mem::take(&mut scale_rest).split_at_mut(doc_rows);
                scale_rest = rest;
                pieces.push((doc, codes, scales, bound));
            }
            let tasks = grouped_for_threads(pieces);
            let gamma = crate::prune::dot_rounding(dim);
            for_each(tasks, |task| {
                let (mut values, mut row_codes) = (Vec::new(), Vec::new());
                for (doc, codes, scales, bound) in task {
                    let doc_rows = scales.len();
                    values.resize(doc_rows * dim, 0.0);
                    row_codes.resize(doc_rows * dim, 0i8);
                    document(doc, &mut values);
                    *bound = sketch_document(&values, dim, gamma, &mut row_codes, scales);
                    sk::pack_sketch(&row_codes, dim, codes);
                }
            });
        }
        Ok(IndexSketch {
            codes,
            code_starts,
            scales,
            row_starts,
            bounds,
        })
    }

    /// Document `doc`'s packed codes, its scales and its bound's terms.
    pub(crate) fn document(&self, doc: usize) -> (&[i8], &[f32], DocumentBound) {
        (
            &self.codes[self.code_starts[doc]..self.code_starts[doc + 1]],
            &self.scales[self.row_starts[doc]..self.row_starts[doc + 1]],
            self.bounds[doc],
        )
    }

    /// Bytes the sketch occupies in memory.
    pub(crate) fn bytes(&self) -> usize {
        self.codes.len() + 4 * self.scales.len() + 8 * self.bounds.len()
    }

    /// Reassembles a sketch from its parts as read from a file, checking each against the
    /// documents' shape; `Err(message)` if they do not fit or hold values no build writes.
    pub(crate) fn from_parts(
        rows: &[usize],
        dim: usize,
        codes: Vec<i8>,
        scales: Vec<f32>,
        bounds: Vec<DocumentBound>,
    ) -> std::result::Result<IndexSketch, String> {
        let code_starts =
            code_starts(rows, dim).ok_or("the sketch's size overflows the address space")?;
        let row_starts = row_starts(rows);
        if codes.len() != *code_starts.last().unwrap_or(&0) {
            return Err(format!(
                "{} sketch codes; the documents need {}",
                codes.len(),
                code_starts.last().unwrap_or(&0)
            ));
        }
        if scales.len() != *row_starts.last().unwrap_or(&0) || bounds.len() != rows.len() {
            return Err("the sketch's scales or bounds do not match the documents".into());
        }
        if let Some(scale) = scales.iter().find(|s| !(s.is_finite() && **s >= 0.0)) {
            return Err(format!("a sketch scale is {scale}"));
        }
        let valid = |x: f32| x >= 0.0; // +inf marks a document that cannot be bounded
        if let Some(bound) = bounds
            .iter()
            .find(|b| !(valid(b.error) && valid(b.sketched)))
        {
            return Err(format!("a sketch bound is {bound:?}"));
        }
        Ok(IndexSketch {
            codes,
            code_starts,
            scales,
            row_starts,
            bounds,
        })
    }
}

/// Sketches one document's tokens (`values`, row-major) into `codes` (row-major) and `scales`,
/// returning its bound's terms ([`DocumentBound::UNBOUNDED`] if any token cannot be bounded).
fn sketch_document(
    values: &[f32],
    dim: usize,
    gamma: f64,
    codes: &mut [i8],
    scales: &mut [f32],
) -> DocumentBound {
    let (mut error, mut sketched) = (0.0f64, 0.0f64);
    let mut bounded = true;
    for ((token, codes), scale) in values
        .chunks_exact(dim)
        .zip(codes.chunks_exact_mut(dim))
        .zip(scales.iter_mut())
    {
        match sketch_token(token, codes) {
            Some((token_scale, token_error, token_sketched, norm)) => {
                *scale = token_scale;
                error = error.max(token_error + gamma * norm);
                sketched = sketched.max(token_sketched);
            }
            None => {
                *scale = 0.0;
                codes.fill(0);
                bounded = false;
            }
        }
    }
    if bounded {
        DocumentBound {
            error: f32_up(error * (1.0 + 4.0 * f64::EPSILON)),
            sketched: f32_up(sketched),
        }
    } else {
        DocumentBound::UNBOUNDED
    }
}
