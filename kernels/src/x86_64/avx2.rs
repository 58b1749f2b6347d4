//! AVX2 + FMA3 kernel: 8 query rows per `ymm` register.
//!
//! Tiles: two query blocks (16 rows) by 6 document rows is 12 accumulators; with the two query
//! vectors and the broadcast that is 15 of the 16 registers. A lone block takes 8 rows.

use core::arch::x86_64::*;

type V = __m256;
/// All-ones lanes where a NaN similarity has been seen.
type Flag = __m256;

#[inline]
#[target_feature(enable = "avx2,fma")]
fn zero() -> V {
    _mm256_setzero_ps()
}

#[inline]
#[target_feature(enable = "avx2,fma")]
fn splat(x: f32) -> V {
    _mm256_set1_ps(x)
}

/// # Safety
///
/// `p` must be valid for reading 8 `f32` (no alignment needed).
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn load(p: *const f32) -> V {
    // SAFETY: the caller guarantees 8 readable floats; `loadu` needs no alignment.
    unsafe { _mm256_loadu_ps(p) }
}

#[inline]
#[target_feature(enable = "avx2,fma")]
fn fmadd(a: V, b: V, acc: V) -> V {
    _mm256_fmadd_ps(a, b, acc)
}

/// `vmaxps` returns its first operand where it is greater, else its second: NaN keeps `m`.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn max_keep(x: V, m: V) -> V {
    _mm256_max_ps(x, m)
}

#[inline]
#[target_feature(enable = "avx2,fma")]
fn no_nan() -> Flag {
    _mm256_setzero_ps()
}

#[inline]
#[target_feature(enable = "avx2,fma")]
fn note_nan(flag: Flag, v: V) -> Flag {
    _mm256_or_ps(flag, _mm256_cmp_ps::<_CMP_UNORD_Q>(v, v))
}

/// # Safety
///
/// `out` must be valid for writing 8 `f32` (no alignment needed).
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn store_maxima(m: V, flag: Flag, out: *mut f32) {
    let maxima = _mm256_blendv_ps(m, _mm256_set1_ps(f32::NAN), flag);
    // SAFETY: the caller guarantees 8 writable floats; `storeu` needs no alignment.
    unsafe { _mm256_storeu_ps(out, maxima) }
}

#[inline]
#[target_feature(enable = "avx2,fma")]
fn prefetch(p: *const f32) {
    super::prefetch_t1(p)
}

lane_kernel! {
    features = "avx2,fma",
    lanes = 8,
    groups_of = 2,
    rows_per_group = 6,
    rows_per_single = 8,
    prefetch_tiles = 4,
}
