//! AVX-512F kernel: 16 query rows per `zmm` register.
//!
//! Tiles: two query blocks (32 rows) by 8 document rows is 16 accumulators, half the register
//! file, leaving room for the two query vectors and the broadcast; a lone block takes 12 rows.
//!
//! Index kernel ([`crate::index`], one stored block per `zmm`): `R` query rows by `B` blocks,
//! `R <= 14`: `R x 2` for 9 to 14 rows (18 to 28 accumulators and the two document vectors;
//! the query values are broadcast from memory), `8 x 3` and `7 x 3`, `R x 4` for 2 to 6 rows,
//! `1 x 8` for one. At least 8 independent chains cover the FMA latency (4) times two FMA
//! ports; the tall tiles load fewer document bytes per FMA, which counts for f32 storage read
//! from L2. On Zen 5 this table measured 1 to 5 points of the FMA peak above the previous
//! (`R <= 10`, `R x 2` from 6 rows) at 16 and 32 query rows, and the same at 10; `16 x 1` (one
//! block, one document load per 16 FMAs but 16 broadcasts) measured 10 points below it.

use core::arch::x86_64::*;

use crate::index::{Element, Storage};

type V = __m512;
/// One bit per lane: set once the lane has seen a NaN similarity.
type Flag = __mmask16;

#[inline]
#[target_feature(enable = "avx512f")]
fn zero() -> V {
    _mm512_setzero_ps()
}

#[inline]
#[target_feature(enable = "avx512f")]
fn splat(x: f32) -> V {
    _mm512_set1_ps(x)
}

/// # Safety
///
/// `p` must be valid for reading 16 `f32` (no alignment needed).
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn load(p: *const f32) -> V {
    // SAFETY: the caller guarantees 16 readable floats; `loadu` needs no alignment.
    unsafe { _mm512_loadu_ps(p) }
}

#[inline]
#[target_feature(enable = "avx512f")]
fn fmadd(a: V, b: V, acc: V) -> V {
    _mm512_fmadd_ps(a, b, acc)
}

/// `vmaxps` returns its first operand where it is greater, else its second: NaN keeps `m`.
#[inline]
#[target_feature(enable = "avx512f")]
fn max_keep(x: V, m: V) -> V {
    _mm512_max_ps(x, m)
}

#[inline]
#[target_feature(enable = "avx512f")]
fn no_nan() -> Flag {
    0
}

#[inline]
#[target_feature(enable = "avx512f")]
fn note_nan(flag: Flag, v: V) -> Flag {
    flag | _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(v, v)
}

/// # Safety
///
/// `out` must be valid for writing 16 `f32` (no alignment needed).
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn store_maxima(m: V, flag: Flag, out: *mut f32) {
    let maxima = _mm512_mask_blend_ps(flag, m, _mm512_set1_ps(f32::NAN));
    // SAFETY: the caller guarantees 16 writable floats; `storeu` needs no alignment.
    unsafe { _mm512_storeu_ps(out, maxima) }
}

#[inline]
#[target_feature(enable = "avx512f")]
fn prefetch(p: *const f32) {
    super::prefetch_line(p)
}

lane_kernel! {
    features = "avx512f,avx2,fma,f16c",
    lanes = 16,
    groups_of = 2,
    rows_per_group = 8,
    rows_per_single = 12,
    prefetch_tiles = 4,
}

/// The 16 stored values at `p` (one dimension of an index block), widened exactly to `f32`, in
/// stored lane order: `f32` loaded as is, `f16` by `vcvtph2ps`, `bf16` zero-extended to 32 bits
/// and shifted left by 16.
///
/// # Safety
///
/// `p` must be valid for reading 16 elements of `T` (no alignment needed).
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn widen<T: Element>(p: *const T) -> [V; 1] {
    // `T::STORAGE` is the true format of `T` (the trait is sealed), so each arm reads 16
    // elements of `T`'s size.
    match T::STORAGE {
        // SAFETY: 16 readable `f32`; `loadu` needs no alignment.
        Storage::F32 => [unsafe { _mm512_loadu_ps(p.cast()) }],
        Storage::F16 => {
            // SAFETY: 16 readable 16-bit elements are 32 bytes; `loadu` needs no alignment.
            let halves = unsafe { _mm256_loadu_si256(p.cast()) };
            [_mm512_cvtph_ps(halves)]
        }
        Storage::Bf16 => {
            // SAFETY: as for `f16`.
            let halves = unsafe { _mm256_loadu_si256(p.cast()) };
            let words = _mm512_cvtepu16_epi32(halves);
            [_mm512_castsi512_ps(_mm512_slli_epi32::<16>(words))]
        }
    }
}

/// `-inf` in the lanes where `pad` is nonzero (padding rows), `s` elsewhere.
#[inline]
#[target_feature(enable = "avx512f")]
fn exclude(s: V, pad: V) -> V {
    let padding = _mm512_cmp_ps_mask::<_CMP_NEQ_UQ>(pad, _mm512_setzero_ps());
    _mm512_mask_blend_ps(padding, s, _mm512_set1_ps(f32::NEG_INFINITY))
}

/// The canonical NaN if any lane is flagged, else the largest lane of `m` (which holds no NaN;
/// of zeros of both signs, either).
#[inline]
#[target_feature(enable = "avx512f")]
fn reduce(m: &[V; 1], nan: &[Flag; 1]) -> f32 {
    if nan[0] != 0 {
        f32::NAN
    } else {
        _mm512_reduce_max_ps(m[0])
    }
}

index_kernel! {
    features = "avx512f,avx2,fma,f16c",
    group_rows = 64,
    chunk_bytes = 32768,
    tiles = [
        (1 => 1 x 8), (2 => 2 x 4), (3 => 3 x 4), (4 => 4 x 4), (5 => 5 x 4),
        (6 => 6 x 4), (7 => 7 x 3), (8 => 8 x 3), (9 => 9 x 2), (10 => 10 x 2),
        (11 => 11 x 2), (12 => 12 x 2), (13 => 13 x 2), (14 => 14 x 2),
    ],
}
