//! Exact late-interaction (ColBERT, ColPali, ColQwen) scoring on CPUs.
//!
//! `maxsim` computes the MaxSim score of a query's token vectors against a document's:
//!
//! ```text
//! score(Q, D) = sum over query rows i of ( max over document rows j of dot(Q[i], D[j]) )
//! ```
//!
//! with hand-written AVX-512, AVX2+FMA and NEON kernels chosen at run time, each returning
//! exactly the bits of the scalar reference. The similarity matrix is never stored.
//!
//! ```
//! use maxsim::{PreparedQuery, TokenMatrix};
//!
//! let query = [1.0, 0.0, 0.0, 1.0]; // 2 tokens of dim 2
//! let doc = [0.5, 0.5, 2.0, -1.0, 0.0, 3.0]; // 3 tokens of dim 2
//! let query = PreparedQuery::new(TokenMatrix::new(&query, 2)?)?;
//! let score = query.score(TokenMatrix::new(&doc, 2)?)?;
//! assert_eq!(score, 2.0 + 3.0);
//! # Ok::<(), maxsim::Error>(())
//! ```
//!
//! # Semantics
//!
//! - `dot(q, d)` is the chain of fused multiply-adds `acc = fma(q[k], d[k], acc)` over
//!   `k = 0..dim` in order, starting from `acc = +0.0`. This scalar definition is the
//!   reference; every ISA returns its bits.
//! - The maximum over document rows keeps the first of equal values. A query row whose
//!   similarities include a NaN has maximum NaN; infinities follow IEEE arithmetic (an `inf *
//!   0` or `inf - inf` inside a dot product is a NaN).
//! - The score sums the row maxima in increasing row order, starting from `+0.0`. A NaN score
//!   is always the canonical [`f32::NAN`].
//! - An empty query scores `0.0`. An empty document gives every query row the maximum `-inf`,
//!   so a non-empty query scores `-inf` against it: below every document with a token.
//! - Query and document must have the same dim ([`Error::DimMismatch`]); any dim of at least 1
//!   works.
//! - Argument order matters: `maxsim(query, doc)` takes the maximum over the document's rows
//!   for each query row, so swapping the arguments computes a different score.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod corpus;
mod dispatch;
mod documents;
mod error;
mod index;
mod matrix;
#[cfg(feature = "npy")]
pub mod npy;
mod offsets;
mod prune;
mod query;
mod scorer;
mod search;
mod sketch;
pub mod synthetic;
mod value;

pub use corpus::Corpus;
pub use dispatch::{select_isa, selected_isa, supported_isas, ISA_ENV};
pub use documents::{AsTokenMatrix, Candidates, Documents, WithIds};
pub use error::{Error, Result};
pub use index::{Index, Storage};
pub use matrix::{TokenMatrix, TokenMatrixBuf};
pub use maxsim_kernels::Isa;
pub use offsets::Offset;
pub use prune::TopKStats;
pub use query::{maxsim, maxsim_with_isa, Explanation, PreparedQuery, RowMatch};
pub use scorer::Scorer;
pub use search::{Hit, Pruning, QueryBatch, TopK};
pub use sketch::Sketch;
pub use value::Value;

/// The kernels themselves, for benchmarks and for code that manages its own buffers.
pub use maxsim_kernels as kernels;

/// The README's Rust examples, compiled and run as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
