//! Threads: a reusable scorer with its own thread count, and the parallel loops behind every
//! corpus-wide call (sequential without the `parallel` feature).

use std::fmt;
#[cfg(feature = "parallel")]
use std::sync::Arc;

use crate::{Documents, Hit, PreparedQuery, QueryBatch, Result};

/// Runs scoring calls on a chosen number of threads, built once and reused: the way to pick a
/// thread count without knowing rayon. Cheap to clone (clones share the threads).
///
/// [`Scorer::new`] uses all cores (rayon's current pool: the global one, unless the call is
/// made inside another pool); [`Scorer::with_threads`] builds a pool of its own. Scores never
/// depend on the thread count: every call returns the bits of scoring each document alone.
/// Without the crate's `parallel` feature every call runs on the calling thread.
///
/// ```
/// use maxsim::{Corpus, PreparedQuery, Scorer, TokenMatrix};
///
/// let tokens: Vec<f32> = (0..64 * 8).map(|i| ((i * 7) % 11) as f32 - 5.0).collect();
/// let corpus = Corpus::from_lengths(&tokens[..], 8, &[20usize, 0, 44])?;
/// let query = PreparedQuery::new(TokenMatrix::new(&tokens[..3 * 8], 8)?)?;
///
/// let two = Scorer::with_threads(2)?; // build once, reuse for every query
/// let scores = two.score(&query, &corpus)?;
/// assert_eq!(scores, Scorer::with_threads(1)?.score(&query, &corpus)?);
/// assert_eq!(two.top_k(&query, &corpus, 1)?[0].score, scores[0].max(scores[2]));
/// # Ok::<(), maxsim::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct Scorer {
    #[cfg(feature = "parallel")]
    pool: Option<Arc<rayon::ThreadPool>>,
}

impl Scorer {
    /// A scorer on all cores: rayon's current pool.
    #[must_use]
    pub fn new() -> Self {
        Scorer::default()
    }

    /// A scorer on `threads` threads of its own (`0`: all cores). Without the `parallel`
    /// feature the count is ignored and every call runs on the calling thread.
    ///
    /// # Errors
    ///
    /// [`crate::Error::ThreadPool`] if the operating system refuses the threads.
    pub fn with_threads(threads: usize) -> Result<Self> {
        #[cfg(feature = "parallel")]
        {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .thread_name(|i| format!("maxsim-{i}"))
                .build()
                .map_err(|e| crate::Error::ThreadPool {
                    message: e.to_string(),
                })?;
            Ok(Scorer {
                pool: Some(Arc::new(pool)),
            })
        }
        #[cfg(not(feature = "parallel"))]
        {
            let _ = threads;
            Ok(Scorer {})
        }
    }

    /// The number of threads calls run on.
    #[must_use]
    pub fn threads(&self) -> usize {
        self.install(current_threads)
    }

    /// Runs `work` on this scorer's threads (any rayon work inside it too).
    pub fn install<R: Send>(&self, work: impl FnOnce() -> R + Send) -> R {
        #[cfg(feature = "parallel")]
        if let Some(pool) = &self.pool {
            return pool.install(work);
        }
        work()
    }

    /// [`PreparedQuery::score_corpus`] on this scorer's threads.
    ///
    /// # Errors
    ///
    /// As [`PreparedQuery::score_corpus`].
    pub fn score<D: Documents + ?Sized>(
        &self,
        query: &PreparedQuery,
        documents: &D,
    ) -> Result<Vec<f32>> {
        self.install(|| query.score_corpus(documents))
    }

    /// [`PreparedQuery::score_corpus_into`] on this scorer's threads.
    ///
    /// # Errors
    ///
    /// As [`PreparedQuery::score_corpus_into`].
    pub fn score_into<D: Documents + ?Sized>(
        &self,
        query: &PreparedQuery,
        documents: &D,
        out: &mut [f32],
    ) -> Result<()> {
        self.install(|| query.score_corpus_into(documents, out))
    }

    /// [`PreparedQuery::top_k`] on this scorer's threads.
    ///
    /// # Errors
    ///
    /// As [`PreparedQuery::top_k`].
    pub fn top_k<D: Documents + ?Sized>(
        &self,
        query: &PreparedQuery,
        documents: &D,
        k: usize,
    ) -> Result<Vec<Hit>> {
        self.install(|| query.top_k(documents, k))
    }

    /// [`QueryBatch::score_corpus`] on this scorer's threads.
    ///
    /// # Errors
    ///
    /// As [`QueryBatch::score_corpus`].
    pub fn score_batch<D: Documents + ?Sized>(
        &self,
        batch: &QueryBatch,
        documents: &D,
    ) -> Result<Vec<f32>> {
        self.install(|| batch.score_corpus(documents))
    }

    /// [`QueryBatch::top_k`] on this scorer's threads.
    ///
    /// # Errors
    ///
    /// As [`QueryBatch::top_k`].
    pub fn top_k_batch<D: Documents + ?Sized>(
        &self,
        batch: &QueryBatch,
        documents: &D,
        k: usize,
    ) -> Result<Vec<Vec<Hit>>> {
        self.install(|| batch.top_k(documents, k))
    }
}

impl fmt::Debug for Scorer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("Scorer");
        #[cfg(feature = "parallel")]
        debug.field("own_pool", &self.pool.is_some());
        debug.field("threads", &self.threads()).finish()
    }
}

/// Threads of the pool the caller runs in (1 without the `parallel` feature).
pub(crate) fn current_threads() -> usize {
    #[cfg(feature = "parallel")]
    return rayon::current_num_threads();
    #[cfg(not(feature = "parallel"))]
    return 1;
}

/// Runs `work` on every item, in parallel where the feature allows.
pub(crate) fn for_each<T: Send>(items: Vec<T>, work: impl Fn(T) + Sync + Send) {
    #[cfg(feature = "parallel")]
    {
        use rayon::prelude::*;
        items.into_par_iter().for_each(work);
    }
    #[cfg(not(feature = "parallel"))]
    items.into_iter().for_each(work);
}

/// Maps every item and folds the results with `reduce`, in parallel where the feature allows.
/// `reduce` must not depend on the order it combines results in.
pub(crate) fn map_reduce<T: Send, R: Send>(
    items: Vec<T>,
    map: impl Fn(T) -> R + Sync + Send,
    identity: impl Fn() -> R + Sync + Send,
    reduce: impl Fn(R, R) -> R + Sync + Send,
) -> R {
    #[cfg(feature = "parallel")]
    {
        use rayon::prelude::*;
        items.into_par_iter().map(map).reduce(identity, reduce)
    }
    #[cfg(not(feature = "parallel"))]
    items.into_iter().map(map).fold(identity(), reduce)
}

/// `pieces` grouped into tasks of consecutive pieces, several tasks per thread of the current
/// pool: for cheap, memory-bound work on many documents, where a task per document would cost
/// more in scheduling than it computes.
pub(crate) fn grouped_for_threads<T>(pieces: Vec<T>) -> Vec<Vec<T>> {
    let per_task = pieces.len().div_ceil(current_threads() * 8).max(1);
    let mut tasks = Vec::new();
    let mut pieces = pieces.into_iter().peekable();
    while pieces.peek().is_some() {
        tasks.push(pieces.by_ref().take(per_task).collect());
    }
    tasks
}
