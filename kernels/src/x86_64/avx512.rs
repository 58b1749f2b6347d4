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

/// The AVX-512 screens ([`crate::sketch`]): one 64-byte group of a block is 16 tokens' 4 codes,
/// one token per 32-bit lane of a `zmm`.
///
/// * [`screen::bw`] (AVX-512BW): as the AVX2 screen, codes sign-extended to `i16` and
///   multiplied and added in pairs (`vpmaddwd`); the pairs are added at the end.
/// * [`screen::vnni`] (AVX-512 VNNI): `vpdpbusd` multiplies unsigned by signed bytes and adds
///   each lane's 4 products into its `i32`: 64 products per instruction. The document codes are
///   made unsigned by flipping their top bit (`d + 128`, one `vpxord` per group, shared by the
///   tile's query rows), so each lane sums `T + 128 * sum(q)`; each accumulator starts from
///   `-128 * sum(q)` of its query row instead of zero. Every sum wraps modulo `2^32`, and `T`
///   fits in `i32`, so the result is exact.
pub mod screen {
    use core::arch::x86_64::*;

    const LANES: usize = 16;
    type V = __m512;

    /// # Safety
    ///
    /// `p` must be valid for reading 16 `f32` (no alignment needed).
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn load_scales(p: *const f32) -> [V; 1] {
        // SAFETY: the caller guarantees 16 readable floats; `loadu` needs no alignment.
        [unsafe { _mm512_loadu_ps(p) }]
    }

    #[inline]
    #[target_feature(enable = "avx512f")]
    fn mul(a: V, b: V) -> V {
        _mm512_mul_ps(a, b)
    }

    /// `vmaxps` returns its first operand where it is greater, else its second.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn max_keep(x: V, m: V) -> V {
        _mm512_max_ps(x, m)
    }

    #[inline]
    #[target_feature(enable = "avx512f")]
    fn splat(x: f32) -> V {
        _mm512_set1_ps(x)
    }

    /// `-inf` in the lanes where `pad` is nonzero (padding tokens), `s` elsewhere.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn exclude(s: V, pad: V) -> V {
        let padding = _mm512_cmp_ps_mask::<_CMP_NEQ_UQ>(pad, _mm512_setzero_ps());
        _mm512_mask_blend_ps(padding, s, _mm512_set1_ps(f32::NEG_INFINITY))
    }

    /// The largest lane (of zeros of both signs, either).
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn reduce_max(m: &[V; 1]) -> f32 {
        _mm512_reduce_max_ps(m[0])
    }

    /// Asks for `p`'s cache line, non-temporal (see `crate::x86_64`).
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn prefetch(p: *const i8) {
        super::super::prefetch_line(p.cast())
    }

    /// AVX-512BW: `vpmovsxbw` and `vpmaddwd`.
    ///
    /// Tiles: a block is two parts of 8 tokens (one `zmm` of `i16` each, two accumulators per
    /// query row): `R x B` holds `2 R B` accumulators, up to `5 x 2` (20, with 5 query
    /// broadcasts and a part, of 32 registers).
    pub mod bw {
        use super::*;

        /// The pair sums of 8 tokens: lanes `2t` and `2t + 1` for token `t`.
        type Acc = __m512i;
        /// 8 tokens' 4 codes, as 32 `i16`.
        type Part = __m512i;
        /// A query row's 4 codes as `i16`, repeated 8 times.
        type Q = __m512i;
        const PARTS: usize = 2;
        const PART_BYTES: usize = 32;

        #[inline]
        #[target_feature(enable = "avx512f,avx512bw")]
        fn row_start(_query_row: &[i8]) -> i32 {
            0
        }

        #[inline]
        #[target_feature(enable = "avx512f,avx512bw")]
        fn acc_start(_start: i32) -> [Acc; PARTS] {
            [_mm512_setzero_si512(); PARTS]
        }

        /// # Safety
        ///
        /// `p` must be valid for reading 32 bytes (no alignment needed).
        #[inline]
        #[target_feature(enable = "avx512f,avx512bw")]
        unsafe fn load_part(p: *const i8) -> Part {
            // SAFETY: the caller guarantees 32 readable bytes; `loadu` needs no alignment.
            _mm512_cvtepi8_epi16(unsafe { _mm256_loadu_si256(p.cast()) })
        }

        #[inline]
        #[target_feature(enable = "avx512f,avx512bw")]
        fn broadcast(codes: i32) -> Q {
            _mm512_cvtepi8_epi16(_mm256_set1_epi32(codes))
        }

        #[inline]
        #[target_feature(enable = "avx512f,avx512bw")]
        fn mac(acc: Acc, q: Q, d: Part) -> Acc {
            _mm512_add_epi32(acc, _mm512_madd_epi16(d, q))
        }

        /// The even and the odd lanes of the two parts gathered in token order
        /// (`vpermt2d`), then added.
        #[inline]
        #[target_feature(enable = "avx512f,avx512bw")]
        fn totals(acc: &[Acc; PARTS]) -> [V; 1] {
            let even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
            let odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
            let sums = _mm512_add_epi32(
                _mm512_permutex2var_epi32(acc[0], even, acc[1]),
                _mm512_permutex2var_epi32(acc[0], odd, acc[1]),
            );
            [_mm512_cvtepi32_ps(sums)]
        }

        screen_kernel! {
            features = "avx512f,avx512bw,avx2",
            group_rows = 64,
            chunk_bytes = 32768,
            tiles = [
                (1 => 1 x 4), (2 => 2 x 4), (3 => 3 x 3), (4 => 4 x 2), (5 => 5 x 2),
            ],
        }
    }

    /// AVX-512 VNNI: `vpdpbusd` on the document codes made unsigned.
    ///
    /// Tiles: one accumulator per query row and block, `R x B` of them: `R x 2` from 8 to 12
    /// rows, wider tiles for fewer rows (`4 x 4`, `6 x 3`, `1 x 8`). On Zen 5 (one thread, a
    /// cached 1038-token document at dim 128) the tiles from 4 rows run at 400 to 460 GMAC/s,
    /// about 75% of two `vpdpbusd` per cycle; `8 x 3`, `6 x 4` and `4 x 5` measured 330 to 355,
    /// as the compiler keeps every row's broadcast in a register and spills accumulators.
    pub mod vnni {
        use super::*;

        /// 16 tokens' sums.
        type Acc = __m512i;
        /// 16 tokens' 4 codes plus 128 each, as unsigned bytes.
        type Part = __m512i;
        /// A query row's 4 codes in every 32-bit lane.
        type Q = __m512i;
        const PARTS: usize = 1;
        const PART_BYTES: usize = 64;

        /// `-128 * sum(q)`, modulo `2^32`: the bias of the unsigned document codes, removed
        /// before the first product is added.
        #[inline]
        #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
        fn row_start(query_row: &[i8]) -> i32 {
            let sum: i32 = query_row.iter().map(|&q| i32::from(q)).sum();
            sum.wrapping_mul(-128)
        }

        #[inline]
        #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
        fn acc_start(start: i32) -> [Acc; PARTS] {
            [_mm512_set1_epi32(start)]
        }

        /// # Safety
        ///
        /// `p` must be valid for reading 64 bytes (no alignment needed).
        #[inline]
        #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
        unsafe fn load_part(p: *const i8) -> Part {
            // SAFETY: the caller guarantees 64 readable bytes; `loadu` needs no alignment.
            let codes = unsafe { _mm512_loadu_si512(p.cast()) };
            _mm512_xor_si512(codes, _mm512_set1_epi8(i8::MIN))
        }

        #[inline]
        #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
        fn broadcast(codes: i32) -> Q {
            _mm512_set1_epi32(codes)
        }

        #[inline]
        #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
        fn mac(acc: Acc, q: Q, d: Part) -> Acc {
            _mm512_dpbusd_epi32(acc, d, q)
        }

        #[inline]
        #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
        fn totals(acc: &[Acc; PARTS]) -> [V; 1] {
            [_mm512_cvtepi32_ps(acc[0])]
        }

        screen_kernel! {
            features = "avx512f,avx512bw,avx512vnni,avx2",
            group_rows = 64,
            chunk_bytes = 32768,
            tiles = [
                (1 => 1 x 8), (2 => 2 x 6), (3 => 3 x 5), (4 => 4 x 4), (5 => 5 x 4),
                (6 => 6 x 3), (7 => 7 x 3), (8 => 8 x 2), (9 => 9 x 2), (10 => 10 x 2),
                (11 => 11 x 2), (12 => 12 x 2),
            ],
        }
    }
}
