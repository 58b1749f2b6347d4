//! aarch64 kernels: Advanced SIMD (NEON).

pub mod neon;
