//! Integer types accepted for offsets, lengths and document indices.

use std::fmt;

use crate::{Error, Result};

mod sealed {
    pub trait Sealed {}
}

/// An integer type accepted wherever the API takes row offsets, document lengths or document
/// indices: `usize`, `u32`, `u64`, `i32` and `i64` (Arrow and Lance keep offsets as `i32` or
/// `i64`). Values are converted once, as they are read; a negative value, or one past `usize`,
/// is an error.
///
/// ```
/// use maxsim::Corpus;
///
/// let tokens = [0.5f32; 6 * 2];
/// let arrow_offsets: [i32; 3] = [0, 4, 6]; // two documents of dim 2
/// let corpus = Corpus::from_offsets(&tokens[..], 2, &arrow_offsets)?;
/// assert_eq!(corpus.get(1).unwrap().rows(), 2);
/// # Ok::<(), maxsim::Error>(())
/// ```
pub trait Offset: Copy + fmt::Debug + fmt::Display + Send + Sync + sealed::Sealed {
    /// The value as a `usize`, or `None` if it is negative or too large.
    fn to_usize(self) -> Option<usize>;
}

macro_rules! offset_types {
    ($($t:ty),*) => {$(
        impl sealed::Sealed for $t {}
        impl Offset for $t {
            #[inline]
            fn to_usize(self) -> Option<usize> {
                usize::try_from(self).ok()
            }
        }
    )*};
}

offset_types!(usize, u32, u64, i32, i64);

/// `values` as `usize`, or an [`Error::CorpusLayout`] naming the first that is not one (`what`
/// names the values in the message: "offset", "length", "index").
pub(crate) fn to_usizes<O: Offset>(values: &[O], what: &str) -> Result<Vec<usize>> {
    values
        .iter()
        .enumerate()
        .map(|(i, &value)| {
            value.to_usize().ok_or_else(|| Error::CorpusLayout {
                message: format!("{what} {i} is {value}: it must be a non-negative row count that fits in memory"),
            })
        })
        .collect()
}
