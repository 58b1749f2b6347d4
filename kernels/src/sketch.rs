//! Document sketches: an `i8` copy of each document token with one `f32` scale, and the layout
//! the screen kernels ([`crate::Screen`]) read it in.
//!
//! # Quantization
//!
//! [`quantize_row`] maps a token row `x` to codes `s` in `-127..=127` and a scale `a >= 0` with
//! `a * s[k]` close to `x[k]` (within `a / 2` up to rounding). The screen works on the codes
//! alone; the caller derives proven bounds from the exact quantization error it computes itself.
//!
//! # The layout
//!
//! A document sketch of `rows` tokens of `dim` codes is stored in blocks of [`SKETCH_LANES`]
//! (16) tokens. Within a block the dimensions are cut into groups of [`SKETCH_GROUP`] (4)
//! consecutive ones; a group is 64 bytes, one 32-bit lane per token holding that token's 4 codes
//! of the group in dimension order:
//!
//! ```text
//! sketch[(b * G + g) * 64 + 4 * l + i] = codes[(16 * b + l) * dim + 4 * g + i]
//! ```
//!
//! for block `b` in `0..rows.div_ceil(16)`, group `g` in `0..G` with `G = sketch_dim(dim) / 4`,
//! lane `l` in `0..16` and `i` in `0..4`. Dimensions past `dim` (the last group of a `dim` that
//! is not a multiple of 4) and tokens past `rows` (the last block's padding lanes) are zero. One
//! layout serves every ISA: a 512-bit register holds one group of a block, and a query row's 4
//! codes of that group, broadcast as one 32-bit value, meet every token's 4 codes in its lane.
//!
//! A query is row-major with [`sketch_dim`]`(dim)` codes per row, zero past `dim`
//! ([`pad_query_codes`]).
//!
//! # The screen
//!
//! For query row `i` and document token `j` the screen computes the integer dot product
//!
//! ```text
//! T[i][j] = sum over k < sketch_dim(dim) of query[i][k] * token_j[k]
//! ```
//!
//! in `i32` ([`sketch_dot`]; exact for `dim <= MAX_SKETCH_DIM` with zero padding, and computed
//! modulo `2^32` by every ISA alike in any case), and each query row's maximum over the tokens of
//! `scales[j] * (T[i][j] as f32)`: the `i32` rounded to the nearest `f32` (ties to even), then
//! one `f32` multiplication rounded to nearest, ties to even ([`screen_row_max`]).
//!
//! Scales must be finite (the caller's quantization makes them non-negative), so no product is
//! NaN; a product may overflow to `±inf`. The maximum is IEEE 754-2019 `maximum` on these
//! values: `-0.0` counts as less than `+0.0`, so the result does not depend on the order in which
//! tokens are compared. An empty document gives `-inf`; a sketch's padding lanes never count.
//! Every ISA's screen returns exactly these bits: the arithmetic is integer up to one conversion
//! and one multiplication per pair. The SIMD maxima compare zeros of either sign as equal, so
//! when a query row's maximum is a zero they recompute its sign with [`zero_maximum`] (free
//! unless a maximum is exactly zero).

/// Document tokens per sketch block: the 32-bit lanes of one 512-bit register.
pub const SKETCH_LANES: usize = 16;

/// Consecutive dimensions of one token stored side by side: 4 codes, one 32-bit lane.
pub const SKETCH_GROUP: usize = 4;

/// The largest `dim` the screen accepts: every `|T| <= dim * 128 * 128` then stays below `2^31`,
/// so the `i32` dot products are exact. (`131_072` would allow `2^31` itself, from codes of
/// `-128` on both sides.)
pub const MAX_SKETCH_DIM: usize = 131_071;

/// Bytes of one 4-dimension group of a sketch block.
const GROUP_BYTES: usize = SKETCH_LANES * SKETCH_GROUP;

/// `dim` rounded up to a multiple of [`SKETCH_GROUP`]: the codes per query row, and per token of
/// a sketch block.
///
/// # Panics
///
/// If that overflows `usize` (`dim > usize::MAX - 3`).
pub const fn sketch_dim(dim: usize) -> usize {
    match dim.checked_next_multiple_of(SKETCH_GROUP) {
        Some(padded) => padded,
        None => panic!("dim overflows when rounded up to a multiple of 4"),
    }
}

/// Bytes of a document sketch of `rows` tokens of `dim` codes (`rows.div_ceil(16) * 16 *
/// sketch_dim(dim)`), or `None` if that overflows `usize`.
pub const fn sketch_len(rows: usize, dim: usize) -> Option<usize> {
    let Some(padded_dim) = dim.checked_next_multiple_of(SKETCH_GROUP) else {
        return None;
    };
    crate::layout::packed_len(rows, padded_dim, SKETCH_LANES)
}

/// Codes of a query of `rows` rows padded for the screen (`rows * sketch_dim(dim)`), or `None`
/// if that overflows `usize`.
pub const fn padded_query_len(rows: usize, dim: usize) -> Option<usize> {
    let Some(padded_dim) = dim.checked_next_multiple_of(SKETCH_GROUP) else {
        return None;
    };
    rows.checked_mul(padded_dim)
}

/// Quantizes one token row to `i8` codes in `codes` and returns their scale, or `None` if any
/// value is not finite (the codes are then unspecified).
///
/// With `m = max |x[k]|`: a row of zeros (`m == 0`, either sign) gives the scale `0.0` and zero
/// codes. Otherwise the scale is `a = m / 127` rounded to the nearest `f32` (at least the
/// smallest subnormal, `2^-149`, where that division underflows; and where a subnormal `a` has
/// rounded down so far that `m / a >= 127.5`, the next `f32` up), and each code is `x[k] / a`
/// (rounded to the nearest `f32`) rounded to the nearest integer, ties to even, clamped to
/// `-127..=127`. Codes are never `-128`; the largest magnitude maps to `±127` whenever `a` is a
/// normal `f32`; `|x[k] - a * s[k]|` is at most `a / 2` plus the rounding of `x[k] / a` (about
/// `2^-24` relative to `127 * a`). The result depends on nothing but the input.
///
/// # Panics
///
/// If `codes.len() != row.len()`.
pub fn quantize_row(row: &[f32], codes: &mut [i8]) -> Option<f32> {
    assert_eq!(
        codes.len(),
        row.len(),
        "codes and row have different lengths"
    );
    // Branch-free, so it vectorizes: a NaN or an infinity makes `largest` NaN or infinite.
    let largest = row.iter().fold(0.0f32, |largest, &x| {
        let magnitude = x.abs();
        if magnitude > largest || magnitude.is_nan() {
            magnitude
        } else {
            largest
        }
    });
    if !largest.is_finite() {
        return None;
    }
    if largest == 0.0 {
        codes.fill(0);
        return Some(0.0);
    }
    let mut scale = (largest / 127.0).max(f32::from_bits(1));
    if largest / scale >= 127.5 {
        // A subnormal scale is coarse and may have rounded down far enough that the largest
        // value would round to a code beyond 127; one step up is then above `largest / 127`.
        scale = f32::from_bits(scale.to_bits() + 1);
    }
    // Adding and subtracting 1.5 * 2^23 rounds to an integer, to nearest with ties to even (the
    // default rounding mode), for any |v| < 2^22: exactly `rintf`, but a plain add the compiler
    // vectorizes (a call to `libm::rintf` per value made quantizing 10x slower than packing).
    const ROUND: f32 = 12_582_912.0;
    for (code, &x) in codes.iter_mut().zip(row) {
        // `x / scale` is at most 127 plus a rounding error; the clamp keeps it a code.
        let v = x / scale;
        *code = ((v + ROUND) - ROUND).clamp(-127.0, 127.0) as i8;
    }
    Some(scale)
}

/// Stores row-major codes (`rows = codes.len() / dim` tokens of `dim` codes) as a document
/// sketch in `out` (see the module documentation); padding is zero.
///
/// # Panics
///
/// If `dim` is zero, `codes.len()` is not a multiple of `dim`, or `out.len()` is not
/// [`sketch_len`]`(rows, dim)`.
pub fn pack_sketch(codes: &[i8], dim: usize, out: &mut [i8]) {
    assert!(dim > 0, "dim must be at least 1");
    assert_eq!(
        codes.len() % dim,
        0,
        "codes length is not a multiple of dim"
    );
    let rows = codes.len() / dim;
    assert_eq!(
        Some(out.len()),
        sketch_len(rows, dim),
        "sketch buffer has the wrong length"
    );
    // Block by block, so that each block is written while it is in the L1 cache (zeroed first
    // only where it has padding).
    let block_len = SKETCH_LANES * sketch_dim(dim);
    for (block, out) in out.chunks_exact_mut(block_len).enumerate() {
        let first = block * SKETCH_LANES;
        let real = (rows - first).min(SKETCH_LANES);
        if real < SKETCH_LANES || !dim.is_multiple_of(SKETCH_GROUP) {
            out.fill(0);
        }
        for (lane, token) in codes[first * dim..(first + real) * dim]
            .chunks_exact(dim)
            .enumerate()
        {
            for (group, quad) in token.chunks(SKETCH_GROUP).enumerate() {
                let at = group * GROUP_BYTES + lane * SKETCH_GROUP;
                out[at..at + quad.len()].copy_from_slice(quad);
            }
        }
    }
}

/// Copies row-major query codes (`rows = codes.len() / dim` rows of `dim`) into `out` with
/// [`sketch_dim`]`(dim)` codes per row, zero past `dim`: the query layout of the screen.
///
/// # Panics
///
/// If `dim` is zero, `codes.len()` is not a multiple of `dim`, or `out.len()` is not
/// [`padded_query_len`]`(rows, dim)`.
pub fn pad_query_codes(codes: &[i8], dim: usize, out: &mut [i8]) {
    assert!(dim > 0, "dim must be at least 1");
    assert_eq!(
        codes.len() % dim,
        0,
        "codes length is not a multiple of dim"
    );
    let rows = codes.len() / dim;
    assert_eq!(
        Some(out.len()),
        padded_query_len(rows, dim),
        "padded query buffer has the wrong length"
    );
    for (padded, row) in out
        .chunks_exact_mut(sketch_dim(dim))
        .zip(codes.chunks_exact(dim))
    {
        padded[..dim].copy_from_slice(row);
        padded[dim..].fill(0);
    }
}

/// The codes of token `token` of a document sketch whose rows have `padded_dim` codes
/// (`sketch_dim(dim)`, padding included), in dimension order.
///
/// # Panics
///
/// If `padded_dim` is zero or not a multiple of 4, or `sketch` is shorter than the block that
/// holds `token`.
pub fn sketch_codes(
    sketch: &[i8],
    padded_dim: usize,
    token: usize,
) -> impl ExactSizeIterator<Item = i8> + Clone + '_ {
    assert!(
        padded_dim > 0 && padded_dim.is_multiple_of(SKETCH_GROUP),
        "padded_dim must be a positive multiple of 4"
    );
    let block = (SKETCH_LANES * padded_dim).checked_mul(token / SKETCH_LANES);
    let block = block.and_then(|start| Some(start..start.checked_add(SKETCH_LANES * padded_dim)?));
    let Some(block) = block.filter(|block| block.end <= sketch.len()) else {
        panic!("document sketch has no token {token} at padded dim {padded_dim}");
    };
    let block = &sketch[block];
    let lane = token % SKETCH_LANES;
    (0..padded_dim).map(move |k| {
        block[k / SKETCH_GROUP * GROUP_BYTES + lane * SKETCH_GROUP + k % SKETCH_GROUP]
    })
}

/// `T = sum over k of query_row[k] * token[k]` for token `token` of a document sketch, with
/// `query_row.len()` (a multiple of 4) as the padded dimension. The products are summed modulo
/// `2^32`, as every screen sums them, which is exact whenever the true sum fits in `i32`, as it
/// does for `dim <= MAX_SKETCH_DIM` with zero padding. Every screen computes exactly this value
/// for the pair.
///
/// # Panics
///
/// As [`sketch_codes`], with `padded_dim = query_row.len()`.
pub fn sketch_dot(query_row: &[i8], sketch: &[i8], token: usize) -> i32 {
    sketch_codes(sketch, query_row.len(), token)
        .zip(query_row)
        .fold(0i32, |sum, (d, &q)| {
            sum.wrapping_add(i32::from(d) * i32::from(q))
        })
}

/// The screen's value for one (query row, token) pair: `scale * (t as f32)`, the `i32` rounded
/// to the nearest `f32`, then one multiplication rounded to nearest, ties to even.
#[inline]
pub fn screen_product(scale: f32, t: i32) -> f32 {
    scale * t as f32
}

/// The IEEE 754-2019 `maximum` of two non-NaN values: the larger, and `+0.0` of two zeros of
/// opposite signs. (The screen's products are never NaN.)
#[inline]
fn maximum(a: f32, b: f32) -> f32 {
    if a > b || (a == b && a.is_sign_positive()) {
        a
    } else {
        b
    }
}

/// One query row's screen maximum (see the module documentation): the IEEE 754-2019 `maximum`
/// (`-0.0` below `+0.0`) of [`screen_product`]`(scales[j], sketch_dot(query_row, sketch, j))`
/// over `j < doc_rows`, `-inf` if `doc_rows` is zero. This is the scalar reference for one row.
///
/// # Panics
///
/// As [`sketch_dot`], or if `scales` is shorter than `doc_rows`.
pub fn screen_row_max(query_row: &[i8], sketch: &[i8], scales: &[f32], doc_rows: usize) -> f32 {
    scales[..doc_rows]
        .iter()
        .enumerate()
        .map(|(token, &scale)| screen_product(scale, sketch_dot(query_row, sketch, token)))
        .fold(f32::NEG_INFINITY, maximum)
}

/// The screen maximum of a query row whose maximum is known to be a zero: `+0.0` if some token's
/// product is `+0.0`, else `-0.0`. It stops at the first `+0.0`. The SIMD screens call it for
/// those rows, since their maxima treat zeros of either sign as equal.
///
/// # Panics
///
/// As [`screen_row_max`].
pub fn zero_maximum(query_row: &[i8], sketch: &[i8], scales: &[f32], doc_rows: usize) -> f32 {
    let positive_zero = scales[..doc_rows]
        .iter()
        .enumerate()
        .any(|(token, &scale)| {
            screen_product(scale, sketch_dot(query_row, sketch, token)).to_bits() == 0
        });
    if positive_zero {
        0.0
    } else {
        -0.0
    }
}

/// Panics unless the screen's arguments fit: `1 <= dim <= MAX_SKETCH_DIM`, `query_len` codes
/// hold `query_rows` padded rows, `doc_len` bytes a sketch of `doc_rows` tokens, `scales_len`
/// and `out_len` cover `doc_rows` and `query_rows`. The screens call it before touching a
/// pointer.
#[track_caller]
#[allow(clippy::too_many_arguments)]
pub(crate) fn check_screen_arguments(
    query_len: usize,
    query_rows: usize,
    dim: usize,
    doc_len: usize,
    scales_len: usize,
    doc_rows: usize,
    out_len: usize,
) {
    assert!(dim > 0, "dim must be at least 1");
    assert!(
        dim <= MAX_SKETCH_DIM,
        "dim {dim} is above MAX_SKETCH_DIM ({MAX_SKETCH_DIM})"
    );
    assert!(
        padded_query_len(query_rows, dim).is_some_and(|needed| query_len >= needed),
        "query is shorter than {query_rows} rows of {} padded codes",
        sketch_dim(dim)
    );
    assert!(
        sketch_len(doc_rows, dim).is_some_and(|needed| doc_len >= needed),
        "document sketch is shorter than {doc_rows} tokens of dim {dim}"
    );
    assert!(
        scales_len >= doc_rows,
        "scales is shorter than {doc_rows} tokens"
    );
    assert!(
        out_len >= query_rows,
        "out is shorter than {query_rows} query rows"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_round_dims_up_to_groups_and_tokens_up_to_blocks() {
        assert_eq!(sketch_dim(1), 4);
        assert_eq!(sketch_dim(4), 4);
        assert_eq!(sketch_dim(130), 132);
        assert_eq!(sketch_len(0, 5), Some(0));
        assert_eq!(sketch_len(1, 5), Some(16 * 8));
        assert_eq!(sketch_len(17, 128), Some(32 * 128));
        assert_eq!(sketch_len(usize::MAX, 4), None);
        assert_eq!(sketch_len(2, usize::MAX), None);
        assert_eq!(padded_query_len(3, 5), Some(24));
        assert_eq!(padded_query_len(usize::MAX, 5), None);
    }

    #[test]
    fn maximum_orders_negative_zero_below_positive_zero() {
        assert_eq!(maximum(-0.0, 0.0).to_bits(), 0);
        assert_eq!(maximum(0.0, -0.0).to_bits(), 0);
        assert_eq!(maximum(-0.0, -0.0).to_bits(), (-0.0f32).to_bits());
        assert_eq!(maximum(-0.0, -1.0).to_bits(), (-0.0f32).to_bits());
        assert_eq!(maximum(f32::NEG_INFINITY, 2.0), 2.0);
    }

    #[test]
    #[should_panic(expected = "no token 16")]
    fn reading_a_token_past_the_blocks_panics() {
        let _ = sketch_codes(&[0; 64], 4, 16);
    }
}
