//! The register-blocked MaxSim kernel, written once and instantiated per ISA.
//!
//! An ISA module defines the vector type `V`, a NaN-flag type `Flag`, and these
//! `#[target_feature]` helpers, then invokes [`lane_kernel!`]:
//!
//! | helper | meaning |
//! |---|---|
//! | `zero() -> V`, `splat(x) -> V` | all lanes `+0.0` / `x` |
//! | `unsafe load(p) -> V` | `LANES` floats from `p`, any alignment |
//! | `fmadd(a, b, acc) -> V` | `a * b + acc`, rounded once |
//! | `max_keep(x, m) -> V` | per lane `if x > m { x } else { m }` (NaN `x` keeps `m`) |
//! | `no_nan() -> Flag`, `note_nan(flag, v) -> Flag` | which lanes have seen a NaN |
//! | `unsafe store_maxima(m, flag, out)` | `LANES` floats to `out`: `m`, or NaN where flagged |
//! | `prefetch(p)` | a hint to bring `p`'s cache line closer; any address, never faults |
//!
//! The tile shapes are given per ISA: `groups_of` query blocks are scored together against
//! `rows_per_group` document rows at a time (one accumulator per block and row); a query with a
//! single block left over uses `rows_per_single` document rows instead, to keep enough
//! independent accumulators in flight. Document rows are visited in increasing order and each
//! lane's maximum is updated in that order, exactly as the scalar reference does.

macro_rules! lane_kernel {
    (
        features = $features:literal,
        lanes = $lanes:literal,
        groups_of = $groups_of:literal,
        rows_per_group = $rows_per_group:literal,
        rows_per_single = $rows_per_single:literal,
        prefetch_tiles = $prefetch_tiles:literal $(,)?
    ) => {
        /// How many tiles ahead of the one being computed the document is prefetched.
        const PREFETCH_TILES: usize = $prefetch_tiles;

        /// Query rows per vector register.
        pub const LANES: usize = $lanes;

        /// Writes each query row's maximum similarity into `out[..query_rows]`.
        ///
        /// `packed` is the query packed for [`LANES`] lanes (see [`crate::layout`]); `doc` is
        /// row-major with `doc.len() / dim` rows.
        ///
        /// # Safety
        ///
        /// The CPU must support the target features this module is compiled for (see
        /// [`crate::Isa::is_supported`]). Lengths are checked: a short `packed` or `out` panics.
        ///
        /// # Panics
        ///
        /// If `dim` is zero or `packed` or `out` is too short.
        #[target_feature(enable = $features)]
        pub unsafe fn row_maxima(
            packed: &[f32],
            query_rows: usize,
            dim: usize,
            doc: &[f32],
            out: &mut [f32],
        ) {
            let out = &mut out[..query_rows];
            // SAFETY: the caller guarantees the CPU features; the driver checks the lengths.
            unsafe {
                for_each_block_maxima(packed, query_rows, dim, doc, |first_row, maxima| {
                    out[first_row..first_row + maxima.len()].copy_from_slice(maxima)
                })
            }
        }

        /// The MaxSim score: the query rows' maxima summed in row order from `+0.0`, NaN
        /// canonical. Same arguments as [`row_maxima`].
        ///
        /// # Safety
        ///
        /// The CPU must support the target features this module is compiled for (see
        /// [`crate::Isa::is_supported`]). Lengths are checked: a short `packed` panics.
        ///
        /// # Panics
        ///
        /// If `dim` is zero or `packed` is too short.
        #[target_feature(enable = $features)]
        pub unsafe fn score(packed: &[f32], query_rows: usize, dim: usize, doc: &[f32]) -> f32 {
            let mut total = 0.0f32;
            // SAFETY: the caller guarantees the CPU features; the driver checks the lengths.
            unsafe {
                for_each_block_maxima(packed, query_rows, dim, doc, |_, maxima| {
                    total = crate::sum_in_order(total, maxima)
                })
            };
            crate::canonical_nan(total)
        }

        /// The weighted score `sum over i of weights[i] * max_i`, accumulated in row order from
        /// `+0.0` as `total = fma(weights[i], max_i, total)`, NaN canonical. Same arguments as
        /// [`row_maxima`], plus one weight per query row.
        ///
        /// # Safety
        ///
        /// The CPU must support the target features this module is compiled for (see
        /// [`crate::Isa::is_supported`]). Lengths are checked: a short `packed` or `weights`
        /// panics.
        ///
        /// # Panics
        ///
        /// If `dim` is zero or `packed` or `weights` is too short.
        #[target_feature(enable = $features)]
        pub unsafe fn score_weighted(
            packed: &[f32],
            query_rows: usize,
            dim: usize,
            doc: &[f32],
            weights: &[f32],
        ) -> f32 {
            let weights = &weights[..query_rows];
            let mut total = 0.0f32;
            // SAFETY: the caller guarantees the CPU features; the driver checks the lengths.
            unsafe {
                for_each_block_maxima(packed, query_rows, dim, doc, |first_row, maxima| {
                    total = crate::weighted_sum_in_order(total, maxima, &weights[first_row..])
                })
            };
            crate::canonical_nan(total)
        }

        /// Runs [`crate::PEAK_PROBE_CHAINS`] independent fused multiply-add chains of
        /// `iterations` steps each, for measuring this ISA's FMA throughput: `iterations *
        /// PEAK_PROBE_CHAINS * LANES * 2` flops. The result only keeps the work observable.
        ///
        /// # Safety
        ///
        /// The CPU must support the target features this module is compiled for.
        #[target_feature(enable = $features)]
        pub unsafe fn fma_peak_probe(iterations: usize) -> f32 {
            let (scale, step) = (splat(0.999_999_9), splat(1e-7));
            let mut chains = [zero(); crate::PEAK_PROBE_CHAINS];
            for _ in 0..iterations {
                for chain in chains.iter_mut() {
                    *chain = fmadd(*chain, scale, step);
                }
            }
            let mut total = zero();
            for chain in chains {
                total = fmadd(chain, splat(1.0), total);
            }
            let mut lanes = [0.0f32; LANES];
            // SAFETY: `lanes` holds exactly `LANES` floats.
            unsafe { store_maxima(total, no_nan(), lanes.as_mut_ptr()) };
            lanes.iter().sum()
        }

        /// Calls `sink(first_row, maxima)` for each query block in increasing row order, with
        /// the maxima of that block's real (non-padding) rows.
        ///
        /// # Safety
        ///
        /// The CPU must support the target features this module is compiled for.
        ///
        /// # Panics
        ///
        /// If `dim` is zero or `packed` is shorter than the packed query.
        #[inline]
        #[target_feature(enable = $features)]
        unsafe fn for_each_block_maxima(
            packed: &[f32],
            query_rows: usize,
            dim: usize,
            doc: &[f32],
            mut sink: impl FnMut(usize, &[f32]),
        ) {
            assert!(dim > 0, "dim must be at least 1");
            let needed = crate::layout::packed_len(query_rows, dim, LANES);
            assert!(
                needed.is_some_and(|needed| packed.len() >= needed),
                "packed query is shorter than {query_rows} rows of dim {dim}"
            );
            let blocks = query_rows.div_ceil(LANES);
            let block_len = dim * LANES;
            let doc_rows = doc.len() / dim;
            let mut block = 0;
            while block + $groups_of <= blocks {
                // SAFETY: blocks `block..block + groups_of` lie inside `packed` (checked above)
                // and `doc` holds `doc_rows` rows of `dim` floats.
                unsafe {
                    block_group::<$groups_of, $rows_per_group>(
                        packed.as_ptr().add(block * block_len),
                        doc.as_ptr(),
                        dim,
                        doc_rows,
                        block * LANES,
                        query_rows,
                        &mut sink,
                    )
                };
                block += $groups_of;
            }
            while block < blocks {
                // SAFETY: as above, for the single block `block`.
                unsafe {
                    block_group::<1, $rows_per_single>(
                        packed.as_ptr().add(block * block_len),
                        doc.as_ptr(),
                        dim,
                        doc_rows,
                        block * LANES,
                        query_rows,
                        &mut sink,
                    )
                };
                block += 1;
            }
        }

        /// Scores `BLOCKS` consecutive query blocks against the whole document, `ROWS` document
        /// rows per tile, then narrower tiles for the remainder, and reports their maxima.
        ///
        /// # Safety
        ///
        /// The CPU must support the target features; `query` must point at `BLOCKS` packed
        /// blocks of `dim * LANES` floats and `doc` at `doc_rows * dim` floats.
        #[inline]
        #[target_feature(enable = $features)]
        unsafe fn block_group<const BLOCKS: usize, const ROWS: usize>(
            query: *const f32,
            doc: *const f32,
            dim: usize,
            doc_rows: usize,
            first_row: usize,
            query_rows: usize,
            sink: &mut impl FnMut(usize, &[f32]),
        ) {
            let mut max = [splat(f32::NEG_INFINITY); BLOCKS];
            let mut nan = [no_nan(); BLOCKS];
            let mut row = 0;
            // Each tile reads document rows `row..row + width`; every loop condition keeps
            // `row + width <= doc_rows`, and the query blocks are the caller's.
            while row + ROWS <= doc_rows {
                // SAFETY: rows `row..row + ROWS` are inside the document.
                unsafe { tile::<BLOCKS, ROWS>(query, doc.add(row * dim), dim, &mut max, &mut nan) };
                row += ROWS;
            }
            while ROWS > 4 && row + 4 <= doc_rows {
                // SAFETY: rows `row..row + 4` are inside the document.
                unsafe { tile::<BLOCKS, 4>(query, doc.add(row * dim), dim, &mut max, &mut nan) };
                row += 4;
            }
            while ROWS > 2 && row + 2 <= doc_rows {
                // SAFETY: rows `row..row + 2` are inside the document.
                unsafe { tile::<BLOCKS, 2>(query, doc.add(row * dim), dim, &mut max, &mut nan) };
                row += 2;
            }
            while row < doc_rows {
                // SAFETY: rows `row..row + 1` are inside the document.
                unsafe { tile::<BLOCKS, 1>(query, doc.add(row * dim), dim, &mut max, &mut nan) };
                row += 1;
            }
            let mut lanes = [0.0f32; LANES];
            for block in 0..BLOCKS {
                // SAFETY: `lanes` holds exactly `LANES` floats.
                unsafe { store_maxima(max[block], nan[block], lanes.as_mut_ptr()) };
                let block_first_row = first_row + block * LANES;
                let real_rows = LANES.min(query_rows - block_first_row);
                sink(block_first_row, &lanes[..real_rows]);
            }
        }

        /// The micro-kernel: `BLOCKS x ROWS` accumulators, one per (query block, document row),
        /// each a chain of fused multiply-adds over `k = 0..dim` in order. Then each block's
        /// running maximum takes the rows in increasing order.
        ///
        /// # Safety
        ///
        /// The CPU must support the target features; `query` must point at `BLOCKS` packed
        /// blocks of `dim * LANES` floats and `doc` at `ROWS * dim` floats.
        #[inline]
        #[target_feature(enable = $features)]
        unsafe fn tile<const BLOCKS: usize, const ROWS: usize>(
            query: *const f32,
            doc: *const f32,
            dim: usize,
            max: &mut [V; BLOCKS],
            nan: &mut [Flag; BLOCKS],
        ) {
            let block_len = dim * LANES;
            let mut acc = [[zero(); ROWS]; BLOCKS];
            // One cache line of floats per document row per step of the outer loop.
            const LINE: usize = 16;
            let mut line_start = 0;
            while line_start < dim {
                // Ask for the same line of the rows `PREFETCH_TILES` tiles ahead: the hardware
                // prefetchers do not train on short row-interleaved streams, and without this
                // an out-of-cache corpus runs at a fraction of DRAM bandwidth. A prefetch never
                // faults, and `wrapping_add` keeps the address arithmetic defined past the end.
                let ahead = doc.wrapping_add(PREFETCH_TILES * ROWS * dim + line_start * ROWS);
                for line in 0..ROWS {
                    prefetch(ahead.wrapping_add(line * LINE));
                }
                let line_end = dim.min(line_start + LINE);
                for k in line_start..line_end {
                    let mut q = [zero(); BLOCKS];
                    for (block, q) in q.iter_mut().enumerate() {
                        // SAFETY: `block * block_len + k * LANES + LANES <= BLOCKS * block_len`,
                        // inside the caller's query blocks.
                        *q = unsafe { load(query.add(block * block_len + k * LANES)) };
                    }
                    for row in 0..ROWS {
                        // SAFETY: `row * dim + k < ROWS * dim`, inside the caller's document rows.
                        let d = splat(unsafe { *doc.add(row * dim + k) });
                        for block in 0..BLOCKS {
                            acc[block][row] = fmadd(q[block], d, acc[block][row]);
                        }
                    }
                }
                line_start = line_end;
            }
            for block in 0..BLOCKS {
                for row in 0..ROWS {
                    nan[block] = note_nan(nan[block], acc[block][row]);
                    max[block] = max_keep(acc[block][row], max[block]);
                }
            }
        }
    };
}
