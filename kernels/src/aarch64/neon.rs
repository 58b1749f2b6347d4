//! NEON kernel: 4 query rows per 128-bit register.
//!
//! Tiles: two query blocks (8 rows) by 8 document rows is 16 of the 32 registers; a lone block
//! takes 12 rows. `fmax` propagates NaN, unlike x86 `maxps`, so the running maximum is a
//! compare-and-select that keeps the scalar reference's order semantics.

use core::arch::aarch64::*;

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
