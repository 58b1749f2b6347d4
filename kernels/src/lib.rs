//! Exact MaxSim kernels: the scalar reference and hand-written AVX2+FMA, AVX-512 and NEON
//! versions of it, all bit-identical.
//!
//! This crate holds every `unsafe` block and every `#[target_feature]` of `maxsim`. Its safe
//! face is [`Kernel`]: a handle that can only be made for an [`Isa`] this CPU runs, so calling
//! through it is sound. The per-ISA modules ([`scalar`], `x86_64::avx2`, `x86_64::avx512`,
//! `aarch64::neon`) share one set of signatures.
//!
//! # The computation
//!
//! `score(Q, D) = sum over i of (max over j of dot(Q[i], D[j]))`, where `dot` is the chain of
//! fused multiply-adds over `k = 0..dim` in order, starting from `+0.0`. A query row's maximum is
//! NaN if any of its dot products is NaN; an empty document gives `-inf` for every row. The sum
//! runs over query rows in increasing order, starting from `+0.0`, and a NaN total is returned as
//! the canonical [`f32::NAN`].
//!
//! # The layout
//!
//! The query is packed dimension-major in blocks of `lanes` rows (see [`layout`]), so one vector
//! load gives one dimension of `lanes` query rows; documents stay row-major. Each step of a
//! kernel broadcasts one document value and fuses it into the accumulators of several query
//! blocks. Every lane therefore computes exactly the scalar chain of one (query row, document
//! row) pair, which is why every ISA returns the scalar reference's bits.
//!
//! # Stored documents
//!
//! The [`index`] layout is the transpose: documents are stored ahead of time in blocks of 16
//! document rows, dimension-major, as `f32`, `f16` or `bf16` ([`Element`]), one layout for
//! every ISA; the query stays row-major. The index kernels ([`Kernel::index_score`] and its
//! siblings) broadcast one query value and fuse it with the widened values of 16 document rows
//! per block, again exactly the scalar chain per lane, so they return the bits of
//! [`scalar::index_row_maxima`], which are those of [`scalar::row_maxima`] on the widened
//! document.
//!
//! # Sketches and the screen
//!
//! A document [`sketch`] is an `i8` copy of a document (one `f32` scale per token) in blocks of
//! 16 tokens, 4 dimensions of a token per 32-bit lane. A [`Screen`] computes each query row's
//! maximum over the tokens of `scale * T`, with `T` the integer dot product of the codes, exact
//! in `i32`: a cheap approximate row maximum from which the library derives proven bounds. Its
//! paths ([`ScreenIsa`]) are finer than [`Isa`] (AVX2, AVX-512BW, AVX-512 VNNI, NEON), and every
//! one returns the bits of [`scalar::screen_row_maxima`].
#![no_std]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks, clippy::missing_safety_doc)]
#![warn(missing_docs)]

#[cfg(feature = "std")]
extern crate std;

// The kernel macros are instantiated only on architectures with SIMD modules.
#[cfg_attr(
    not(any(target_arch = "x86_64", target_arch = "aarch64")),
    allow(unused_macros)
)]
#[macro_use]
mod lane_kernel;
#[cfg_attr(
    not(any(target_arch = "x86_64", target_arch = "aarch64")),
    allow(unused_macros)
)]
#[macro_use]
mod index_kernel;
#[cfg_attr(
    not(any(target_arch = "x86_64", target_arch = "aarch64")),
    allow(unused_macros)
)]
#[macro_use]
mod screen_kernel;

pub mod index;
mod isa;
mod kernel;
pub mod layout;
pub mod scalar;
mod screen;
pub mod sketch;

#[cfg(target_arch = "aarch64")]
pub mod aarch64;
#[cfg(target_arch = "x86_64")]
pub mod x86_64;

/// The storage types of [`index`], re-exported so that callers need not depend on `half`.
pub use half::{bf16, f16};
pub use index::{Element, Storage, INDEX_LANES};
pub use isa::Isa;
pub use kernel::Kernel;
pub use screen::{Screen, ScreenIsa};
pub use sketch::{SKETCH_GROUP, SKETCH_LANES};

/// Independent FMA chains in each ISA's `fma_peak_probe`: enough to cover the FMA latency times
/// the FMA ports of current x86 and ARM cores (4 x 2), and few enough for 16 registers.
pub const PEAK_PROBE_CHAINS: usize = 12;

/// Adds query-row maxima to a running total, in slice order: the one summation order every ISA
/// uses.
#[inline]
pub fn sum_in_order(total: f32, row_maxima: &[f32]) -> f32 {
    row_maxima.iter().fold(total, |sum, &max| sum + max)
}

/// Adds weighted query-row maxima to a running total, in slice order, one fused multiply-add
/// each: `total = fma(weight, max, total)`. With every weight `1.0` this is exactly
/// [`sum_in_order`].
#[inline]
pub fn weighted_sum_in_order(total: f32, row_maxima: &[f32], weights: &[f32]) -> f32 {
    row_maxima
        .iter()
        .zip(weights)
        .fold(total, |sum, (&max, &weight)| libm::fmaf(weight, max, sum))
}

/// Replaces any NaN by the canonical [`f32::NAN`], so NaN results have the same bits on every
/// ISA (x86 and ARM produce NaNs with different sign bits).
#[inline]
pub fn canonical_nan(x: f32) -> f32 {
    if x.is_nan() {
        f32::NAN
    } else {
        x
    }
}
