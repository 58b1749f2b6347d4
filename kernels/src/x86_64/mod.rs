//! x86_64 kernels: AVX2 with FMA3, and AVX-512F.

pub mod avx2;
pub mod avx512;

/// Asks for `p`'s cache line in L2 (`prefetcht1`, baseline SSE on every x86_64 CPU).
#[inline(always)]
fn prefetch_t1(p: *const f32) {
    // `_mm_prefetch` became a safe function only after this crate's minimum Rust (1.89), which
    // requires the block; later compilers call it redundant.
    #[allow(unused_unsafe)]
    // SAFETY: a prefetch is only a hint: it never faults and reads nothing architecturally,
    // whatever the address, and SSE is part of the x86_64 baseline.
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T1 }>(p.cast())
    }
}
