//! AVX2 + FMA3 (+ F16C) kernel: 8 query rows per `ymm` register.
//!
//! Tiles: two query blocks (16 rows) by 6 document rows is 12 accumulators; with the two query
//! vectors and the broadcast that is 15 of the 16 registers. A lone block takes 8 rows.
//!
//! Index kernel ([`crate::index`], one stored block per two `ymm`): `R` query rows by `B`
//! blocks, `R <= 6`: `6 x 1`, `5 x 1` and `4 x 1` (12, 10 and 8 accumulators, the block's two
//! vectors and a broadcast), `3 x 1`, `2 x 2` and `1 x 4`. For 4 rows, two passes of `2 x 2`
//! run about 15% faster in cache, but tiles under 3 rows do not prefetch, and out of cache
//! `4 x 1` streams the seed corpus 2.2x faster (f32: 17.6 to 7.8 ms on Zen 5). F16C widens `f16`; `bf16`
//! is widened by interleaving with zero words, one instruction per 8 lanes.

use core::arch::x86_64::*;

use crate::index::{Element, Storage};

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
    super::prefetch_line(p)
}

lane_kernel! {
    features = "avx2,fma,f16c",
    lanes = 8,
    groups_of = 2,
    rows_per_group = 6,
    rows_per_single = 8,
    prefetch_tiles = 4,
}

/// The 16 stored values at `p` (one dimension of an index block), widened exactly to `f32`.
///
/// `f32` and `f16` (`vcvtph2ps`) keep stored lane order: vector 0 holds lanes 0-7, vector 1
/// lanes 8-15. `bf16` is interleaved below zero words (`vpunpcklwd` / `vpunpckhwd`, which widen
/// and shift in one step, within 128-bit halves): vector 0 holds lanes 0-3 and 8-11, vector 1
/// lanes 4-7 and 12-15.
///
/// # Safety
///
/// `p` must be valid for reading 16 elements of `T` (no alignment needed).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn widen<T: Element>(p: *const T) -> [V; 2] {
    // `T::STORAGE` is the true format of `T` (the trait is sealed), so each arm reads 16
    // elements of `T`'s size.
    match T::STORAGE {
        Storage::F32 => {
            let p = p.cast::<f32>();
            // SAFETY: 16 readable `f32`; `loadu` needs no alignment.
            unsafe { [_mm256_loadu_ps(p), _mm256_loadu_ps(p.add(8))] }
        }
        Storage::F16 => {
            let p = p.cast::<__m128i>();
            // SAFETY: 16 readable 16-bit elements are two 16-byte loads; `loadu` needs no
            // alignment.
            let (low, high) = unsafe { (_mm_loadu_si128(p), _mm_loadu_si128(p.add(1))) };
            [_mm256_cvtph_ps(low), _mm256_cvtph_ps(high)]
        }
        Storage::Bf16 => {
            // SAFETY: 16 readable 16-bit elements are 32 bytes; `loadu` needs no alignment.
            let words = unsafe { _mm256_loadu_si256(p.cast()) };
            let zero = _mm256_setzero_si256();
            [
                _mm256_castsi256_ps(_mm256_unpacklo_epi16(zero, words)),
                _mm256_castsi256_ps(_mm256_unpackhi_epi16(zero, words)),
            ]
        }
    }
}

/// `-inf` in the lanes where `pad` is nonzero (padding rows), `s` elsewhere.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn exclude(s: V, pad: V) -> V {
    let padding = _mm256_cmp_ps::<_CMP_NEQ_UQ>(pad, _mm256_setzero_ps());
    _mm256_blendv_ps(s, _mm256_set1_ps(f32::NEG_INFINITY), padding)
}

/// The canonical NaN if any lane is flagged, else the largest lane of `m` (which holds no NaN;
/// of zeros of both signs, either).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn reduce(m: &[V; 2], nan: &[Flag; 2]) -> f32 {
    if _mm256_movemask_ps(_mm256_or_ps(nan[0], nan[1])) != 0 {
        return f32::NAN;
    }
    let m = _mm256_max_ps(m[0], m[1]);
    let m = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps::<1>(m));
    let m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    let m = _mm_max_ss(m, _mm_movehdup_ps(m));
    _mm_cvtss_f32(m)
}

index_kernel! {
    features = "avx2,fma,f16c",
    group_rows = 64,
    chunk_bytes = 32768,
    tiles = [
        (1 => 1 x 4), (2 => 2 x 2), (3 => 3 x 1), (4 => 4 x 1), (5 => 5 x 1), (6 => 6 x 1),
    ],
}

/// The AVX2 screen ([`crate::sketch`]): codes sign-extended to `i16` (`vpmovsxbw`), multiplied
/// and added in pairs into `i32` (`vpmaddwd`, exact: at most `2 * 128 * 128`), so each token's
/// 32-bit lane pair holds the sums of its dimensions `4g, 4g + 1` and `4g + 2, 4g + 3`; the
/// pairs are added (`vphaddd`) at the end. (`vpmaddubsw` would take bytes directly, but it
/// saturates its 16-bit sums.)
///
/// Tiles: a block is four parts of 4 tokens (one `ymm` of `i16` each, four accumulators per
/// query row), so `R x B` holds `4 R B` accumulators: `1 x 2`, `2 x 1` and `3 x 1` (12
/// accumulators, the query rows' broadcasts and one part, of 16 registers).
pub mod screen {
    use core::arch::x86_64::*;

    const LANES: usize = 8;
    type V = __m256;
    /// The pair sums of 4 tokens: lanes `2t` and `2t + 1` for token `t`.
    type Acc = __m256i;
    /// 4 tokens' 4 codes, as 16 `i16`.
    type Part = __m256i;
    /// A query row's 4 codes as `i16`, repeated 4 times.
    type Q = __m256i;
    const PARTS: usize = 4;
    const PART_BYTES: usize = 16;

    #[inline]
    #[target_feature(enable = "avx2")]
    fn row_start(_query_row: &[i8]) -> i32 {
        0
    }

    #[inline]
    #[target_feature(enable = "avx2")]
    fn acc_start(_start: i32) -> [Acc; PARTS] {
        [_mm256_setzero_si256(); PARTS]
    }

    /// # Safety
    ///
    /// `p` must be valid for reading 16 bytes (no alignment needed).
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn load_part(p: *const i8) -> Part {
        // SAFETY: the caller guarantees 16 readable bytes; `loadu` needs no alignment.
        _mm256_cvtepi8_epi16(unsafe { _mm_loadu_si128(p.cast()) })
    }

    #[inline]
    #[target_feature(enable = "avx2")]
    fn broadcast(codes: i32) -> Q {
        _mm256_cvtepi8_epi16(_mm_set1_epi32(codes))
    }

    #[inline]
    #[target_feature(enable = "avx2")]
    fn mac(acc: Acc, q: Q, d: Part) -> Acc {
        _mm256_add_epi32(acc, _mm256_madd_epi16(d, q))
    }

    /// `vphaddd` of two parts gives tokens `0, 1, 4, 5 | 2, 3, 6, 7` of them; `vpermq` puts
    /// the middle 64-bit pairs back in token order.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn totals(acc: &[Acc; PARTS]) -> [V; 2] {
        let low = _mm256_permute4x64_epi64::<0b11_01_10_00>(_mm256_hadd_epi32(acc[0], acc[1]));
        let high = _mm256_permute4x64_epi64::<0b11_01_10_00>(_mm256_hadd_epi32(acc[2], acc[3]));
        [_mm256_cvtepi32_ps(low), _mm256_cvtepi32_ps(high)]
    }

    /// # Safety
    ///
    /// `p` must be valid for reading 16 `f32` (no alignment needed).
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn load_scales(p: *const f32) -> [V; 2] {
        // SAFETY: the caller guarantees 16 readable floats; `loadu` needs no alignment.
        unsafe { [_mm256_loadu_ps(p), _mm256_loadu_ps(p.add(8))] }
    }

    #[inline]
    #[target_feature(enable = "avx2")]
    fn mul(a: V, b: V) -> V {
        _mm256_mul_ps(a, b)
    }

    /// `vmaxps` returns its first operand where it is greater, else its second.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn max_keep(x: V, m: V) -> V {
        _mm256_max_ps(x, m)
    }

    #[inline]
    #[target_feature(enable = "avx2")]
    fn splat(x: f32) -> V {
        _mm256_set1_ps(x)
    }

    /// `-inf` in the lanes where `pad` is nonzero (padding tokens), `s` elsewhere.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn exclude(s: V, pad: V) -> V {
        let padding = _mm256_cmp_ps::<_CMP_NEQ_UQ>(pad, _mm256_setzero_ps());
        _mm256_blendv_ps(s, _mm256_set1_ps(f32::NEG_INFINITY), padding)
    }

    /// The largest lane (of zeros of both signs, either).
    #[inline]
    #[target_feature(enable = "avx2")]
    fn reduce_max(m: &[V; 2]) -> f32 {
        let m = _mm256_max_ps(m[0], m[1]);
        let m = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps::<1>(m));
        let m = _mm_max_ps(m, _mm_movehl_ps(m, m));
        let m = _mm_max_ss(m, _mm_shuffle_ps::<0b01>(m, m));
        _mm_cvtss_f32(m)
    }

    /// Asks for `p`'s cache line, non-temporal (see `crate::x86_64`).
    #[inline]
    #[target_feature(enable = "avx2")]
    fn prefetch(p: *const i8) {
        super::super::prefetch_line(p.cast())
    }

    screen_kernel! {
        features = "avx2",
        group_rows = 64,
        chunk_bytes = 32768,
        tiles = [(1 => 1 x 2), (2 => 2 x 1), (3 => 3 x 1), (4 => 2 x 1)],
    }
}
