//! AVX-512F kernel: 16 query rows per `zmm` register.
//!
//! Tiles: two query blocks (32 rows) by 8 document rows is 16 accumulators, half the register
//! file, leaving room for the two query vectors and the broadcast; a lone block takes 12 rows.

use core::arch::x86_64::*;

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
    super::prefetch_t1(p)
}

lane_kernel! {
    features = "avx512f,avx2,fma",
    lanes = 16,
    groups_of = 2,
    rows_per_group = 8,
    rows_per_single = 12,
    prefetch_tiles = 4,
}
