//! A collection of documents in one contiguous buffer of token rows.

use std::borrow::Cow;
use std::ops::Range;

use crate::offsets::{to_usizes, Offset};
use crate::{Error, Result, TokenMatrix};

/// Documents stored as row ranges of one contiguous, row-major `f32` buffer: no allocation per
/// document, and the data can be borrowed (`Corpus<'a>`, zero-copy) or owned
/// (`Corpus<'static>`).
///
/// Build it from concatenated rows and lengths ([`Corpus::from_lengths`]), from offsets
/// ([`Corpus::from_offsets`]), from a padded `(num_docs, rows, dim)` block
/// ([`Corpus::from_padded`], or [`Corpus::from_padded_lengths`] whose padding rows are never
/// scored), from token matrices
/// ([`Corpus::from_documents`]), or from bytes ([`Corpus::from_bytes`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Corpus<'a> {
    data: Cow<'a, [f32]>,
    dim: usize,
    /// Each document's rows within `data`, in row units.
    spans: Vec<Range<usize>>,
}

impl<'a> Corpus<'a> {
    /// Consecutive documents of `lengths[i]` rows each, which must add up to all the rows.
    /// Lengths may be any [`Offset`] type (`usize`, `u32`, `u64`, `i32`, `i64`).
    ///
    /// # Errors
    ///
    /// [`Error::ZeroDim`], [`Error::RaggedData`], or [`Error::CorpusLayout`] if the lengths do
    /// not add up to the number of rows.
    pub fn from_lengths<L: Offset>(
        data: impl Into<Cow<'a, [f32]>>,
        dim: usize,
        lengths: &[L],
    ) -> Result<Self> {
        let data = data.into();
        let rows = whole_rows(&data, dim)?;
        let lengths = to_usizes(lengths, "length")?;
        let mut start = 0usize;
        let mut spans = Vec::with_capacity(lengths.len());
        for len in lengths {
            let end = start
                .checked_add(len)
                .filter(|&end| end <= rows)
                .ok_or_else(|| {
                    layout_error(format!(
                        "lengths add up to more than the {rows} rows of the data"
                    ))
                })?;
            spans.push(start..end);
            start = end;
        }
        if start != rows {
            return Err(layout_error(format!(
                "lengths add up to {start} but the data has {rows} rows"
            )));
        }
        Ok(Corpus { data, dim, spans })
    }

    /// Documents delimited by row offsets: document `i` is rows `offsets[i]..offsets[i + 1]`.
    /// `offsets` has one more entry than there are documents, starts at 0, never decreases
    /// and ends at the number of rows. Offsets may be any [`Offset`] type (`usize`, `u32`,
    /// `u64`, `i32`, `i64`), as Arrow's and Lance's list offsets are.
    ///
    /// # Errors
    ///
    /// [`Error::ZeroDim`], [`Error::RaggedData`], or [`Error::CorpusLayout`] naming the first
    /// offset that breaks those rules.
    pub fn from_offsets<O: Offset>(
        data: impl Into<Cow<'a, [f32]>>,
        dim: usize,
        offsets: &[O],
    ) -> Result<Self> {
        let data = data.into();
        let rows = whole_rows(&data, dim)?;
        let offsets = to_usizes(offsets, "offset")?;
        match (offsets.first(), offsets.last()) {
            (Some(0), Some(&last)) if last == rows => {}
            _ => {
                return Err(layout_error(format!(
                    "offsets must start at 0 and end at the {rows} rows of the data, got {} offsets from {:?} to {:?}",
                    offsets.len(),
                    offsets.first(),
                    offsets.last()
                )))
            }
        }
        let mut spans = Vec::with_capacity(offsets.len() - 1);
        for (i, pair) in offsets.windows(2).enumerate() {
            if pair[1] < pair[0] {
                return Err(layout_error(format!(
                    "offset {} is {} but offset {i} is {}: offsets must not decrease",
                    i + 1,
                    pair[1],
                    pair[0]
                )));
            }
            spans.push(pair[0]..pair[1]);
        }
        Ok(Corpus { data, dim, spans })
    }

    /// A padded block of shape `(num_docs, padded_rows, dim)` in which every row is a token:
    /// document `i` is rows `i * padded_rows .. (i + 1) * padded_rows`. For documents shorter
    /// than the block, give their lengths to [`Corpus::from_padded_lengths`].
    ///
    /// # Errors
    ///
    /// [`Error::ZeroDim`], or [`Error::CorpusLayout`] if the data does not have exactly that
    /// shape.
    pub fn from_padded(
        data: impl Into<Cow<'a, [f32]>>,
        (num_docs, padded_rows, dim): (usize, usize, usize),
    ) -> Result<Self> {
        Self::padded(data.into(), (num_docs, padded_rows, dim), None)
    }

    /// A padded block of shape `(num_docs, padded_rows, dim)`: document `i` is the first
    /// `lengths[i]` of its `padded_rows` rows. Padding is never scored (a zero padding row
    /// would win the maximum whenever every real similarity is negative). The shape is explicit
    /// so that documents of zero rows are still counted. Lengths may be any [`Offset`] type.
    ///
    /// # Errors
    ///
    /// [`Error::ZeroDim`], or [`Error::CorpusLayout`] if the data does not have exactly that
    /// shape, the lengths are not one per document, or one exceeds `padded_rows`.
    pub fn from_padded_lengths<L: Offset>(
        data: impl Into<Cow<'a, [f32]>>,
        (num_docs, padded_rows, dim): (usize, usize, usize),
        lengths: &[L],
    ) -> Result<Self> {
        let lengths = to_usizes(lengths, "length")?;
        Self::padded(data.into(), (num_docs, padded_rows, dim), Some(&lengths))
    }

    fn padded(
        data: Cow<'a, [f32]>,
        (num_docs, padded_rows, dim): (usize, usize, usize),
        lengths: Option<&[usize]>,
    ) -> Result<Self> {
        if dim == 0 {
            return Err(Error::ZeroDim);
        }
        let expected = num_docs
            .checked_mul(padded_rows)
            .and_then(|rows| rows.checked_mul(dim));
        if expected != Some(data.len()) {
            return Err(layout_error(format!(
                "{} floats is not a block of {num_docs} documents x {padded_rows} rows x dim {dim}",
                data.len()
            )));
        }
        if let Some(lengths) = lengths {
            if lengths.len() != num_docs {
                return Err(layout_error(format!(
                    "{} lengths for {num_docs} documents",
                    lengths.len()
                )));
            }
            if let Some((i, &len)) = lengths
                .iter()
                .enumerate()
                .find(|(_, &len)| len > padded_rows)
            {
                return Err(layout_error(format!(
                    "document {i} has length {len} but only {padded_rows} rows per document"
                )));
            }
        }
        // With empty rows the data does not bound `num_docs`: fail, rather than abort, when
        // one range per document does not fit in memory.
        let mut spans = Vec::new();
        spans
            .try_reserve_exact(num_docs)
            .map_err(|_| layout_error(format!("{num_docs} documents do not fit in memory")))?;
        spans.extend((0..num_docs).map(|i| {
            let len = lengths.map_or(padded_rows, |lengths| lengths[i]);
            i * padded_rows..i * padded_rows + len
        }));
        Ok(Corpus { data, dim, spans })
    }

    /// A zero-copy view of native-endian `f32` bytes, delimited by row `offsets` as in
    /// [`Corpus::from_offsets`].
    ///
    /// # Errors
    ///
    /// As [`TokenMatrix::from_bytes`] and [`Corpus::from_offsets`].
    pub fn from_bytes<O: Offset>(bytes: &'a [u8], dim: usize, offsets: &[O]) -> Result<Self> {
        let matrix = TokenMatrix::from_bytes(bytes, dim)?;
        Corpus::from_offsets(matrix.as_slice(), dim, offsets)
    }

    /// Copies token matrices of one dim into a new corpus.
    ///
    /// # Errors
    ///
    /// [`Error::ZeroDim`]; [`Error::DimMismatch`] if a document's dim differs from `dim`.
    pub fn from_documents<'d>(
        documents: impl IntoIterator<Item = TokenMatrix<'d>>,
        dim: usize,
    ) -> Result<Corpus<'static>> {
        if dim == 0 {
            return Err(Error::ZeroDim);
        }
        let mut data = Vec::new();
        let mut spans = Vec::new();
        for doc in documents {
            if doc.dim() != dim {
                return Err(Error::DimMismatch {
                    query_dim: dim,
                    doc_dim: doc.dim(),
                });
            }
            let start = data.len() / dim;
            data.extend_from_slice(doc.as_slice());
            spans.push(start..start + doc.rows());
        }
        Ok(Corpus {
            data: data.into(),
            dim,
            spans,
        })
    }

    /// Number of documents.
    #[must_use]
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether there are no documents.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// Token dimension.
    #[must_use]
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Token rows scored over all documents (padding excluded).
    #[must_use]
    pub fn total_rows(&self) -> usize {
        self.spans.iter().map(|span| span.len()).sum()
    }

    /// Document `index`, or `None` past the end.
    #[must_use]
    pub fn get(&self, index: usize) -> Option<TokenMatrix<'_>> {
        let span = self.spans.get(index)?;
        Some(self.document(span))
    }

    /// The documents in order.
    #[must_use]
    pub fn iter(&self) -> impl ExactSizeIterator<Item = TokenMatrix<'_>> + '_ {
        self.spans.iter().map(|span| self.document(span))
    }

    /// The underlying buffer of rows (padding rows included).
    #[must_use]
    pub fn data(&self) -> &[f32] {
        &self.data
    }

    /// Row ranges of each document, in row units of the underlying buffer.
    #[must_use]
    pub fn spans(&self) -> &[Range<usize>] {
        &self.spans
    }

    /// A copy that owns its data.
    #[must_use]
    pub fn into_owned(self) -> Corpus<'static> {
        Corpus {
            data: Cow::Owned(self.data.into_owned()),
            dim: self.dim,
            spans: self.spans,
        }
    }

    /// The values of document `index`, which must exist.
    pub(crate) fn document_slice(&self, index: usize) -> &[f32] {
        let span = &self.spans[index];
        &self.data[span.start * self.dim..span.end * self.dim]
    }

    fn document(&self, span: &Range<usize>) -> TokenMatrix<'_> {
        TokenMatrix::from_parts(
            &self.data[span.start * self.dim..span.end * self.dim],
            self.dim,
        )
    }
}

fn whole_rows(data: &[f32], dim: usize) -> Result<usize> {
    Ok(TokenMatrix::new(data, dim)?.rows())
}

fn layout_error(message: String) -> Error {
    Error::CorpusLayout { message }
}
