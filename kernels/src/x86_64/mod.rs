//! x86_64 kernels: AVX2 with FMA3, and AVX-512F.

pub mod avx2;
pub mod avx512;
