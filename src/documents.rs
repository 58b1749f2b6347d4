//! What a query can be scored against: one abstraction over a whole [`Corpus`], a slice of
//! token matrices, and subsets of a corpus, so that every scoring entry point takes them all.

use crate::offsets::{to_usizes, Offset};
use crate::{Corpus, Error, Result, TokenMatrix, TokenMatrixBuf, Value};

mod sealed {
    use crate::{PreparedQuery, Result};

    /// What the scoring loops need of documents. Sealed, so that every document handed to a
    /// kernel has a dim that was checked against the query's.
    pub trait Source {
        /// Token rows of the document at `position` (`< len()`): its cost when balancing.
        fn rows(&self, position: usize) -> usize;
        /// Every document has this dim (else [`crate::Error::DimMismatch`]).
        fn check_dim(&self, dim: usize) -> Result<()>;
        /// `query`'s score against the document at `position`; the dims were checked.
        fn score(&self, query: &PreparedQuery, position: usize) -> f32;
        /// `query`'s row maxima against the document at `position`, into `out` (one per query
        /// row); the dims were checked.
        fn row_maxima(&self, query: &PreparedQuery, position: usize, out: &mut [f32]);
        /// The exact top `k` (at least 1) found by pruning, if these documents can prune
        /// (an [`crate::Index`] with a sketch) and pruning pays; `None`: scan them all.
        fn pruned_top_k(
            &self,
            _query: &PreparedQuery,
            _k: usize,
        ) -> Option<(Vec<crate::Hit>, crate::TopKStats)> {
            None
        }
    }
}

/// The [`Source`] methods of documents stored row-major in `f32`, from their values.
macro_rules! row_major_source {
    () => {
        fn rows(&self, position: usize) -> usize {
            self.values(position).len() / self.value_dim()
        }

        fn score(&self, query: &crate::PreparedQuery, position: usize) -> f32 {
            query.score_unchecked(self.values(position))
        }

        fn row_maxima(&self, query: &crate::PreparedQuery, position: usize, out: &mut [f32]) {
            query.row_maxima_unchecked(self.values(position), out)
        }
    };
}

pub(crate) use sealed::Source;

/// Documents to score: a whole [`Corpus`], an [`crate::Index`], a slice (or `Vec`, or array)
/// of [`TokenMatrix`] (f32, f16 or bf16) or [`TokenMatrixBuf`], [`Candidates`] (chosen documents of a corpus, by index, without
/// copying them), or any of these with the caller's own ids ([`WithIds`]).
///
/// Every scoring call takes `&impl Documents`: [`crate::PreparedQuery::score_corpus`],
/// [`crate::PreparedQuery::score_corpus_into`], [`crate::PreparedQuery::top_k`],
/// [`crate::QueryBatch::score_corpus`], [`crate::QueryBatch::top_k`] and the [`crate::Scorer`]
/// methods. Scores come back in position order; top-k hits carry each document's
/// [`Documents::id`].
///
/// ```
/// use maxsim::{Candidates, Corpus, Documents, PreparedQuery, TokenMatrix};
///
/// let tokens: Vec<f32> = (0..10 * 2).map(|i| (i % 5) as f32).collect();
/// let corpus = Corpus::from_lengths(&tokens[..], 2, &[3u32, 3, 4])?;
/// let query = PreparedQuery::new(TokenMatrix::new(&[1.0, 0.0], 2)?)?;
///
/// // A first-stage retriever proposed documents 2 and 0: scored in place, in that order.
/// let candidates = Candidates::new(&corpus, &[2i64, 0])?;
/// let scores = query.score_corpus(&candidates)?;
/// assert_eq!(scores, [query.score(corpus.get(2).unwrap())?, query.score(corpus.get(0).unwrap())?]);
/// // Top-k reports the corpus's indices, not positions in the candidate list.
/// let best = query.top_k(&candidates, 1)?;
/// assert!(best[0].index == 2 || best[0].index == 0);
/// assert_eq!((candidates.len(), candidates.id(0)), (2, 2));
///
/// // Token matrices of any origin work the same way.
/// let docs = [TokenMatrix::new(&tokens[..4], 2)?, TokenMatrix::new(&tokens[4..], 2)?];
/// assert_eq!(query.score_corpus(&docs[..])?.len(), 2);
/// # Ok::<(), maxsim::Error>(())
/// ```
pub trait Documents: Source + Sync {
    /// Number of documents.
    fn len(&self) -> usize;

    /// Whether there are none.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The id top-k reports for the document at `position`: the position itself, the corpus
    /// index for [`Candidates`], the caller's id for [`WithIds`]. Ties in top-k go to the
    /// lower id.
    fn id(&self, position: usize) -> usize {
        position
    }
}

impl Corpus<'_> {
    fn values(&self, position: usize) -> &[f32] {
        self.document_slice(position)
    }

    fn value_dim(&self) -> usize {
        self.dim()
    }
}

impl Source for Corpus<'_> {
    row_major_source!();

    fn check_dim(&self, dim: usize) -> Result<()> {
        check_dims(dim, self.dim())
    }
}

impl Documents for Corpus<'_> {
    fn len(&self) -> usize {
        Corpus::len(self)
    }
}

/// A token matrix, borrowed or owned, of any [`Value`] type: what slices of documents hold.
pub trait AsTokenMatrix: Sync {
    /// The element type.
    type Value: Value;
    /// The borrowed view.
    fn as_token_matrix(&self) -> TokenMatrix<'_, Self::Value>;
}

impl<T: Value> AsTokenMatrix for TokenMatrix<'_, T> {
    type Value = T;
    fn as_token_matrix(&self) -> TokenMatrix<'_, T> {
        *self
    }
}

impl AsTokenMatrix for TokenMatrixBuf {
    type Value = f32;
    fn as_token_matrix(&self) -> TokenMatrix<'_> {
        self.as_matrix()
    }
}

/// `[M]`, `Vec<M>` and `[M; N]` for token matrices `M`, borrowed or owned.
macro_rules! matrix_documents {
    ($([$($param:tt)*] $container:ty;)*) => {$(
        impl<M: AsTokenMatrix, $($param)*> Source for $container {
            fn rows(&self, position: usize) -> usize {
                self[position].as_token_matrix().rows()
            }

            fn score(&self, query: &crate::PreparedQuery, position: usize) -> f32 {
                query.score_values(self[position].as_token_matrix().as_slice())
            }

            fn row_maxima(&self, query: &crate::PreparedQuery, position: usize, out: &mut [f32]) {
                query.row_maxima_values(self[position].as_token_matrix().as_slice(), out)
            }

            fn check_dim(&self, dim: usize) -> Result<()> {
                self.iter()
                    .try_for_each(|doc| check_dims(dim, doc.as_token_matrix().dim()))
            }
        }

        impl<M: AsTokenMatrix, $($param)*> Documents for $container {
            fn len(&self) -> usize {
                self[..].len()
            }
        }
    )*};
}

matrix_documents! {
    [] [M];
    [] Vec<M>;
    [const N: usize] [M; N];
}

/// Chosen documents of a [`Corpus`] (or of any [`Documents`]: an [`crate::Index`], a slice
/// of matrices), by index, scored in place: no document is copied. A candidate list from a
/// first-stage retriever (PLAID, an ANN index, BM25) is reranked with it. Positions follow the
/// list's order; [`Documents::id`] is the underlying documents' id of each (for a corpus, its
/// index), so top-k reports corpus indices. An index may appear more than once.
#[derive(Debug)]
pub struct Candidates<'c, D: ?Sized = Corpus<'c>> {
    documents: &'c D,
    indices: Vec<usize>,
}

impl<D: ?Sized> Clone for Candidates<'_, D> {
    fn clone(&self) -> Self {
        Candidates {
            documents: self.documents,
            indices: self.indices.clone(),
        }
    }
}

impl<'c, D: Documents + ?Sized> Candidates<'c, D> {
    /// The documents `indices` of `documents`, in that order. Indices may be any [`Offset`]
    /// type (`usize`, `u32`, `u64`, `i32`, `i64`); only the indices are copied.
    ///
    /// # Errors
    ///
    /// [`Error::CorpusLayout`] naming the first index that is negative or not below
    /// `documents.len()`.
    pub fn new<I: Offset>(documents: &'c D, indices: &[I]) -> Result<Self> {
        let indices = to_usizes(indices, "candidate")?;
        if let Some((i, &index)) = indices
            .iter()
            .enumerate()
            .find(|(_, &index)| index >= documents.len())
        {
            return Err(Error::CorpusLayout {
                message: format!(
                    "candidate {i} is document {index}, but there are {} documents",
                    documents.len()
                ),
            });
        }
        Ok(Candidates { documents, indices })
    }

    /// The documents the candidates come from.
    #[must_use]
    pub fn documents(&self) -> &'c D {
        self.documents
    }

    /// The candidates' indices into [`Candidates::documents`], in order.
    #[must_use]
    pub fn indices(&self) -> &[usize] {
        &self.indices
    }
}

impl<D: Documents + ?Sized> Source for Candidates<'_, D> {
    fn rows(&self, position: usize) -> usize {
        self.documents.rows(self.indices[position])
    }

    fn check_dim(&self, dim: usize) -> Result<()> {
        self.documents.check_dim(dim)
    }

    fn score(&self, query: &crate::PreparedQuery, position: usize) -> f32 {
        self.documents.score(query, self.indices[position])
    }

    fn row_maxima(&self, query: &crate::PreparedQuery, position: usize, out: &mut [f32]) {
        self.documents
            .row_maxima(query, self.indices[position], out)
    }
}

impl<D: Documents + ?Sized> Documents for Candidates<'_, D> {
    fn len(&self) -> usize {
        self.indices.len()
    }

    fn id(&self, position: usize) -> usize {
        self.documents.id(self.indices[position])
    }
}

/// Documents with the caller's own ids: top-k reports `ids[position]` (a database key, say)
/// instead of the position, and breaks ties by the lower id.
///
/// ```
/// use maxsim::{PreparedQuery, TokenMatrix, WithIds};
///
/// let (a, b) = ([1.0f32, 0.0], [0.0f32, 1.0]);
/// let docs = [TokenMatrix::new(&a, 2)?, TokenMatrix::new(&b, 2)?];
/// let query = PreparedQuery::new(TokenMatrix::new(&[0.0, 2.0], 2)?)?;
/// let keyed = WithIds::new(&docs[..], &[9001, 42])?;
/// let best = query.top_k(&keyed, 1)?;
/// assert_eq!((best[0].index, best[0].score), (42, 2.0));
/// # Ok::<(), maxsim::Error>(())
/// ```
#[derive(Debug)]
pub struct WithIds<'i, D: ?Sized> {
    documents: &'i D,
    ids: Vec<usize>,
}

impl<D: ?Sized> Clone for WithIds<'_, D> {
    fn clone(&self) -> Self {
        WithIds {
            documents: self.documents,
            ids: self.ids.clone(),
        }
    }
}

impl<'i, D: Documents + ?Sized> WithIds<'i, D> {
    /// `documents`, with `ids[position]` as the id of each (any [`Offset`] type).
    ///
    /// # Errors
    ///
    /// [`Error::CorpusLayout`] if there is not one id per document, or an id is negative.
    pub fn new<I: Offset>(documents: &'i D, ids: &[I]) -> Result<Self> {
        if ids.len() != documents.len() {
            return Err(Error::CorpusLayout {
                message: format!("{} ids for {} documents", ids.len(), documents.len()),
            });
        }
        Ok(WithIds {
            documents,
            ids: to_usizes(ids, "id")?,
        })
    }
}

impl<D: Documents + ?Sized> Source for WithIds<'_, D> {
    fn rows(&self, position: usize) -> usize {
        self.documents.rows(position)
    }

    fn score(&self, query: &crate::PreparedQuery, position: usize) -> f32 {
        self.documents.score(query, position)
    }

    fn row_maxima(&self, query: &crate::PreparedQuery, position: usize, out: &mut [f32]) {
        self.documents.row_maxima(query, position, out)
    }

    fn check_dim(&self, dim: usize) -> Result<()> {
        self.documents.check_dim(dim)
    }
}

impl<D: Documents + ?Sized> Documents for WithIds<'_, D> {
    fn len(&self) -> usize {
        self.ids.len()
    }

    fn id(&self, position: usize) -> usize {
        self.ids[position]
    }
}

pub(crate) fn check_dims(query_dim: usize, doc_dim: usize) -> Result<()> {
    if query_dim == doc_dim {
        Ok(())
    } else {
        Err(Error::DimMismatch { query_dim, doc_dim })
    }
}
