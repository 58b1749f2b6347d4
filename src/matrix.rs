//! Row-major token matrices: a borrowed view and an owned buffer.

use crate::{Error, Result, Value};

/// A borrowed, row-major matrix of `rows x dim` token vectors, of `f32` by default, or of
/// [`half::f16`] or [`half::bf16`] (a candidate set fetched from a database, an Arrow f16
/// column): those are widened to f32 exactly when scored, so a score is the reference's on the
/// widened values.
///
/// Cheap to copy; it never owns or copies the data. Build it from values with
/// [`TokenMatrix::new`] or, zero-copy, from f32 bytes with [`TokenMatrix::from_bytes`].
///
/// ```
/// use half::f16;
/// use maxsim::{PreparedQuery, TokenMatrix};
///
/// let doc: Vec<f16> = [0.5f32, 0.25, -1.0, 2.0].iter().map(|&x| f16::from_f32(x)).collect();
/// let query = PreparedQuery::new(TokenMatrix::new(&[1.0, 1.0], 2)?)?;
/// assert_eq!(query.score(TokenMatrix::new(&doc, 2)?)?, 1.0); // max(0.75, 1.0)
/// # Ok::<(), maxsim::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TokenMatrix<'a, T = f32> {
    data: &'a [T],
    dim: usize,
}

impl<'a, T: Value> TokenMatrix<'a, T> {
    /// A view of `data` as rows of `dim` values.
    ///
    /// # Errors
    ///
    /// [`Error::ZeroDim`] if `dim == 0`; [`Error::RaggedData`] if `data.len()` is not a
    /// multiple of `dim`. An empty `data` is a valid matrix of zero rows.
    pub fn new(data: &'a [T], dim: usize) -> Result<Self> {
        check_shape(data.len(), dim)?;
        Ok(TokenMatrix { data, dim })
    }

    /// A view the caller has already checked (`dim > 0`, whole rows).
    pub(crate) fn from_parts(data: &'a [T], dim: usize) -> Self {
        debug_assert!(dim > 0 && data.len().is_multiple_of(dim));
        TokenMatrix { data, dim }
    }

    /// Number of token vectors.
    #[must_use]
    pub fn rows(&self) -> usize {
        self.data.len() / self.dim
    }

    /// Length of each token vector.
    #[must_use]
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Whether the matrix has no rows.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// All values, row after row.
    #[must_use]
    pub fn as_slice(&self) -> &'a [T] {
        self.data
    }

    /// Row `index`, or `None` past the end.
    #[must_use]
    pub fn row(&self, index: usize) -> Option<&'a [T]> {
        let start = index.checked_mul(self.dim)?;
        self.data.get(start..start.checked_add(self.dim)?)
    }

    /// The rows in order.
    pub fn iter_rows(&self) -> std::slice::ChunksExact<'a, T> {
        self.data.chunks_exact(self.dim)
    }

    /// The rows `start..end` as a matrix of the same dim, or `None` if out of range.
    #[must_use]
    pub fn slice_rows(&self, start: usize, end: usize) -> Option<TokenMatrix<'a, T>> {
        if start > end {
            return None;
        }
        let data = self
            .data
            .get(start.checked_mul(self.dim)?..end.checked_mul(self.dim)?)?;
        Some(TokenMatrix {
            data,
            dim: self.dim,
        })
    }

    /// An owned f32 copy (values widened exactly).
    #[must_use]
    pub fn to_f32(&self) -> TokenMatrixBuf {
        TokenMatrixBuf {
            data: self.data.iter().map(|&x| x.to_f32()).collect(),
            dim: self.dim,
        }
    }
}

impl<'a> TokenMatrix<'a> {
    /// A zero-copy view of native-endian `f32` bytes as rows of `dim` floats.
    ///
    /// # Errors
    ///
    /// [`Error::Misaligned`] if `bytes` does not start on a 4-byte boundary (use
    /// [`TokenMatrixBuf::from_bytes_copied`] for that), [`Error::ByteLength`] if its length is not
    /// a multiple of 4, and the errors of [`TokenMatrix::new`].
    pub fn from_bytes(bytes: &'a [u8], dim: usize) -> Result<Self> {
        if !bytes.len().is_multiple_of(4) {
            return Err(Error::ByteLength { len: bytes.len() });
        }
        let data: &[f32] = bytemuck::try_cast_slice(bytes).map_err(|_| Error::Misaligned {
            offset: bytes.as_ptr() as usize % 4,
        })?;
        TokenMatrix::new(data, dim)
    }

    /// An owned copy.
    #[must_use]
    pub fn to_owned(&self) -> TokenMatrixBuf {
        TokenMatrixBuf {
            data: self.data.to_vec(),
            dim: self.dim,
        }
    }
}

/// An owned, row-major matrix of `rows x dim` `f32` token vectors.
#[derive(Clone, Debug, PartialEq)]
pub struct TokenMatrixBuf {
    data: Vec<f32>,
    dim: usize,
}

impl TokenMatrixBuf {
    /// Takes `data` as rows of `dim` floats, with the checks of [`TokenMatrix::new`].
    ///
    /// # Errors
    ///
    /// As [`TokenMatrix::new`].
    pub fn new(data: Vec<f32>, dim: usize) -> Result<Self> {
        check_shape(data.len(), dim)?;
        Ok(TokenMatrixBuf { data, dim })
    }

    /// Copies native-endian `f32` bytes at any alignment.
    ///
    /// # Errors
    ///
    /// [`Error::ByteLength`] if the length is not a multiple of 4, and the errors of
    /// [`TokenMatrix::new`].
    pub fn from_bytes_copied(bytes: &[u8], dim: usize) -> Result<Self> {
        if !bytes.len().is_multiple_of(4) {
            return Err(Error::ByteLength { len: bytes.len() });
        }
        check_shape(bytes.len() / 4, dim)?;
        let data = bytes
            .chunks_exact(4)
            .map(|b| f32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        Ok(TokenMatrixBuf { data, dim })
    }

    /// Collects rows of exactly `dim` floats each.
    ///
    /// # Errors
    ///
    /// [`Error::ZeroDim`], or [`Error::RowLength`] naming the first row of another length.
    pub fn from_rows<I, R>(rows: I, dim: usize) -> Result<Self>
    where
        I: IntoIterator<Item = R>,
        R: AsRef<[f32]>,
    {
        if dim == 0 {
            return Err(Error::ZeroDim);
        }
        let mut data = Vec::new();
        for (row, values) in rows.into_iter().enumerate() {
            let values = values.as_ref();
            if values.len() != dim {
                return Err(Error::RowLength {
                    row,
                    len: values.len(),
                    dim,
                });
            }
            data.extend_from_slice(values);
        }
        Ok(TokenMatrixBuf { data, dim })
    }

    /// A borrowed view.
    #[must_use]
    pub fn as_matrix(&self) -> TokenMatrix<'_> {
        TokenMatrix {
            data: &self.data,
            dim: self.dim,
        }
    }

    /// Number of token vectors.
    #[must_use]
    pub fn rows(&self) -> usize {
        self.data.len() / self.dim
    }

    /// Length of each token vector.
    #[must_use]
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The values, row after row.
    #[must_use]
    pub fn into_vec(self) -> Vec<f32> {
        self.data
    }
}

impl<'a> From<&'a TokenMatrixBuf> for TokenMatrix<'a> {
    fn from(matrix: &'a TokenMatrixBuf) -> Self {
        matrix.as_matrix()
    }
}

fn check_shape(len: usize, dim: usize) -> Result<()> {
    if dim == 0 {
        Err(Error::ZeroDim)
    } else if !len.is_multiple_of(dim) {
        Err(Error::RaggedData { len, dim })
    } else {
        Ok(())
    }
}
