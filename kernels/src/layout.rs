//! The packed query layout shared by every kernel.
//!
//! A query of `rows` rows of `dim` floats is split into blocks of `lanes` rows (the last block
//! padded with zero rows). Block `b` stores, for each `k` in `0..dim`, the `lanes` values
//! `query[b * lanes + l][k]` side by side:
//!
//! ```text
//! packed[(b * dim + k) * lanes + l] = query[(b * lanes + l) * dim + k]
//! ```
//!
//! so one vector load at `(b * dim + k) * lanes` gives dimension `k` of a whole block. With
//! `lanes == 1` the layout is the plain row-major query. Padding rows are computed by the
//! kernels but never reported.

/// Number of `f32` a query of `rows` x `dim` occupies when packed for `lanes` lanes, or `None`
/// if that overflows `usize`.
pub const fn packed_len(rows: usize, dim: usize, lanes: usize) -> Option<usize> {
    let blocks = rows.div_ceil(lanes);
    match blocks.checked_mul(lanes) {
        Some(padded) => padded.checked_mul(dim),
        None => None,
    }
}

/// Packs a row-major query (`rows = query.len() / dim`) into `packed`.
///
/// # Panics
///
/// If `dim` or `lanes` is zero, `query.len()` is not a multiple of `dim`, or `packed.len()` is
/// not [`packed_len`].
pub fn pack_query(query: &[f32], dim: usize, lanes: usize, packed: &mut [f32]) {
    assert!(dim > 0 && lanes > 0, "dim and lanes must be at least 1");
    assert_eq!(
        query.len() % dim,
        0,
        "query length is not a multiple of dim"
    );
    let rows = query.len() / dim;
    assert_eq!(
        Some(packed.len()),
        packed_len(rows, dim, lanes),
        "packed buffer has the wrong length"
    );
    packed.fill(0.0);
    for (row, values) in query.chunks_exact(dim).enumerate() {
        let (block, lane) = (row / lanes, row % lanes);
        let block_start = block * dim * lanes;
        for (k, &value) in values.iter().enumerate() {
            packed[block_start + k * lanes + lane] = value;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packing_puts_each_dimension_of_a_block_side_by_side() {
        // 3 rows of dim 2, 2 lanes: blocks {r0, r1} and {r2, padding}.
        let query = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let mut packed = [f32::NAN; 8];
        pack_query(&query, 2, 2, &mut packed);
        assert_eq!(packed, [1.0, 3.0, 2.0, 4.0, 5.0, 0.0, 6.0, 0.0]);
        assert_eq!(packed_len(3, 2, 2), Some(8));
        assert_eq!(packed_len(0, 5, 16), Some(0));
        assert_eq!(packed_len(usize::MAX, 2, 16), None);
    }

    #[test]
    fn one_lane_is_the_row_major_query() {
        let query = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let mut packed = [0.0; 6];
        pack_query(&query, 3, 1, &mut packed);
        assert_eq!(packed, query);
    }

    #[test]
    #[should_panic(expected = "wrong length")]
    fn a_packed_buffer_of_the_wrong_length_panics() {
        pack_query(&[1.0; 4], 2, 4, &mut [0.0; 4]);
    }
}
