//! NEON kernel: 4 query rows per 128-bit register.
//!
//! Tiles: two query blocks (8 rows) by 8 document rows is 16 of the 32 registers; a lone block
//! takes 12 rows. `fmax` propagates NaN, unlike x86 `maxps`, so the running maximum is a
//! compare-and-select that keeps the scalar reference's order semantics.
//!
//! Index kernel ([`crate::index`], one stored block per four `q` registers): `R` query rows by
//! `B` blocks, `R <= 6`: `R x 1` for 3 to 6 rows (12 to 24 accumulators and the block's four
//! vectors), `2 x 2` and `1 x 2`. `f16` is widened by `fcvtl` (assembly: Rust's `f16` NEON
//! intrinsics are unstable), `bf16` by `shll` (shift left long by 16). Not tuned on hardware:
//! checked for exactness under qemu.

use core::arch::aarch64::*;

use crate::index::{Element, Storage};

type V = float32x4_t;
/// All-ones lanes where a NaN similarity has been seen.
type Flag = uint32x4_t;

#[inline]
#[target_feature(enable = "neon")]
fn zero() -> V {
    vdupq_n_f32(0.0)
}

#[inline]
#[target_feature(enable = "neon")]
fn splat(x: f32) -> V {
    vdupq_n_f32(x)
}

/// # Safety
///
/// `p` must be valid for reading 4 `f32` (no alignment needed).
#[inline]
#[target_feature(enable = "neon")]
unsafe fn load(p: *const f32) -> V {
    // SAFETY: the caller guarantees 4 readable floats; `ld1` needs only element alignment,
    // which any `*const f32` into a slice has.
    unsafe { vld1q_f32(p) }
}

#[inline]
#[target_feature(enable = "neon")]
fn fmadd(a: V, b: V, acc: V) -> V {
    vfmaq_f32(acc, a, b)
}

#[inline]
#[target_feature(enable = "neon")]
fn max_keep(x: V, m: V) -> V {
    vbslq_f32(vcgtq_f32(x, m), x, m)
}

#[inline]
#[target_feature(enable = "neon")]
fn no_nan() -> Flag {
    vdupq_n_u32(0)
}

#[inline]
#[target_feature(enable = "neon")]
fn note_nan(flag: Flag, v: V) -> Flag {
    vorrq_u32(flag, vmvnq_u32(vceqq_f32(v, v)))
}

/// # Safety
///
/// `out` must be valid for writing 4 `f32` (no alignment needed).
#[inline]
#[target_feature(enable = "neon")]
unsafe fn store_maxima(m: V, flag: Flag, out: *mut f32) {
    let maxima = vbslq_f32(flag, vdupq_n_f32(f32::NAN), m);
    // SAFETY: the caller guarantees 4 writable floats with element alignment.
    unsafe { vst1q_f32(out, maxima) }
}

#[inline]
#[target_feature(enable = "neon")]
fn prefetch(p: *const f32) {
    // SAFETY: `prfm` is only a hint: it never faults and reads nothing architecturally,
    // whatever the address; it touches no registers or flags besides its address operand.
    unsafe {
        core::arch::asm!("prfm pldl2keep, [{0}]", in(reg) p, options(nostack, readonly, preserves_flags))
    }
}

lane_kernel! {
    features = "neon",
    lanes = 4,
    groups_of = 2,
    rows_per_group = 8,
    rows_per_single = 12,
    prefetch_tiles = 4,
}

/// The 16 stored values at `p` (one dimension of an index block), widened exactly to `f32`, in
/// stored lane order (vector `j` holds lanes `4j..4j + 4`): `f32` loaded as is, `f16` by
/// `fcvtl`/`fcvtl2`, `bf16` by `shll`/`shll2` (zero-extend and shift left by 16 in one step).
///
/// # Safety
///
/// `p` must be valid for reading 16 elements of `T` (element alignment, which any pointer into
/// a slice of `T` has).
#[inline]
#[target_feature(enable = "neon")]
unsafe fn widen<T: Element>(p: *const T) -> [V; 4] {
    // `T::STORAGE` is the true format of `T` (the trait is sealed), so each arm reads 16
    // elements of `T`'s size.
    match T::STORAGE {
        Storage::F32 => {
            let p = p.cast::<f32>();
            // SAFETY: 16 readable `f32` with element alignment.
            unsafe {
                [
                    vld1q_f32(p),
                    vld1q_f32(p.add(4)),
                    vld1q_f32(p.add(8)),
                    vld1q_f32(p.add(12)),
                ]
            }
        }
        Storage::F16 => {
            let p = p.cast::<u16>();
            // SAFETY: 16 readable 16-bit elements with element alignment.
            let (low, high) = unsafe { (vld1q_u16(p), vld1q_u16(p.add(8))) };
            let (v0, v1) = f16_to_f32(low);
            let (v2, v3) = f16_to_f32(high);
            [v0, v1, v2, v3]
        }
        Storage::Bf16 => {
            let p = p.cast::<u16>();
            // SAFETY: 16 readable 16-bit elements with element alignment.
            let (low, high) = unsafe { (vld1q_u16(p), vld1q_u16(p.add(8))) };
            [
                vreinterpretq_f32_u32(vshll_n_u16::<16>(vget_low_u16(low))),
                vreinterpretq_f32_u32(vshll_high_n_u16::<16>(low)),
                vreinterpretq_f32_u32(vshll_n_u16::<16>(vget_low_u16(high))),
                vreinterpretq_f32_u32(vshll_high_n_u16::<16>(high)),
            ]
        }
    }
}

/// Eight IEEE half-precision values (as bits) widened exactly to two vectors of `f32`: lanes
/// 0-3 and 4-7. `fcvtl` is base ARMv8.0 Advanced SIMD; Rust's `f16` NEON intrinsics are not
/// stable, hence the assembly.
#[inline]
#[target_feature(enable = "neon")]
fn f16_to_f32(halves: uint16x8_t) -> (V, V) {
    let low: V;
    let high: V;
    // SAFETY: `fcvtl`/`fcvtl2` read only the input register and write only their output
    // register: no memory, stack or flags. The conversion is exact and, with the default FPCR
    // that Rust code runs under, raises no trap.
    unsafe {
        core::arch::asm!(
            "fcvtl {low:v}.4s, {halves:v}.4h",
            "fcvtl2 {high:v}.4s, {halves:v}.8h",
            halves = in(vreg) halves,
            low = out(vreg) low,
            high = out(vreg) high,
            options(pure, nomem, nostack, preserves_flags)
        )
    };
    (low, high)
}

/// `-inf` in the lanes where `pad` is nonzero (padding rows), `s` elsewhere.
#[inline]
#[target_feature(enable = "neon")]
fn exclude(s: V, pad: V) -> V {
    vbslq_f32(vceqzq_f32(pad), s, vdupq_n_f32(f32::NEG_INFINITY))
}

/// The canonical NaN if any lane is flagged, else the largest lane of `m` (which holds no NaN;
/// of zeros of both signs, either).
#[inline]
#[target_feature(enable = "neon")]
fn reduce(m: &[V; 4], nan: &[Flag; 4]) -> f32 {
    let flagged = vorrq_u32(vorrq_u32(nan[0], nan[1]), vorrq_u32(nan[2], nan[3]));
    if vmaxvq_u32(flagged) != 0 {
        return f32::NAN;
    }
    vmaxvq_f32(vmaxq_f32(vmaxq_f32(m[0], m[1]), vmaxq_f32(m[2], m[3])))
}

index_kernel! {
    features = "neon",
    group_rows = 64,
    chunk_bytes = 32768,
    tiles = [
        (1 => 1 x 2), (2 => 2 x 2), (3 => 3 x 1), (4 => 4 x 1), (5 => 5 x 1), (6 => 6 x 1),
    ],
}

/// The NEON screen ([`crate::sketch`]): `smull`/`smull2` multiply 8 code pairs into `i16`
/// (exact: at most `128 * 128`), and `sadalp` adds adjacent pairs of those into `i32`
/// accumulators, so each token's two 32-bit lanes hold the sums of its dimensions `4g, 4g + 1`
/// and `4g + 2, 4g + 3`; `addp` adds them at the end. (Accumulating a second product into the
/// `i16` with `smlal` could overflow: `2 * 128 * 128` is `2^15`.)
///
/// Without the dot-product extension: its `vdotq_s32` intrinsic is unstable in Rust (as of
/// 1.95), so a `dotprod` path would need inline assembly.
///
/// Tiles: a block is four parts of 4 tokens (one `q` register of codes each, eight accumulators
/// per query row), so `R x B` holds `8 R B` accumulators: `1 x 2`, `2 x 1` and `3 x 1` (24, with
/// the query broadcasts, a part and the products, of 32 registers). Not tuned on hardware:
/// checked for exactness under qemu.
pub mod screen {
    use core::arch::aarch64::*;

    const LANES: usize = 4;
    type V = float32x4_t;
    /// The pair sums of tokens 0-1 and 2-3 of a part: lanes `2t` and `2t + 1` for token `t`.
    type Acc = [int32x4_t; 2];
    /// 4 tokens' 4 codes.
    type Part = int8x16_t;
    /// A query row's 4 codes, repeated 4 times.
    type Q = int8x16_t;
    const PARTS: usize = 4;
    const PART_BYTES: usize = 16;

    #[inline]
    #[target_feature(enable = "neon")]
    fn row_start(_query_row: &[i8]) -> i32 {
        0
    }

    #[inline]
    #[target_feature(enable = "neon")]
    fn acc_start(_start: i32) -> [Acc; PARTS] {
        [[vdupq_n_s32(0); 2]; PARTS]
    }

    /// # Safety
    ///
    /// `p` must be valid for reading 16 bytes.
    #[inline]
    #[target_feature(enable = "neon")]
    unsafe fn load_part(p: *const i8) -> Part {
        // SAFETY: the caller guarantees 16 readable bytes; `ld1` of bytes needs no alignment.
        unsafe { vld1q_s8(p) }
    }

    #[inline]
    #[target_feature(enable = "neon")]
    fn broadcast(codes: i32) -> Q {
        vreinterpretq_s8_s32(vdupq_n_s32(codes))
    }

    #[inline]
    #[target_feature(enable = "neon")]
    fn mac(acc: Acc, q: Q, d: Part) -> Acc {
        [
            vpadalq_s16(acc[0], vmull_s8(vget_low_s8(d), vget_low_s8(q))),
            vpadalq_s16(acc[1], vmull_high_s8(d, q)),
        ]
    }

    /// `addp` of a part's two accumulators gives its 4 tokens' sums in order.
    #[inline]
    #[target_feature(enable = "neon")]
    fn totals(acc: &[Acc; PARTS]) -> [V; 4] {
        [
            vcvtq_f32_s32(vpaddq_s32(acc[0][0], acc[0][1])),
            vcvtq_f32_s32(vpaddq_s32(acc[1][0], acc[1][1])),
            vcvtq_f32_s32(vpaddq_s32(acc[2][0], acc[2][1])),
            vcvtq_f32_s32(vpaddq_s32(acc[3][0], acc[3][1])),
        ]
    }

    /// # Safety
    ///
    /// `p` must be valid for reading 16 `f32` (element alignment, which any pointer into a
    /// slice of `f32` has).
    #[inline]
    #[target_feature(enable = "neon")]
    unsafe fn load_scales(p: *const f32) -> [V; 4] {
        // SAFETY: 16 readable `f32` with element alignment.
        unsafe {
            [
                vld1q_f32(p),
                vld1q_f32(p.add(4)),
                vld1q_f32(p.add(8)),
                vld1q_f32(p.add(12)),
            ]
        }
    }

    #[inline]
    #[target_feature(enable = "neon")]
    fn mul(a: V, b: V) -> V {
        vmulq_f32(a, b)
    }

    /// `fmax` (no NaN arises here; it even orders `-0.0` below `+0.0`).
    #[inline]
    #[target_feature(enable = "neon")]
    fn max_keep(x: V, m: V) -> V {
        vmaxq_f32(x, m)
    }

    #[inline]
    #[target_feature(enable = "neon")]
    fn splat(x: f32) -> V {
        vdupq_n_f32(x)
    }

    /// `-inf` in the lanes where `pad` is nonzero (padding tokens), `s` elsewhere.
    #[inline]
    #[target_feature(enable = "neon")]
    fn exclude(s: V, pad: V) -> V {
        vbslq_f32(vceqzq_f32(pad), s, vdupq_n_f32(f32::NEG_INFINITY))
    }

    /// The largest lane.
    #[inline]
    #[target_feature(enable = "neon")]
    fn reduce_max(m: &[V; 4]) -> f32 {
        vmaxvq_f32(vmaxq_f32(vmaxq_f32(m[0], m[1]), vmaxq_f32(m[2], m[3])))
    }

    #[inline]
    #[target_feature(enable = "neon")]
    fn prefetch(p: *const i8) {
        super::prefetch(p.cast())
    }

    screen_kernel! {
        features = "neon",
        group_rows = 64,
        chunk_bytes = 32768,
        tiles = [(1 => 1 x 2), (2 => 2 x 1), (3 => 3 x 1)],
    }
}
