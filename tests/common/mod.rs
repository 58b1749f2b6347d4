//! Shared test helpers: random matrices, the float64 oracle, ISA bookkeeping, .npy writing.
#![allow(dead_code)]

use maxsim::{Isa, TokenMatrix};

/// The environment variable CI sets to the ISA a run must dispatch to (for example `avx2`
/// under `qemu-x86_64 -cpu Haswell`), so a silently skipped kernel fails instead of passing.
pub const EXPECT_ENV: &str = "MAXSIM_EXPECT_ISA";

/// The ISA CI says this run must dispatch to, if any.
pub fn expected_isa() -> Option<Isa> {
    let name = std::env::var(EXPECT_ENV).ok().filter(|v| !v.is_empty())?;
    Some(Isa::from_name(&name).unwrap_or_else(|| panic!("{EXPECT_ENV}={name:?} is not an ISA")))
}

/// The environment variable CI sets to the ISAs whose kernels a run must test (comma
/// separated), so a host that lacks one fails instead of skipping it.
pub const REQUIRE_ENV: &str = "MAXSIM_REQUIRE_ISAS";

/// Every ISA this host runs. The ISAs CI requires must be among them, and the one it expects
/// dispatch to pick must be the best.
pub fn isas_under_test() -> Vec<Isa> {
    let isas = maxsim::supported_isas();
    for name in std::env::var(REQUIRE_ENV).unwrap_or_default().split(',') {
        let name = name.trim();
        if name.is_empty() {
            continue;
        }
        let isa =
            Isa::from_name(name).unwrap_or_else(|| panic!("{REQUIRE_ENV}: {name:?} is not an ISA"));
        assert!(
            isas.contains(&isa),
            "{REQUIRE_ENV} requires {isa} but this CPU runs only {isas:?}"
        );
    }
    if let Some(expected) = expected_isa() {
        assert!(
            isas.contains(&expected),
            "{EXPECT_ENV}={expected} but this CPU runs only {isas:?}"
        );
        let dispatched = maxsim::selected_isa().unwrap();
        assert_eq!(
            dispatched, expected,
            "dispatch picks {dispatched}, not {expected}"
        );
    }
    isas
}

/// A small deterministic generator (SplitMix64), so a proptest case is just a seed and shapes.
#[derive(Clone)]
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [-1, 1).
    pub fn unit(&mut self) -> f32 {
        ((self.next_u64() >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
}

/// How the values of a random matrix are drawn.
#[derive(Clone, Copy, Debug)]
pub enum Values {
    /// Uniform in [-1, 1).
    Unit,
    /// Mixed signs and magnitudes from 2^-20 to 2^20, with some exact zeros.
    Mixed,
    /// Small integers, where many dot products tie exactly.
    Integers,
    /// Values from 2^-80 to 2^-70, whose products are subnormal or round to +0.0 or -0.0, so
    /// maxima tie between zeros of both signs.
    Tiny,
}

pub fn value(rng: &mut Rng, kind: Values) -> f32 {
    match kind {
        Values::Unit => rng.unit(),
        Values::Mixed => {
            let r = rng.next_u64();
            if r.is_multiple_of(16) {
                return 0.0;
            }
            let exponent = ((r >> 8) % 41) as i32 - 20;
            rng.unit() * 2f32.powi(exponent)
        }
        Values::Integers => ((rng.next_u64() % 7) as i32 - 3) as f32,
        Values::Tiny => rng.unit() * 2f32.powi(-70 - (rng.next_u64() % 11) as i32),
    }
}

/// `rows x dim` random values placed `offset` floats into a buffer, so the matrix starts at an
/// address that is not a multiple of the vector width. Returns the buffer; the matrix is
/// `buf[offset..]`.
pub fn random_buffer(
    rng: &mut Rng,
    rows: usize,
    dim: usize,
    offset: usize,
    kind: Values,
) -> Vec<f32> {
    let mut buf = vec![f32::from_bits(0x7fc0_dead); offset];
    buf.extend((0..rows * dim).map(|_| value(rng, kind)));
    buf
}

pub fn matrix(buf: &[f32], offset: usize, dim: usize) -> TokenMatrix<'_> {
    TokenMatrix::new(&buf[offset..], dim).unwrap()
}

/// The score in float64 from the f32 inputs: products exact, sums nearly so.
pub fn oracle(query: TokenMatrix<'_>, doc: TokenMatrix<'_>) -> f64 {
    query
        .iter_rows()
        .map(|q| {
            doc.iter_rows()
                .map(|d| {
                    q.iter()
                        .zip(d)
                        .map(|(&a, &b)| a as f64 * b as f64)
                        .sum::<f64>()
                })
                .fold(f64::NEG_INFINITY, f64::max)
        })
        .sum()
}

/// The stated error bound of the f32 score against [`oracle`], for finite results:
///
/// `|score - oracle| <= 1.01 * u * (dim * sum_i A_i + n * sum_i |M_i|) + n * dim * 2^-149`
///
/// where `u = 2^-24`, `A_i = max_j sum_k |q_ik * d_jk|` bounds row i's dot-product rounding
/// (each of the `dim` fused steps rounds once), `M_i` is row i's f64 maximum and `n` the number
/// of rows (each of the `n` additions rounds once). The last term covers subnormal underflow.
pub fn error_bound(query: TokenMatrix<'_>, doc: TokenMatrix<'_>) -> f64 {
    let u = 2f64.powi(-24);
    let (n, dim) = (query.rows() as f64, query.dim() as f64);
    let mut dot_term = 0.0;
    let mut sum_term = 0.0;
    for q in query.iter_rows() {
        let abs_max = doc
            .iter_rows()
            .map(|d| {
                q.iter()
                    .zip(d)
                    .map(|(&a, &b)| (a as f64 * b as f64).abs())
                    .sum::<f64>()
            })
            .fold(0.0, f64::max);
        let max = doc
            .iter_rows()
            .map(|d| {
                q.iter()
                    .zip(d)
                    .map(|(&a, &b)| a as f64 * b as f64)
                    .sum::<f64>()
            })
            .fold(f64::NEG_INFINITY, f64::max);
        dot_term += abs_max;
        sum_term += max.abs();
    }
    1.01 * u * (dim * dot_term + n * sum_term) + n * dim * 2f64.powi(-149)
}

/// Writes a C-order `.npy` (version 1.0) with the given dtype descriptor and raw data bytes.
pub fn npy_bytes(descr: &str, shape: &[usize], data: &[u8]) -> Vec<u8> {
    npy_bytes_in_order(descr, shape, data, false)
}

/// [`npy_bytes`], optionally declaring Fortran order.
pub fn npy_bytes_in_order(descr: &str, shape: &[usize], data: &[u8], fortran: bool) -> Vec<u8> {
    let order = if fortran { "True" } else { "False" };
    let shape_text = match shape {
        [n] => format!("({n},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(|n| n.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut header =
        format!("{{'descr': '{descr}', 'fortran_order': {order}, 'shape': {shape_text}, }}");
    // Pad so that magic (6) + version (2) + length (2) + header + newline is a multiple of 64.
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

pub fn npy_f32(shape: &[usize], data: &[f32]) -> Vec<u8> {
    npy_bytes("<f4", shape, bytemuck::cast_slice(data))
}
