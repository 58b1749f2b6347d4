//! Scoring many documents: all cores, balanced by token count; fused top-k; query batches.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::ops::Range;

use crate::prune::TopKStats;
use crate::scorer::{current_threads, for_each, map_reduce};
use crate::{Corpus, Documents, Error, Isa, PreparedQuery, Result, TokenMatrix};

/// Work units per thread: enough to even out documents of different lengths.
const CHUNKS_PER_THREAD: usize = 8;
/// A document's cost in rows: its token rows plus the fixed cost of a call.
const CALL_COST_IN_ROWS: usize = 4;

impl PreparedQuery {
    /// Scores every document of `documents` ([`Documents`]: a corpus, token matrices,
    /// candidates) into `out`, one per document in position order, on the current rayon pool
    /// (all cores by default; [`crate::Scorer`] chooses a thread count). Work is split by
    /// token count, not document count. The results are bit-identical to scoring each document
    /// alone, whatever the number of threads.
    ///
    /// # Errors
    ///
    /// [`Error::DimMismatch`]; [`Error::OutputLength`] if `out.len() != documents.len()`.
    pub fn score_corpus_into<D: Documents + ?Sized>(
        &self,
        documents: &D,
        out: &mut [f32],
    ) -> Result<()> {
        documents.check_dim(self.dim())?;
        if out.len() != documents.len() {
            return Err(Error::OutputLength {
                expected: documents.len(),
                actual: out.len(),
            });
        }
        let chunks = balanced_chunks(documents);
        for_each(split_by_chunks(out, &chunks, 1), |(positions, out)| {
            for (score, position) in out.iter_mut().zip(positions) {
                *score = documents.score(self, position);
            }
        });
        Ok(())
    }

    /// [`PreparedQuery::score_corpus_into`], returning a new vector.
    ///
    /// # Errors
    ///
    /// [`Error::DimMismatch`].
    pub fn score_corpus<D: Documents + ?Sized>(&self, documents: &D) -> Result<Vec<f32>> {
        let mut out = vec![0.0; documents.len()];
        self.score_corpus_into(documents, &mut out)?;
        Ok(out)
    }

    /// The `k` best documents, best first: higher scores first, NaN scores after all others,
    /// equal scores by increasing [`Documents::id`] (the corpus index, unless the caller gave
    /// ids). Deterministic and bit-identical to sorting [`PreparedQuery::score_corpus`]; each
    /// thread keeps only its own `k` best, so no score vector is materialised. `k` larger
    /// than the number of documents returns them all.
    ///
    /// # Errors
    ///
    /// [`Error::DimMismatch`].
    pub fn top_k<D: Documents + ?Sized>(&self, documents: &D, k: usize) -> Result<Vec<Hit>> {
        Ok(self.top_k_with(documents, k, Pruning::Auto)?.hits)
    }

    /// [`PreparedQuery::top_k`], choosing whether to prune, and reporting what was done.
    ///
    /// With [`Pruning::Auto`] (what `top_k` does), top-k over an [`crate::Index`] with a sketch
    /// screens every document with its int8 codes, which bounds its exact score in an interval
    /// (proven; see the README), and scores exactly only the documents whose upper bound
    /// reaches the k-th best lower bound, best upper bound first, until none left can enter:
    /// the hits are the full scan's, bit for bit, ties and NaN included. Where bounds cannot
    /// prune (scores all within the bounds' width, as with random unit vectors), a sample
    /// screened first detects it and the full scan runs instead. [`Pruning::Off`] always scans
    /// in full. Other documents are always scanned in full.
    ///
    /// ```
    /// use maxsim::{Corpus, Index, Pruning, PreparedQuery, Storage, TokenMatrix};
    /// use maxsim::synthetic::Synthetic;
    ///
    /// let mut data = Synthetic::new(32, 1);
    /// let docs = data.corpus(400, 20);
    /// let corpus = Corpus::from_padded(&docs[..], (400, 20, 32))?;
    /// let index = Index::from_corpus(&corpus, Storage::Bf16)?; // with the sketch
    /// let query = data.query_for(&docs[7 * 20 * 32..8 * 20 * 32], 8);
    /// let query = PreparedQuery::new(TokenMatrix::new(&query, 32)?)?;
    ///
    /// let pruned = query.top_k_with(&index, 5, Pruning::Auto)?;
    /// let full = query.top_k_with(&index, 5, Pruning::Off)?;
    /// assert_eq!(pruned.hits, full.hits); // always
    /// assert!(pruned.stats.rescored <= full.stats.rescored);
    /// # Ok::<(), maxsim::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::DimMismatch`].
    pub fn top_k_with<D: Documents + ?Sized>(
        &self,
        documents: &D,
        k: usize,
        pruning: Pruning,
    ) -> Result<TopK> {
        documents.check_dim(self.dim())?;
        let n = documents.len();
        if k == 0 {
            let stats = TopKStats {
                documents: n,
                ..TopKStats::default()
            };
            return Ok(TopK {
                hits: Vec::new(),
                stats,
            });
        }
        if pruning == Pruning::Auto {
            if let Some((hits, stats)) = documents.pruned_top_k(self, k) {
                return Ok(TopK { hits, stats });
            }
        }
        let best = map_reduce(
            balanced_chunks(documents),
            |positions| {
                let mut best = BestK::new(k);
                for position in positions {
                    let score = documents.score(self, position);
                    best.offer(Hit {
                        index: documents.id(position),
                        score,
                    });
                }
                best
            },
            || BestK::new(k),
            BestK::merge,
        );
        let stats = TopKStats {
            documents: n,
            screened: 0,
            rescored: n,
            pruned: false,
        };
        Ok(TopK {
            hits: best.into_sorted(),
            stats,
        })
    }
}

/// Whether top-k may prune ([`PreparedQuery::top_k_with`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Pruning {
    /// Prune where the documents allow it (an [`crate::Index`] with a sketch) and it pays.
    #[default]
    Auto,
    /// Score every document.
    Off,
}

/// Top-k hits and what the search did to find them.
#[derive(Clone, Debug, PartialEq)]
#[must_use]
pub struct TopK {
    /// The best documents, best first (as [`PreparedQuery::top_k`] returns them).
    pub hits: Vec<Hit>,
    /// How many documents were screened and scored exactly.
    pub stats: TopKStats,
}

/// A document's id and its score: one result of top-k.
#[derive(Clone, Copy, Debug, PartialEq)]
#[must_use]
pub struct Hit {
    /// The document's [`Documents::id`]: its index in the corpus (or in the documents
    /// scored), or the caller's id where the documents were given ids ([`crate::WithIds`]).
    pub index: usize,
    /// Its MaxSim score.
    pub score: f32,
}

impl Hit {
    /// The ranking order: `Less` means `self` ranks first (higher score, NaN last, then
    /// lower index).
    #[must_use]
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
#[derive(Clone)]
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
#[derive(Clone)]
pub(crate) struct BestK {
    k: usize,
    heap: BinaryHeap<ByRank>,
}

impl BestK {
    pub(crate) fn new(k: usize) -> Self {
        BestK {
            k,
            heap: BinaryHeap::with_capacity(k.min(1024) + 1),
        }
    }

    /// Whether `k` hits are held.
    pub(crate) fn is_full(&self) -> bool {
        self.heap.len() >= self.k
    }

    /// The worst hit held.
    pub(crate) fn worst(&self) -> Option<Hit> {
        self.heap.peek().map(|worst| worst.0)
    }

    pub(crate) fn offer(&mut self, hit: Hit) {
        if self.heap.len() < self.k {
            self.heap.push(ByRank(hit));
        } else if let Some(mut worst) = self.heap.peek_mut() {
            if hit.rank_cmp(&worst.0) == Ordering::Less {
                *worst = ByRank(hit);
            }
        }
    }

    pub(crate) fn merge(mut self, other: BestK) -> BestK {
        for hit in other.heap {
            self.offer(hit.0);
        }
        self
    }

    pub(crate) fn into_sorted(self) -> Vec<Hit> {
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
///
/// ```
/// use maxsim::{Corpus, PreparedQuery, QueryBatch, TokenMatrix};
///
/// let tokens: Vec<f32> = (0..40 * 4).map(|i| ((i * 5) % 9) as f32 - 4.0).collect();
/// let corpus = Corpus::from_lengths(&tokens[..], 4, &[10i32, 30])?;
/// let (a, b) = (TokenMatrix::new(&tokens[..8], 4)?, TokenMatrix::new(&tokens[8..20], 4)?);
/// let batch = QueryBatch::new(&[a, b])?;
/// let scores = batch.score_corpus(&corpus)?; // 2 queries x 2 documents, query-major
/// assert_eq!(scores[2..], PreparedQuery::new(b)?.score_corpus(&corpus)?[..]);
/// let best = batch.top_k(&corpus, 1)?; // each query's best document
/// assert_eq!(best[1][0].score, scores[2].max(scores[3]));
/// # Ok::<(), maxsim::Error>(())
/// ```
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
    #[must_use]
    pub fn len(&self) -> usize {
        self.queries.len()
    }

    /// Whether the batch has no queries.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.queries.is_empty()
    }

    /// Token dimension of the queries.
    #[must_use]
    pub fn dim(&self) -> usize {
        self.all_rows.dim()
    }

    /// The ISA whose kernel scores the batch.
    #[must_use]
    pub fn isa(&self) -> Isa {
        self.all_rows.isa()
    }

    /// Scores every query against every document: a `queries x documents` row-major matrix
    /// (`out[q * documents.len() + d]`), on the current rayon pool, balanced by token count.
    ///
    /// # Errors
    ///
    /// [`Error::DimMismatch`] if a document's dim differs from the queries'.
    pub fn score_corpus<D: Documents + ?Sized>(&self, documents: &D) -> Result<Vec<f32>> {
        let queries = self.queries.len();
        if queries == 0 {
            return Ok(Vec::new());
        }
        documents.check_dim(self.dim())?;
        // Documents-major while scoring, so each chunk writes one contiguous piece.
        let mut by_document = vec![0.0f32; documents.len() * queries];
        let chunks = balanced_chunks(documents);
        for_each(
            split_by_chunks(&mut by_document, &chunks, queries),
            |(positions, out)| {
                let mut maxima = vec![0.0f32; self.all_rows.rows()];
                for (scores, position) in out.chunks_exact_mut(queries).zip(positions) {
                    documents.row_maxima(&self.all_rows, position, &mut maxima);
                    for (score, rows) in scores.iter_mut().zip(&self.queries) {
                        *score = query_score(&maxima[rows.clone()]);
                    }
                }
            },
        );
        let docs = documents.len();
        let mut out = vec![0.0f32; docs * queries];
        for (doc, scores) in by_document.chunks_exact(queries).enumerate() {
            for (query, &score) in scores.iter().enumerate() {
                out[query * docs + doc] = score;
            }
        }
        Ok(out)
    }

    /// Each query's `k` best documents (one list per query, in batch order), ranked as
    /// [`PreparedQuery::top_k`] ranks them, in one pass over the documents.
    ///
    /// # Errors
    ///
    /// [`Error::DimMismatch`] if a document's dim differs from the queries'.
    pub fn top_k<D: Documents + ?Sized>(&self, documents: &D, k: usize) -> Result<Vec<Vec<Hit>>> {
        let queries = self.queries.len();
        if queries == 0 {
            return Ok(Vec::new());
        }
        documents.check_dim(self.dim())?;
        if k == 0 {
            return Ok(vec![Vec::new(); queries]);
        }
        // Documents that prune (an index with a sketch) serve each query on its own, pruned:
        // the same hits as the batch's single pass.
        let dim = self.dim();
        let single = |rows: &Range<usize>| -> Result<PreparedQuery> {
            let values = &self.all_rows.row_major()[rows.start * dim..rows.end * dim];
            PreparedQuery::with_isa(TokenMatrix::new(values, dim)?, self.isa())
        };
        let first = single(&self.queries[0])?;
        if let Some((hits, _)) = documents.pruned_top_k(&first, k) {
            let mut all = vec![hits];
            for rows in &self.queries[1..] {
                all.push(single(rows)?.top_k(documents, k)?);
            }
            return Ok(all);
        }
        let best = map_reduce(
            balanced_chunks(documents),
            |positions| {
                let mut maxima = vec![0.0f32; self.all_rows.rows()];
                let mut best = vec![BestK::new(k); queries];
                for position in positions {
                    documents.row_maxima(&self.all_rows, position, &mut maxima);
                    for (best, rows) in best.iter_mut().zip(&self.queries) {
                        best.offer(Hit {
                            index: documents.id(position),
                            score: query_score(&maxima[rows.clone()]),
                        });
                    }
                }
                best
            },
            || vec![BestK::new(k); queries],
            |left, right| {
                left.into_iter()
                    .zip(right)
                    .map(|(l, r)| l.merge(r))
                    .collect()
            },
        );
        Ok(best.into_iter().map(BestK::into_sorted).collect())
    }
}

/// One query's score from its rows' maxima: summed in row order from `+0.0`, NaN canonical.
fn query_score(maxima: &[f32]) -> f32 {
    maxsim_kernels::canonical_nan(maxsim_kernels::sum_in_order(0.0, maxima))
}

/// Consecutive document ranges of about equal cost (token rows plus a per-call cost), several
/// per thread of the current pool.
fn balanced_chunks<D: Documents + ?Sized>(documents: &D) -> Vec<Range<usize>> {
    let cost = |position: usize| documents.rows(position) + CALL_COST_IN_ROWS;
    let total: usize = (0..documents.len()).map(cost).sum();
    let pieces = current_threads() * CHUNKS_PER_THREAD;
    let target = total.div_ceil(pieces).max(1);
    let mut chunks = Vec::with_capacity(pieces + 1);
    let (mut start, mut load) = (0, 0);
    for position in 0..documents.len() {
        load += cost(position);
        if load >= target {
            chunks.push(start..position + 1);
            (start, load) = (position + 1, 0);
        }
    }
    if start < documents.len() {
        chunks.push(start..documents.len());
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
