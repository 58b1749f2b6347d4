//! Scoring whole corpora: all cores, balanced by token count; fused top-k; query batches.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::ops::Range;

use rayon::prelude::*;

use crate::{Corpus, Error, Isa, PreparedQuery, Result, TokenMatrix};

/// Work units per thread: enough to even out documents of different lengths.
const CHUNKS_PER_THREAD: usize = 8;
/// A document's cost in rows: its token rows plus the fixed cost of a call.
const CALL_COST_IN_ROWS: usize = 4;

impl PreparedQuery {
    /// Scores every document of `corpus` into `out` (one per document), on the current rayon
    /// thread pool (all cores by default; run inside `ThreadPool::install` to choose).
    /// Work is split by token count, not document count. The results are bit-identical to
    /// scoring each document alone, whatever the number of threads.
    ///
    /// # Errors
    ///
    /// [`Error::DimMismatch`]; [`Error::OutputLength`] if `out.len() != corpus.len()`.
    pub fn score_corpus_into(&self, corpus: &Corpus<'_>, out: &mut [f32]) -> Result<()> {
        self.check_dim_of(corpus.dim())?;
        if out.len() != corpus.len() {
            return Err(Error::OutputLength {
                expected: corpus.len(),
                actual: out.len(),
            });
        }
        let chunks = balanced_chunks(corpus);
        split_by_chunks(out, &chunks, 1)
            .into_par_iter()
            .for_each(|(docs, out)| {
                for (score, doc) in out.iter_mut().zip(docs) {
                    *score = self.score_unchecked(corpus.document_slice(doc));
                }
            });
        Ok(())
    }

    /// [`PreparedQuery::score_corpus_into`], returning a new vector.
    ///
    /// # Errors
    ///
    /// [`Error::DimMismatch`].
    pub fn score_corpus(&self, corpus: &Corpus<'_>) -> Result<Vec<f32>> {
        let mut out = vec![0.0; corpus.len()];
        self.score_corpus_into(corpus, &mut out)?;
        Ok(out)
    }

    /// The `k` best documents, best first: higher scores first, NaN scores after all others,
    /// equal scores in increasing document index. Deterministic and bit-identical to sorting
    /// [`PreparedQuery::score_corpus`]; each thread keeps only its own `k` best, so no score
    /// vector is materialised.
    ///
    /// # Errors
    ///
    /// [`Error::DimMismatch`].
    pub fn top_k(&self, corpus: &Corpus<'_>, k: usize) -> Result<Vec<Hit>> {
        self.check_dim_of(corpus.dim())?;
        if k == 0 {
            return Ok(Vec::new());
        }
        let best = balanced_chunks(corpus)
            .into_par_iter()
            .map(|docs| {
                let mut best = BestK::new(k);
                for index in docs {
                    let score = self.score_unchecked(corpus.document_slice(index));
                    best.offer(Hit { index, score });
                }
                best
            })
            .reduce(|| BestK::new(k), BestK::merge);
        Ok(best.into_sorted())
    }
}

/// A document's index in its corpus and its score.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Hit {
    /// The document's index.
    pub index: usize,
    /// Its MaxSim score.
    pub score: f32,
}

impl Hit {
    /// The ranking order: `Less` means `self` ranks first.
    pub fn rank_cmp(&self, other: &Hit) -> Ordering {
        match (self.score.is_nan(), other.score.is_nan()) {
            (false, true) => Ordering::Less,
            (true, false) => Ordering::Greater,
            (true, true) => Ordering::Equal,
            (false, false) => other.score.total_cmp(&self.score),
        }
        .then(self.index.cmp(&other.index))
    }
}

/// A hit ordered so that the worst is the greatest: a max-heap pops the worst.
struct ByRank(Hit);

impl PartialEq for ByRank {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for ByRank {}

impl PartialOrd for ByRank {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ByRank {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.rank_cmp(&other.0)
    }
}

/// The best `k` hits seen so far.
struct BestK {
    k: usize,
    heap: BinaryHeap<ByRank>,
}

impl BestK {
    fn new(k: usize) -> Self {
        BestK {
            k,
            heap: BinaryHeap::with_capacity(k.min(1024) + 1),
        }
    }

    fn offer(&mut self, hit: Hit) {
        if self.heap.len() < self.k {
            self.heap.push(ByRank(hit));
        } else if let Some(mut worst) = self.heap.peek_mut() {
            if hit.rank_cmp(&worst.0) == Ordering::Less {
                *worst = ByRank(hit);
            }
        }
    }

    fn merge(mut self, other: BestK) -> BestK {
        for hit in other.heap {
            self.offer(hit.0);
        }
        self
    }

    fn into_sorted(self) -> Vec<Hit> {
        self.heap
            .into_sorted_vec()
            .into_iter()
            .map(|h| h.0)
            .collect()
    }
}

/// Several queries scored against a corpus in one pass over its memory.
///
/// The queries' rows are packed together into one set of lane blocks (so eight queries of ten
/// rows fill five AVX-512 registers instead of eight half-empty ones), each document is read
/// once for all of them, and each query's row maxima are summed in its own row order: every
/// score is bit-identical to [`PreparedQuery::score`] for that query alone.
#[derive(Clone, Debug)]
pub struct QueryBatch {
    all_rows: PreparedQuery,
    queries: Vec<Range<usize>>,
}

impl QueryBatch {
    /// Packs `queries` (all of one dim) for the dispatched ISA.
    ///
    /// # Errors
    ///
    /// [`Error::DimMismatch`] if the queries' dims differ; the errors of
    /// [`PreparedQuery::new`].
    pub fn new(queries: &[TokenMatrix<'_>]) -> Result<Self> {
        Self::with_isa(queries, crate::selected_isa()?)
    }

    /// [`QueryBatch::new`] for a named ISA.
    ///
    /// # Errors
    ///
    /// As [`QueryBatch::new`], and [`Error::UnsupportedIsa`].
    pub fn with_isa(queries: &[TokenMatrix<'_>], isa: Isa) -> Result<Self> {
        // The queries' rows, concatenated, with each query's row range: a corpus of queries.
        let dim = queries.first().map_or(1, |q| q.dim());
        let rows = Corpus::from_documents(queries.iter().copied(), dim)?;
        let all_rows = PreparedQuery::with_isa(TokenMatrix::new(rows.data(), dim)?, isa)?;
        Ok(QueryBatch {
            all_rows,
            queries: rows.spans().to_vec(),
        })
    }

    /// Number of queries.
    pub fn len(&self) -> usize {
        self.queries.len()
    }

    /// Whether the batch has no queries.
    pub fn is_empty(&self) -> bool {
        self.queries.is_empty()
    }

    /// Scores every query against every document: a `queries x documents` row-major matrix
    /// (`out[q * corpus.len() + d]`), on the current rayon pool, balanced by token count.
    ///
    /// # Errors
    ///
    /// [`Error::DimMismatch`] if the corpus's dim differs from the queries'.
    pub fn score_corpus(&self, corpus: &Corpus<'_>) -> Result<Vec<f32>> {
        let queries = self.queries.len();
        if queries == 0 {
            return Ok(Vec::new());
        }
        self.all_rows.check_dim_of(corpus.dim())?;
        // Documents-major while scoring, so each chunk writes one contiguous piece.
        let mut by_document = vec![0.0f32; corpus.len() * queries];
        let chunks = balanced_chunks(corpus);
        split_by_chunks(&mut by_document, &chunks, queries)
            .into_par_iter()
            .for_each(|(docs, out)| {
                let mut maxima = vec![0.0f32; self.all_rows.rows()];
                for (scores, doc) in out.chunks_exact_mut(queries).zip(docs) {
                    self.all_rows
                        .row_maxima_unchecked(corpus.document_slice(doc), &mut maxima);
                    for (score, rows) in scores.iter_mut().zip(&self.queries) {
                        let total = maxsim_kernels::sum_in_order(0.0, &maxima[rows.clone()]);
                        *score = maxsim_kernels::canonical_nan(total);
                    }
                }
            });
        let docs = corpus.len();
        let mut out = vec![0.0f32; docs * queries];
        for (doc, scores) in by_document.chunks_exact(queries).enumerate() {
            for (query, &score) in scores.iter().enumerate() {
                out[query * docs + doc] = score;
            }
        }
        Ok(out)
    }
}

/// Consecutive document ranges of about equal cost (token rows plus a per-call cost), several
/// per thread of the current pool.
fn balanced_chunks(corpus: &Corpus<'_>) -> Vec<Range<usize>> {
    let cost = |span: &Range<usize>| span.len() + CALL_COST_IN_ROWS;
    let total: usize = corpus.spans().iter().map(cost).sum();
    let pieces = rayon::current_num_threads() * CHUNKS_PER_THREAD;
    let target = total.div_ceil(pieces).max(1);
    let mut chunks = Vec::with_capacity(pieces + 1);
    let (mut start, mut load) = (0, 0);
    for (doc, span) in corpus.spans().iter().enumerate() {
        load += cost(span);
        if load >= target {
            chunks.push(start..doc + 1);
            (start, load) = (doc + 1, 0);
        }
    }
    if start < corpus.len() {
        chunks.push(start..corpus.len());
    }
    chunks
}

/// Splits `out` (`per_doc` values per document) into the pieces of `chunks`.
fn split_by_chunks<'o>(
    mut out: &'o mut [f32],
    chunks: &[Range<usize>],
    per_doc: usize,
) -> Vec<(Range<usize>, &'o mut [f32])> {
    chunks
        .iter()
        .map(|docs| {
            let (piece, rest) = std::mem::take(&mut out).split_at_mut(docs.len() * per_doc);
            out = rest;
            (docs.clone(), piece)
        })
        .collect()
}
