//! The document index layout, shared by every ISA, and the element types it stores.
//!
//! A document of `rows` token rows of `dim` values is stored in blocks of [`INDEX_LANES`] (16)
//! document rows, dimension-major within a block (the last block padded with zero rows):
//!
//! ```text
//! stored[(b * dim + k) * 16 + l] = doc[(b * 16 + l) * dim + k]
//! ```
//!
//! for block `b` in `0..rows.div_ceil(16)`, dimension `k` in `0..dim` and lane `l` in `0..16`.
//! One layout serves every ISA, so an index written on one machine scores on any other. The
//! values are stored as `f32`, [`half::f16`] or [`half::bf16`] (the [`Element`] types); the
//! kernels widen them exactly to `f32`. A document's storage may start anywhere, but starting
//! it at a multiple of 64 bytes (so that no vector load crosses a cache line) is worth a few
//! percent.
//!
//! The kernels prefetch the memory that follows a document while scoring its last chunk (see
//! the SIMD modules): storing a corpus's documents back to back, in the order they are scored,
//! lets an out-of-cache corpus stream at close to compute speed.
//!
//! # The computation
//!
//! An index kernel scores a row-major `f32` query against one stored document. For each query
//! row `i`, lane `l` of a vector computes `dot(Q[i], D[row])` as the chain
//! `acc = fma(Q[i][k], widen(D[row][k]), acc)` over `k = 0..dim` in order from `+0.0`: the query
//! value broadcast, 16 document rows in the lanes. That is exactly the scalar reference's chain
//! ([`crate::scalar::dot`]) on the widened values, so every ISA returns the same bits as
//! [`crate::scalar::index_row_maxima`] and as [`crate::scalar::row_maxima`] on the widened,
//! row-major document. Padding lanes are computed but never scored: they take no part in a
//! maximum or in its NaN flag.
//!
//! # Maxima of zero
//!
//! The reference keeps the first of equal similarities in row order. Equal floats have equal
//! bits except `+0.0` and `-0.0`, so the only order-sensitive maximum is a zero: it must carry
//! the sign of the first document row (in row order) whose similarity is zero. The SIMD kernels
//! reduce lanes in an order of their own, so when a query row's maximum is `±0.0` they recompute
//! that one row's maximum in scalar code ([`first_zero_similarity`]): it walks the document rows
//! in order and stops at the first zero similarity, which is the answer. Tracking the first zero
//! in the kernel would cost a compare and a blend per accumulator per tile on every document;
//! the fallback costs nothing unless a maximum is exactly zero (rare for real embeddings), and
//! then usually little (an all-zero query row stops at the first document row), at worst one
//! scalar pass over the document for that query row.

use core::fmt;

/// Document rows per stored block: the lanes of one AVX-512 register, two AVX2 registers or four
/// NEON registers, the same on every ISA.
pub const INDEX_LANES: usize = 16;

/// The element type of a stored document.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Storage {
    /// IEEE binary32, stored as is.
    F32,
    /// IEEE binary16 ([`half::f16`]): 11 significant bits, finite range `±65504`.
    F16,
    /// bfloat16 ([`half::bf16`]): the upper half of an `f32`, 8 significant bits.
    Bf16,
}

impl Storage {
    /// Every storage type, in the order of their [`Storage::code`]s.
    pub const ALL: [Storage; 3] = [Storage::F32, Storage::F16, Storage::Bf16];

    /// The short name: `"f32"`, `"f16"` or `"bf16"`.
    pub const fn name(self) -> &'static str {
        match self {
            Storage::F32 => "f32",
            Storage::F16 => "f16",
            Storage::Bf16 => "bf16",
        }
    }

    /// Parses a name as printed by [`Storage::name`], in any case.
    pub fn from_name(name: &str) -> Option<Storage> {
        let name = name.trim();
        Storage::ALL
            .into_iter()
            .find(|storage| name.eq_ignore_ascii_case(storage.name()))
    }

    /// Bytes per stored element.
    pub const fn bytes(self) -> usize {
        match self {
            Storage::F32 => 4,
            Storage::F16 | Storage::Bf16 => 2,
        }
    }

    /// The stable code for files: `0` for `f32`, `1` for `f16`, `2` for `bf16`. Codes are never
    /// reused.
    pub const fn code(self) -> u8 {
        match self {
            Storage::F32 => 0,
            Storage::F16 => 1,
            Storage::Bf16 => 2,
        }
    }

    /// The storage type of a [`Storage::code`], or `None` for an unknown code.
    pub const fn from_code(code: u8) -> Option<Storage> {
        match code {
            0 => Some(Storage::F32),
            1 => Some(Storage::F16),
            2 => Some(Storage::Bf16),
            _ => None,
        }
    }
}

impl fmt::Display for Storage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

mod sealed {
    /// Keeps [`super::Element`] to the three types the kernels know how to widen.
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for half::f16 {}
    impl Sealed for half::bf16 {}
}

/// A type a document can be stored as: `f32`, [`half::f16`] or [`half::bf16`].
///
/// The trait is sealed: the SIMD kernels read an element's bits according to
/// [`Element::STORAGE`], which is therefore always the type's true format. Every element type is
/// [`bytemuck::Pod`], so stored documents can be viewed as, or read from, bytes.
pub trait Element:
    Copy + Send + Sync + 'static + fmt::Debug + PartialEq + bytemuck::Pod + sealed::Sealed
{
    /// This type's format.
    const STORAGE: Storage;

    /// The value as an `f32`: exact (every `f16` and `bf16` is an `f32`); a NaN stays a NaN
    /// (possibly quieted).
    fn to_f32(self) -> f32;

    /// `x` rounded to this type: to nearest, ties to even. Values beyond the largest finite
    /// value round to `±inf` as IEEE rounding does (for `f16`, anything from `65520` in
    /// magnitude up; for `bf16`, beyond `f32::MAX`'s neighbourhood); small values round to
    /// subnormals or `±0.0`; a NaN stays a NaN. For `f32` the value is returned unchanged.
    /// (This is what the `half` crate does.)
    fn from_f32(x: f32) -> Self;
}

impl Element for f32 {
    const STORAGE: Storage = Storage::F32;

    #[inline]
    fn to_f32(self) -> f32 {
        self
    }

    #[inline]
    fn from_f32(x: f32) -> f32 {
        x
    }
}

impl Element for half::f16 {
    const STORAGE: Storage = Storage::F16;

    #[inline]
    fn to_f32(self) -> f32 {
        half::f16::to_f32(self)
    }

    #[inline]
    fn from_f32(x: f32) -> half::f16 {
        half::f16::from_f32(x)
    }
}

impl Element for half::bf16 {
    const STORAGE: Storage = Storage::Bf16;

    #[inline]
    fn to_f32(self) -> f32 {
        half::bf16::to_f32(self)
    }

    #[inline]
    fn from_f32(x: f32) -> half::bf16 {
        half::bf16::from_bits(bf16_bits(x))
    }
}

/// The bits of `x` rounded to `bf16`, to nearest, ties to even, exactly as
/// [`half::bf16::from_f32`] rounds (a NaN keeps its sign and top payload bits and is quieted),
/// but without branches, so that packing a document runs at memory speed.
#[inline]
fn bf16_bits(x: f32) -> u16 {
    let bits = x.to_bits();
    // Adding 0x7fff, plus one when the kept part is odd, carries into the kept part exactly
    // when the dropped half is above one half, or exactly one half with the kept part odd.
    // (It wraps only for NaNs, whose result is not used.)
    let rounded = bits.wrapping_add(0x7fff + ((bits >> 16) & 1)) >> 16;
    let quiet_nan = (bits >> 16) | 0x40;
    let is_nan = bits & 0x7fff_ffff > 0x7f80_0000;
    (if is_nan { quiet_nan } else { rounded }) as u16
}

/// Number of elements a stored document of `rows` x `dim` occupies (`rows.div_ceil(16) * 16 *
/// dim`), or `None` if that overflows `usize`.
pub const fn index_len(rows: usize, dim: usize) -> Option<usize> {
    crate::layout::packed_len(rows, dim, INDEX_LANES)
}

/// Stores a row-major `f32` document (`rows = doc.len() / dim`) in the index layout, each value
/// rounded with [`Element::from_f32`]; padding lanes are zero.
///
/// # Panics
///
/// If `dim` is zero, `doc.len()` is not a multiple of `dim`, or `out.len()` is not
/// [`index_len`]`(rows, dim)`.
pub fn pack_document<T: Element>(doc: &[f32], dim: usize, out: &mut [T]) {
    pack_with(doc, dim, out, T::from_f32)
}

/// Stores a row-major document that is already of the storage type (no rounding) in the index
/// layout; padding lanes are zero.
///
/// # Panics
///
/// As [`pack_document`].
pub fn pack_document_from<T: Element>(doc: &[T], dim: usize, out: &mut [T]) {
    pack_with(doc, dim, out, |x| x)
}

fn pack_with<S: Copy, T: Element>(doc: &[S], dim: usize, out: &mut [T], convert: impl Fn(S) -> T) {
    assert!(dim > 0, "dim must be at least 1");
    assert_eq!(
        doc.len() % dim,
        0,
        "document length is not a multiple of dim"
    );
    let rows = doc.len() / dim;
    assert_eq!(
        Some(out.len()),
        index_len(rows, dim),
        "stored document buffer has the wrong length"
    );
    // Block by block, so that each block is written while it is in the L1 cache, once
    // (zeroed first only where it has padding lanes).
    let block_len = INDEX_LANES * dim;
    for (block, out) in out.chunks_exact_mut(block_len).enumerate() {
        let first = block * INDEX_LANES;
        let real = (rows - first).min(INDEX_LANES);
        if real < INDEX_LANES {
            out.fill(T::zeroed());
        }
        for (lane, row) in doc[first * dim..(first + real) * dim]
            .chunks_exact(dim)
            .enumerate()
        {
            for (values, &x) in out.chunks_exact_mut(INDEX_LANES).zip(row) {
                values[lane] = convert(x);
            }
        }
    }
}

/// The values of document row `row` of a stored document, widened to `f32`, in dimension order.
///
/// # Panics
///
/// If `dim` is zero or `stored` is shorter than the block that holds `row`.
pub fn unpack_row<T: Element>(
    stored: &[T],
    dim: usize,
    row: usize,
) -> impl ExactSizeIterator<Item = f32> + Clone + '_ {
    assert!(dim > 0, "dim must be at least 1");
    let block = INDEX_LANES.checked_mul(dim).and_then(|len| {
        let start = (row / INDEX_LANES).checked_mul(len)?;
        Some(start..start.checked_add(len)?)
    });
    let Some(block) = block.filter(|block| block.end <= stored.len()) else {
        panic!("stored document has no row {row} at dim {dim}");
    };
    let lane = row % INDEX_LANES;
    stored[block]
        .iter()
        .skip(lane)
        .step_by(INDEX_LANES)
        .map(|&value| value.to_f32())
}

/// Writes the first `rows` rows of a stored document, widened to `f32`, row-major into
/// `out[..rows * dim]`.
///
/// # Panics
///
/// If `dim` is zero, `stored` is shorter than [`index_len`]`(rows, dim)` or `out` shorter than
/// `rows * dim`.
pub fn unpack_document<T: Element>(stored: &[T], dim: usize, rows: usize, out: &mut [f32]) {
    assert!(dim > 0, "dim must be at least 1");
    assert!(
        index_len(rows, dim).is_some_and(|len| stored.len() >= len),
        "stored document is shorter than {rows} rows of dim {dim}"
    );
    let out = &mut out[..rows * dim];
    for (row, values) in out.chunks_exact_mut(dim).enumerate() {
        for (value, widened) in values.iter_mut().zip(unpack_row(stored, dim, row)) {
            *value = widened;
        }
    }
}

/// `dot(query_row, D[row])` for a stored document: the scalar reference's chain of fused
/// multiply-adds over `k = 0..dim` in order from `+0.0` on the widened values, with `dim =
/// query_row.len()`. Every index kernel computes exactly this value for the pair.
///
/// # Panics
///
/// If `query_row` is empty or `stored` is shorter than the block that holds `row`.
pub fn stored_dot<T: Element>(query_row: &[f32], stored: &[T], row: usize) -> f32 {
    unpack_row(stored, query_row.len(), row)
        .zip(query_row)
        .fold(0.0f32, |acc, (d, &q)| libm::fmaf(q, d, acc))
}

/// The similarity of the first document row (in row order) whose similarity with `query_row`
/// is `±0.0`, or `+0.0` if none is. When a query row's maximum is `±0.0` this is exactly the
/// reference's maximum: the SIMD kernels call it for those rows (see the module documentation).
///
/// # Panics
///
/// As [`stored_dot`], for the rows it reads.
pub fn first_zero_similarity<T: Element>(query_row: &[f32], stored: &[T], doc_rows: usize) -> f32 {
    (0..doc_rows)
        .map(|row| stored_dot(query_row, stored, row))
        .find(|&similarity| similarity == 0.0)
        .unwrap_or(0.0)
}

/// Panics unless `query_len` elements hold `query_rows` rows of `dim` and `doc_len` elements hold
/// a stored document of `doc_rows` rows; the kernels call it before touching a pointer.
#[track_caller]
pub(crate) fn check_arguments(
    query_len: usize,
    query_rows: usize,
    dim: usize,
    doc_len: usize,
    doc_rows: usize,
) {
    assert!(dim > 0, "dim must be at least 1");
    assert!(
        query_rows
            .checked_mul(dim)
            .is_some_and(|needed| query_len >= needed),
        "query is shorter than {query_rows} rows of dim {dim}"
    );
    assert!(
        index_len(doc_rows, dim).is_some_and(|needed| doc_len >= needed),
        "stored document is shorter than {doc_rows} rows of dim {dim}"
    );
}

/// Panics unless `len` (of `out` or `weights`) covers `query_rows`.
#[track_caller]
pub(crate) fn check_rows(len: usize, query_rows: usize, what: &str) {
    assert!(
        len >= query_rows,
        "{what} is shorter than {query_rows} query rows"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `2^exponent`, exactly, from its bits (`powi` may be off by an ulp where it is not exact,
    /// as Miri deliberately makes it); `exponent` in -149..=127.
    fn pow2(exponent: i32) -> f32 {
        if exponent >= -126 {
            f32::from_bits(((exponent + 127) as u32) << 23)
        } else {
            f32::from_bits(1 << (exponent + 149))
        }
    }
    use half::{bf16, f16};

    #[test]
    fn packing_puts_each_dimension_of_a_block_side_by_side() {
        // 18 rows of dim 2: value = row * 10 + k.
        let doc: [f32; 36] = core::array::from_fn(|i| ((i / 2) * 10 + i % 2) as f32);
        let mut stored = [f32::NAN; 64];
        pack_document(&doc, 2, &mut stored);
        for block in 0..2 {
            for k in 0..2 {
                for lane in 0..16 {
                    let row = block * 16 + lane;
                    let expected = if row < 18 { (row * 10 + k) as f32 } else { 0.0 };
                    let got = stored[(block * 2 + k) * 16 + lane];
                    assert_eq!(got.to_bits(), expected.to_bits(), "b{block} k{k} l{lane}");
                }
            }
        }
        assert_eq!(index_len(18, 2), Some(64));
        assert_eq!(index_len(0, 5), Some(0));
        assert_eq!(index_len(16, 3), Some(48));
        assert_eq!(index_len(17, 3), Some(96));
        assert_eq!(index_len(usize::MAX, 2), None);
        assert_eq!(index_len(usize::MAX / 2, 3), None);
        for row in 0..18 {
            let values: [f32; 2] = [(row * 10) as f32, (row * 10 + 1) as f32];
            assert!(unpack_row(&stored, 2, row).eq(values), "row {row}");
        }
        let mut unpacked = [0.0; 36];
        unpack_document(&stored, 2, 18, &mut unpacked);
        assert_eq!(unpacked, doc);
    }

    #[test]
    fn packing_rounds_or_copies_the_storage_type() {
        let doc = [1.0f32, 1.0 + pow2(-9), 3.0, -0.0, 65519.0, 1e6];
        let mut stored = [f16::from_f32(7.0); 16 * 3];
        pack_document(&doc, 3, &mut stored);
        let widened: [f32; 6] = [1.0, 1.0 + pow2(-9), 3.0, -0.0, 65504.0, f32::INFINITY];
        let mut unpacked = [0.0f32; 6];
        unpack_document(&stored, 3, 2, &mut unpacked);
        assert_eq!(unpacked.map(f32::to_bits), widened.map(f32::to_bits));
        // Padding is +0.0.
        assert!(stored[2..16].iter().all(|x| x.to_bits() == 0));
        let rounded = doc.map(bf16::from_f32);
        let mut from = [bf16::from_f32(7.0); 16 * 3];
        pack_document_from(&rounded, 3, &mut from);
        let mut direct = [bf16::from_f32(7.0); 16 * 3];
        pack_document(&doc, 3, &mut direct);
        assert_eq!(from.map(bf16::to_bits), direct.map(bf16::to_bits));
    }

    #[test]
    fn f16_rounds_to_nearest_ties_to_even() {
        let ulp = pow2(-10);
        // Halfway between 1 and 1 + ulp: to the even 1.0; between 1 + ulp and 1 + 2 ulp: up.
        assert_eq!(f16::from_f32(1.0 + ulp / 2.0).to_f32(), 1.0);
        assert_eq!(
            f16::from_f32(1.0 + 3.0 * ulp / 2.0).to_f32(),
            1.0 + 2.0 * ulp
        );
        assert_eq!(
            f16::from_f32(1.0 + ulp / 2.0 + pow2(-20)).to_f32(),
            1.0 + ulp
        );
        assert_eq!(<f16 as Element>::from_f32(-2.5).to_f32(), -2.5);
        // Overflow: 65504 is the largest finite; from 65520 (halfway to 2^16) up is infinite.
        assert_eq!(f16::from_f32(65519.0).to_f32(), 65504.0);
        assert_eq!(f16::from_f32(65520.0).to_f32(), f32::INFINITY);
        assert_eq!(f16::from_f32(-1e9).to_f32(), f32::NEG_INFINITY);
        assert_eq!(f16::from_f32(f32::INFINITY).to_f32(), f32::INFINITY);
        // Subnormals: the smallest is 2^-24; half of it is a tie to +0.0, a little more rounds up.
        assert_eq!(f16::from_f32(pow2(-24)).to_f32(), pow2(-24));
        assert_eq!(f16::from_f32(pow2(-25)).to_bits(), 0);
        assert_eq!(f16::from_f32(pow2(-25) * 1.5).to_f32(), pow2(-24));
        assert_eq!(f16::from_f32(-pow2(-30)).to_bits(), 0x8000);
        assert!(<f16 as Element>::from_f32(f32::NAN).to_f32().is_nan());
        assert!(<f16 as Element>::from_f32(-f32::NAN).to_f32().is_nan());
    }

    #[test]
    fn bf16_rounds_to_nearest_ties_to_even() {
        let ulp = pow2(-7);
        assert_eq!(bf16::from_f32(1.0 + ulp / 2.0).to_f32(), 1.0);
        assert_eq!(
            bf16::from_f32(1.0 + 3.0 * ulp / 2.0).to_f32(),
            1.0 + 2.0 * ulp
        );
        assert_eq!(
            bf16::from_f32(1.0 + ulp / 2.0 + pow2(-20)).to_f32(),
            1.0 + ulp
        );
        assert_eq!(
            <bf16 as Element>::from_f32(f32::MAX).to_f32(),
            f32::INFINITY
        );
        assert_eq!(
            <bf16 as Element>::from_f32(-f32::MAX).to_f32(),
            f32::NEG_INFINITY
        );
        // bf16 keeps f32's exponent range, subnormals included.
        let tiny = f32::from_bits(0x0001_0000);
        assert_eq!(<bf16 as Element>::from_f32(tiny).to_f32(), tiny);
        assert!(<bf16 as Element>::from_f32(f32::NAN).to_f32().is_nan());
        // A NaN whose payload lies only in the low 16 bits must not become infinity.
        let low_payload_nan = f32::from_bits(0x7f80_0001);
        assert!(<bf16 as Element>::from_f32(low_payload_nan)
            .to_f32()
            .is_nan());
        // Widening is the 16-bit shift: every non-NaN bf16 is an exact f32.
        for bits in (0..=u16::MAX).step_by(7) {
            let value = bf16::from_bits(bits);
            if !value.is_nan() {
                assert_eq!(Element::to_f32(value).to_bits(), (bits as u32) << 16);
            }
        }
    }

    #[test]
    fn bf16_rounding_without_branches_is_the_half_crates() {
        // Every sign, exponent and top mantissa pattern, each with the dropped half at the
        // rounding edges (zero, just below, at and just above one half, all ones), the kept
        // part odd and even; then a stride through all 2^32 bit patterns (NaNs included).
        let edges = [0x0000, 0x0001, 0x7fff, 0x8000, 0x8001, 0xffff];
        let mut checked = 0u32;
        let mut check = |bits: u32| {
            let x = f32::from_bits(bits);
            assert_eq!(
                bf16_bits(x),
                half::bf16::from_f32(x).to_bits(),
                "{bits:#010x}"
            );
            checked += 1;
        };
        let kept_step = if cfg!(miri) { 0x0101 } else { 1 };
        for kept in (0..=0xffffu32).step_by(kept_step) {
            for dropped in edges {
                check(kept << 16 | dropped);
            }
        }
        let stride = if cfg!(miri) {
            0x00ff_fff1
        } else {
            0x0001_0001 - 2
        };
        for bits in (0..=u32::MAX).step_by(stride) {
            check(bits);
        }
        assert!(checked > 6 * 256);
    }

    #[test]
    fn storage_names_sizes_and_codes_are_stable() {
        let table = [
            (Storage::F32, "f32", 4, 0),
            (Storage::F16, "f16", 2, 1),
            (Storage::Bf16, "bf16", 2, 2),
        ];
        for (storage, name, bytes, code) in table {
            assert_eq!(storage.name(), name);
            assert_eq!(storage.bytes(), bytes);
            assert_eq!(storage.code(), code);
            assert_eq!(Storage::from_code(code), Some(storage));
            assert_eq!(Storage::from_name(name), Some(storage));
            assert_eq!(Storage::from_name(&name.to_uppercase()), Some(storage));
        }
        assert_eq!(Storage::from_code(3), None);
        assert_eq!(Storage::from_name("f64"), None);
        assert_eq!(<f32 as Element>::STORAGE, Storage::F32);
        assert_eq!(<f16 as Element>::STORAGE, Storage::F16);
        assert_eq!(<bf16 as Element>::STORAGE, Storage::Bf16);
        assert_eq!(core::mem::size_of::<f16>(), Storage::F16.bytes());
        assert_eq!(core::mem::size_of::<bf16>(), Storage::Bf16.bytes());
    }

    #[test]
    fn stored_dot_is_the_reference_chain() {
        let doc: [f32; 20] = core::array::from_fn(|i| i as f32 * 0.25 - 2.0);
        let mut stored = [0.0f32; 16 * 5];
        pack_document(&doc, 5, &mut stored);
        let query = [1.0, -2.0, 0.5, 3.0, -1.0];
        for row in 0..4 {
            let expected = crate::scalar::dot(&query, &doc[row * 5..row * 5 + 5]);
            assert_eq!(
                stored_dot(&query, &stored, row).to_bits(),
                expected.to_bits()
            );
        }
        // Row 0 gives -2^-70, row 1 -0.0 (-2^-160 rounded), row 2 +0.0: the first zero in row
        // order is -0.0.
        // (Dim 1: a further step of exact zeros would turn -0.0 into +0.0.)
        let doc = [pow2(30), pow2(-60), 0.0];
        let mut stored = [0.0f32; 16];
        pack_document(&doc, 1, &mut stored);
        let query = [-pow2(-100)];
        assert_eq!(stored_dot(&query, &stored, 0), -pow2(-70));
        let zero = first_zero_similarity(&query, &stored, 3);
        assert_eq!(zero.to_bits(), (-0.0f32).to_bits());
        assert_eq!(stored_dot(&query, &stored, 2).to_bits(), 0);
        assert_eq!(first_zero_similarity(&query, &stored, 1).to_bits(), 0);
    }

    #[test]
    #[should_panic(expected = "wrong length")]
    fn a_stored_buffer_of_the_wrong_length_panics() {
        pack_document::<f32>(&[1.0; 4], 2, &mut [0.0; 4]);
    }

    #[test]
    #[should_panic(expected = "not a multiple of dim")]
    fn a_ragged_document_panics() {
        pack_document::<bf16>(&[1.0; 5], 2, &mut [bf16::ZERO; 32]);
    }

    #[test]
    #[should_panic(expected = "dim must be at least 1")]
    fn packing_dim_zero_panics() {
        pack_document_from::<f16>(&[], 0, &mut []);
    }

    #[test]
    #[should_panic(expected = "has no row 16")]
    fn unpacking_a_row_past_the_blocks_panics() {
        let _ = unpack_row(&[0.0f32; 32], 2, 16);
    }

    #[test]
    #[should_panic(expected = "shorter than 17 rows")]
    fn unpacking_a_short_document_panics() {
        unpack_document(&[0.0f32; 32], 2, 17, &mut [0.0; 34]);
    }
}
