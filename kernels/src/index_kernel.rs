//! The register-blocked kernel for stored documents ([`crate::index`]), written once and
//! instantiated per ISA.
//!
//! An ISA module first invokes [`lane_kernel!`] (for `LANES`, `V`, `Flag` and the helpers
//! `zero`, `splat`, `fmadd`, `max_keep`, `note_nan`, `no_nan`, `prefetch`), then defines
//!
//! | helper | meaning |
//! |---|---|
//! | `unsafe widen::<T>(p) -> [V; VECS]` | the 16 stored values at `p` (one dimension of a |
//! | | block) widened exactly to `f32`, in a lane order fixed per element type |
//! | `exclude(s, pad) -> V` | per lane `-inf` where `pad` is nonzero, else `s` |
//! | `reduce(&[V; VECS], &[Flag; VECS]) -> f32` | NaN if any lane is flagged, else the |
//! | | largest lane (either zero if that is zero) |
//!
//! and invokes [`index_kernel!`] with its tile table.
//!
//! # The loop nest
//!
//! The query is scored in groups of up to `group_rows` rows, whose running maxima (`VECS`
//! vectors per query row, one lane per document lane) and NaN flags live in a stack array. A
//! group walks the document's full blocks a chunk at a time (about `chunk_bytes` of storage, so
//! that a chunk stays in the L1 or L2 cache while every query tile of the group passes over
//! it). The group's rows are split into tiles of nearly equal height, at most the table's
//! tallest; the table maps a height `H` to `H / R` passes of the micro-kernel `R x B`: `R`
//! query rows against `B` document blocks, `R x B x VECS` accumulators, each the chain of one
//! (query row, document row) pair over `k = 0..dim` in order from `+0.0`. Each widened document
//! vector is reused by all `R` rows and each query value is broadcast once per `k`. After each
//! micro-kernel call every running maximum takes the call's similarities (`max_keep` and
//! `note_nan` once per accumulator). The partial last block runs once more per tile with its
//! padding lanes set to `-inf` before the maximum, so they are neither a maximum nor a NaN.
//!
//! At the end of a group each row's lanes are reduced to its maximum (NaN if any lane saw a
//! NaN). That reduction does not follow row order, which matters only for a maximum of zero:
//! those rows are recomputed by [`crate::index::first_zero_similarity`].
//!
//! While the tiles score one chunk, the micro-kernel asks for the next chunk's cache lines
//! (`prefetch`), a few per step of `k`, so that an out-of-cache document streams at close to
//! compute speed: the hardware prefetchers alone leave each chunk's first tile waiting on
//! DRAM. The last chunk asks for the memory that follows the document, which in a corpus
//! stored contiguously is the next document's first chunk.

macro_rules! index_kernel {
    (
        features = $features:literal,
        group_rows = $group_rows:literal,
        chunk_bytes = $chunk_bytes:literal,
        tiles = [$(($height:literal => $rows:literal x $blocks:literal)),+ $(,)?] $(,)?
    ) => {
        /// Vectors per dimension of a stored block.
        const VECS: usize = crate::index::INDEX_LANES / LANES;

        /// Query rows scored together against each chunk of the document.
        const GROUP_ROWS: usize = $group_rows;

        /// The tallest query tile: the largest height of the tile table.
        #[allow(clippy::modulo_one)]
        const MAX_TILE_ROWS: usize = {
            let mut tallest = 0;
            $(
                assert!($height % $rows == 0, "a tile height must be a multiple of its R");
                if $height > tallest {
                    tallest = $height;
                }
            )+
            tallest
        };

        /// Storage bytes per chunk of document blocks.
        const CHUNK_BYTES: usize = $chunk_bytes;

        /// The most cache lines of the next chunk a micro-kernel asks for per step of `k`. Four
        /// would let `R x 4` tiles of f32 blocks prefetch too: on Zen 5 that streams the seed
        /// corpus 1.4x faster at 4 query rows (11.5 to 8.2 ms) but costs them a quarter of their
        /// speed in cache (82% to 62% of the FMA peak), where they already read 32 bytes per
        /// cycle from L2.
        const PREFETCH_PER_K: usize = 2;

        /// The least query rows of a micro-kernel that prefetches.
        const PREFETCH_MIN_ROWS: usize = 3;

        /// Writes each query row's maximum similarity over a stored document into
        /// `out[..query_rows]`. `query` is row-major; `doc` holds a document of `doc_rows` rows
        /// in the index layout ([`crate::index`]).
        ///
        /// # Safety
        ///
        /// The CPU must support the target features this module is compiled for (see
        /// [`crate::Isa::is_supported`]). Lengths are checked: short buffers panic.
        ///
        /// # Panics
        ///
        /// If `dim` is zero, or `query`, `doc` or `out` is too short.
        #[target_feature(enable = $features)]
        pub unsafe fn index_row_maxima<T: crate::index::Element>(
            query: &[f32],
            query_rows: usize,
            dim: usize,
            doc: &[T],
            doc_rows: usize,
            out: &mut [f32],
        ) {
            crate::index::check_rows(out.len(), query_rows, "out");
            // SAFETY: the caller guarantees the CPU features; the driver checks the lengths.
            unsafe {
                index_for_each_group(query, query_rows, dim, doc, doc_rows, |first_row, maxima| {
                    out[first_row..first_row + maxima.len()].copy_from_slice(maxima)
                })
            }
        }

        /// The MaxSim score against a stored document: the query rows' maxima summed in row
        /// order from `+0.0`, NaN canonical. Same arguments as [`index_row_maxima`].
        ///
        /// # Safety
        ///
        /// The CPU must support the target features this module is compiled for (see
        /// [`crate::Isa::is_supported`]). Lengths are checked: short buffers panic.
        ///
        /// # Panics
        ///
        /// If `dim` is zero, or `query` or `doc` is too short.
        #[target_feature(enable = $features)]
        pub unsafe fn index_score<T: crate::index::Element>(
            query: &[f32],
            query_rows: usize,
            dim: usize,
            doc: &[T],
            doc_rows: usize,
        ) -> f32 {
            let mut total = 0.0f32;
            // SAFETY: the caller guarantees the CPU features; the driver checks the lengths.
            unsafe {
                index_for_each_group(query, query_rows, dim, doc, doc_rows, |_, maxima| {
                    total = crate::sum_in_order(total, maxima)
                })
            };
            crate::canonical_nan(total)
        }

        /// The weighted score against a stored document: `total = fma(weights[i], max_i,
        /// total)` in row order from `+0.0`, NaN canonical. Same arguments as
        /// [`index_row_maxima`], plus one weight per query row.
        ///
        /// # Safety
        ///
        /// The CPU must support the target features this module is compiled for (see
        /// [`crate::Isa::is_supported`]). Lengths are checked: short buffers panic.
        ///
        /// # Panics
        ///
        /// If `dim` is zero, or `query`, `doc` or `weights` is too short.
        #[target_feature(enable = $features)]
        pub unsafe fn index_score_weighted<T: crate::index::Element>(
            query: &[f32],
            query_rows: usize,
            dim: usize,
            doc: &[T],
            doc_rows: usize,
            weights: &[f32],
        ) -> f32 {
            crate::index::check_rows(weights.len(), query_rows, "weights");
            let mut total = 0.0f32;
            // SAFETY: the caller guarantees the CPU features; the driver checks the lengths.
            unsafe {
                index_for_each_group(query, query_rows, dim, doc, doc_rows, |first_row, maxima| {
                    total = crate::weighted_sum_in_order(total, maxima, &weights[first_row..])
                })
            };
            crate::canonical_nan(total)
        }

        /// Calls `sink(first_row, maxima)` for each group of query rows in increasing row order,
        /// with the exact (reference) maxima of those rows.
        ///
        /// # Safety
        ///
        /// The CPU must support the target features this module is compiled for.
        ///
        /// # Panics
        ///
        /// If `dim` is zero, or `query` or `doc` is too short.
        #[inline]
        #[target_feature(enable = $features)]
        unsafe fn index_for_each_group<T: crate::index::Element>(
            query: &[f32],
            query_rows: usize,
            dim: usize,
            doc: &[T],
            doc_rows: usize,
            mut sink: impl FnMut(usize, &[f32]),
        ) {
            crate::index::check_arguments(query.len(), query_rows, dim, doc.len(), doc_rows);
            let mut maxima = [0.0f32; GROUP_ROWS];
            let mut first_row = 0;
            while first_row < query_rows {
                let rows = GROUP_ROWS.min(query_rows - first_row);
                let group = &query[first_row * dim..(first_row + rows) * dim];
                // SAFETY: `group` holds `rows` rows of `dim` floats and `doc` a stored document
                // of `doc_rows` rows (both checked above); the caller guarantees the features.
                unsafe {
                    index_group(group.as_ptr(), rows, dim, doc.as_ptr(), doc_rows, &mut maxima)
                };
                for (max, query_row) in maxima[..rows].iter_mut().zip(group.chunks_exact(dim)) {
                    // The one order-sensitive maximum: see `crate::index`.
                    if *max == 0.0 {
                        *max = crate::index::first_zero_similarity(query_row, doc, doc_rows);
                    }
                }
                sink(first_row, &maxima[..rows]);
                first_row += rows;
            }
        }

        /// Micro-kernel passes over the document of a tile of `height` rows (`height / R`).
        #[inline]
        fn tile_passes(height: usize) -> usize {
            match height {
                $($height => $height / $rows,)+
                _ => 1,
            }
        }

        /// The height of tile `tile` of `tiles` nearly equal tiles covering `rows` rows (the
        /// first `rows % tiles` tiles one row taller).
        #[inline]
        fn tile_rows(rows: usize, tiles: usize, tile: usize) -> usize {
            rows / tiles + usize::from(tile < rows % tiles)
        }

        /// Full document blocks per chunk: about [`CHUNK_BYTES`] of storage, at least one.
        #[inline]
        fn chunk_blocks(block_bytes: usize) -> usize {
            (CHUNK_BYTES / block_bytes.max(1)).max(1)
        }

        /// Software prefetch of the document's next chunk, spread over the tiles that score the
        /// current one, so that it is in the cache when they reach it: the hardware
        /// prefetchers alone leave a chunk's first tile waiting on DRAM.
        struct Prefetch {
            /// The next cache line to ask for.
            next: *const u8,
            /// Cache lines left to ask for.
            lines: usize,
            /// Lines to ask for per document block a tile scores.
            per_block: usize,
        }

        impl Prefetch {
            /// Nothing to prefetch.
            fn none() -> Prefetch {
                Prefetch {
                    next: core::ptr::null(),
                    lines: 0,
                    per_block: 0,
                }
            }
        }

        /// Scores `rows <= GROUP_ROWS` query rows against a stored document, writing each row's
        /// maximum into `maxima[..rows]` (NaN if any similarity is NaN, `-inf` for an empty
        /// document; a zero maximum with either sign).
        ///
        /// # Safety
        ///
        /// The CPU must support the target features; `query` must point at `rows * dim` floats
        /// and `doc` at [`crate::index::index_len`]`(doc_rows, dim)` elements.
        #[inline]
        #[target_feature(enable = $features)]
        unsafe fn index_group<T: crate::index::Element>(
            query: *const f32,
            rows: usize,
            dim: usize,
            doc: *const T,
            doc_rows: usize,
            maxima: &mut [f32; GROUP_ROWS],
        ) {
            use crate::index::INDEX_LANES;
            let mut max = [[splat(f32::NEG_INFINITY); VECS]; GROUP_ROWS];
            let mut nan = [[no_nan(); VECS]; GROUP_ROWS];
            let block_len = INDEX_LANES * dim;
            let full_blocks = doc_rows / INDEX_LANES;
            let block_bytes = block_len * core::mem::size_of::<T>();
            let chunk = chunk_blocks(block_bytes);
            let tiles = rows.div_ceil(MAX_TILE_ROWS);
            let passes: usize = (0..tiles)
                .map(|tile| tile_passes(tile_rows(rows, tiles, tile)))
                .sum();
            let mut block = 0;
            while block < full_blocks {
                let blocks = chunk.min(full_blocks - block);
                // The next chunk, the partial block included. Past the document's end it is
                // the memory that follows, which in a corpus stored contiguously is the next
                // document's first chunk: the kernel cannot know, and a prefetch of memory that
                // is not is only wasted bandwidth. An address hint only, never read through, so
                // `wrapping_add` keeps it defined whatever it points at.
                let next = block + blocks;
                let lines = chunk * block_bytes.div_ceil(64);
                let mut ahead = Prefetch {
                    next: doc.wrapping_add(next * block_len).cast(),
                    lines,
                    // Spread over every micro-kernel pass of every tile over this chunk.
                    per_block: lines.div_ceil(passes * blocks),
                };
                let mut first = 0;
                for tile in 0..tiles {
                    let height = tile_rows(rows, tiles, tile);
                    // SAFETY: query rows `first..first + height` are in the group; blocks
                    // `block..block + blocks` are full blocks of the document.
                    unsafe {
                        dispatch_tile(
                            height,
                            query.add(first * dim),
                            dim,
                            doc.add(block * block_len),
                            blocks,
                            None,
                            &mut ahead,
                            &mut max[first..first + height],
                            &mut nan[first..first + height],
                        )
                    };
                    first += height;
                }
                block += blocks;
            }
            let real_lanes = doc_rows % INDEX_LANES;
            if real_lanes > 0 {
                // The partial block, with its padding lanes marked by a nonzero value widened in
                // the same lane order as the document.
                let marks: [T; INDEX_LANES] = core::array::from_fn(|lane| {
                    T::from_f32(if lane < real_lanes { 0.0 } else { 1.0 })
                });
                // SAFETY: `marks` holds the 16 values `widen` reads.
                let pad = unsafe { widen(marks.as_ptr()) };
                let mut first = 0;
                for tile in 0..tiles {
                    let height = tile_rows(rows, tiles, tile);
                    // SAFETY: query rows as above; block `full_blocks` is the partial block,
                    // stored in full (padding included) inside the document.
                    unsafe {
                        dispatch_tile(
                            height,
                            query.add(first * dim),
                            dim,
                            doc.add(full_blocks * block_len),
                            1,
                            Some(&pad),
                            &mut Prefetch::none(),
                            &mut max[first..first + height],
                            &mut nan[first..first + height],
                        )
                    };
                    first += height;
                }
            }
            for ((maximum, max), nan) in maxima.iter_mut().zip(&max).zip(&nan).take(rows) {
                *maximum = reduce(max, nan);
            }
        }

        /// Runs the tile of `height` rows from the ISA's table over `blocks` document blocks:
        /// for each group of `B` blocks, `height / R` passes of the `R x B` micro-kernel.
        ///
        /// # Safety
        ///
        /// As [`run_tile`], with `query` pointing at `height` rows and `max` and `nan` at least
        /// `height` long.
        #[inline]
        #[target_feature(enable = $features)]
        #[allow(clippy::too_many_arguments)]
        unsafe fn dispatch_tile<T: crate::index::Element>(
            height: usize,
            query: *const f32,
            dim: usize,
            doc: *const T,
            blocks: usize,
            pad: Option<&[V; VECS]>,
            ahead: &mut Prefetch,
            max: &mut [[V; VECS]],
            nan: &mut [[Flag; VECS]],
        ) {
            match height {
                $(
                    // SAFETY: the caller's conditions, with `height` rows.
                    $height => unsafe {
                        run_tile::<T, $rows, $blocks>(
                            query,
                            dim,
                            doc,
                            blocks,
                            pad,
                            ahead,
                            &mut max[..$height],
                            &mut nan[..$height],
                        )
                    },
                )+
                _ => unreachable!("no tile of {height} rows"),
            }
        }

        /// Scores `max.len()` query rows (a multiple of `R`) against `blocks` consecutive
        /// document blocks in block order: for each group of `B` blocks (then narrower groups
        /// for the remainder), a pass of the `R x B` micro-kernel per `R` rows, while the
        /// group's blocks are in the L1 cache.
        ///
        /// # Safety
        ///
        /// The CPU must support the target features; `query` must point at `max.len()` rows of
        /// `dim` floats and `doc` at `blocks` stored blocks of `16 * dim` elements; `nan` must
        /// be as long as `max`. With `pad`, `blocks` must be 1.
        #[inline]
        #[target_feature(enable = $features)]
        #[allow(clippy::too_many_arguments)]
        unsafe fn run_tile<T: crate::index::Element, const R: usize, const B: usize>(
            query: *const f32,
            dim: usize,
            doc: *const T,
            blocks: usize,
            pad: Option<&[V; VECS]>,
            ahead: &mut Prefetch,
            max: &mut [[V; VECS]],
            nan: &mut [[Flag; VECS]],
        ) {
            let block_len = crate::index::INDEX_LANES * dim;
            let passes = max.len() / R;
            // Every call reads blocks `block..block + width` with `block + width <= blocks`,
            // and query rows `pass * R..pass * R + R` of the tile.
            macro_rules! passes {
                ($width:tt, $block:expr, $pad:expr) => {
                    for pass in 0..passes {
                        let rows = pass * R..pass * R + R;
                        let query = query.wrapping_add(rows.start * dim);
                        let at = doc.wrapping_add($block * block_len);
                        let max = (&mut max[rows.clone()]).try_into().unwrap();
                        let nan = (&mut nan[rows]).try_into().unwrap();
                        // SAFETY: the caller's rows and blocks, as above.
                        unsafe {
                            index_tile::<T, R, $width>(query, dim, at, $pad, ahead, max, nan)
                        };
                    }
                };
            }
            if pad.is_some() {
                passes!(1, 0, pad);
                return;
            }
            let mut block = 0;
            while block + B <= blocks {
                passes!(B, block, None);
                block += B;
            }
            while B > 4 && block + 4 <= blocks {
                passes!(4, block, None);
                block += 4;
            }
            while B > 2 && block + 2 <= blocks {
                passes!(2, block, None);
                block += 2;
            }
            while block < blocks {
                passes!(1, block, None);
                block += 1;
            }
        }

        /// The micro-kernel: `R x B x VECS` accumulators, one per (query row, document lane),
        /// each a chain of fused multiply-adds over `k = 0..dim` in order from `+0.0`; then each
        /// query row's running maxima and NaN flags take the tile's similarities (with `pad`,
        /// padding lanes excluded).
        ///
        /// # Safety
        ///
        /// The CPU must support the target features; `query` must point at `R` rows of `dim`
        /// floats and `doc` at `B` stored blocks of `16 * dim` elements.
        #[inline]
        #[target_feature(enable = $features)]
        unsafe fn index_tile<T: crate::index::Element, const R: usize, const B: usize>(
            query: *const f32,
            dim: usize,
            doc: *const T,
            pad: Option<&[V; VECS]>,
            ahead: &mut Prefetch,
            max: &mut [[V; VECS]; R],
            nan: &mut [[Flag; VECS]; R],
        ) {
            use crate::index::INDEX_LANES;
            let block_len = INDEX_LANES * dim;
            let mut acc = [[[zero(); VECS]; B]; R];
            // This call's share of the next chunk's lines, at most `PREFETCH_PER_K` per step of `k`. Calls
            // of fewer than 3 rows, or with a larger share (few query rows per document line),
            // ask for none: they read the document fast enough for the hardware prefetchers and
            // are bound by memory bandwidth out of cache anyway, while in cache the extra lines
            // (which AMD brings into L1 whatever the hint) cost them up to a fifth of their
            // speed.
            let mut lines = ahead.lines.min(B * ahead.per_block);
            if R < PREFETCH_MIN_ROWS || lines > PREFETCH_PER_K * dim {
                lines = 0;
            }
            ahead.lines -= lines;
            let lines_per_k = lines.div_ceil(dim);
            let mut line = ahead.next;
            ahead.next = line.wrapping_add(lines * 64);
            for k in 0..dim {
                if lines > 0 {
                    let now = lines_per_k.min(lines);
                    for i in 0..now {
                        // A hint only: `wrapping_add` keeps the address arithmetic defined.
                        prefetch(line.wrapping_add(i * 64).cast());
                    }
                    line = line.wrapping_add(now * 64);
                    lines -= now;
                }
                let mut d = [[zero(); VECS]; B];
                for (block, d) in d.iter_mut().enumerate() {
                    // SAFETY: `block * block_len + k * 16 + 16 <= B * block_len`: dimension `k`
                    // of one of the caller's blocks.
                    *d = unsafe { widen(doc.add(block * block_len + k * INDEX_LANES)) };
                }
                for (row, acc) in acc.iter_mut().enumerate() {
                    // SAFETY: `row * dim + k < R * dim`, inside the caller's query rows.
                    let q = splat(unsafe { *query.add(row * dim + k) });
                    for (acc, d) in acc.iter_mut().zip(&d) {
                        for (acc, &d) in acc.iter_mut().zip(d) {
                            *acc = fmadd(q, d, *acc);
                        }
                    }
                }
            }
            for ((acc, max), nan) in acc.iter().zip(max.iter_mut()).zip(nan.iter_mut()) {
                for acc in acc {
                    for v in 0..VECS {
                        let similarity = match pad {
                            Some(pad) => exclude(acc[v], pad[v]),
                            None => acc[v],
                        };
                        nan[v] = note_nan(nan[v], similarity);
                        max[v] = max_keep(similarity, max[v]);
                    }
                }
            }
        }
    };
}
