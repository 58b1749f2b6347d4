//! The register-blocked screen kernel for document sketches ([`crate::sketch`]), written once
//! and instantiated per screen path ([`crate::ScreenIsa`]).
//!
//! A screen module defines, besides the `f32` vector type `V` of `LANES` lanes:
//!
//! | item | meaning |
//! |---|---|
//! | `PARTS`, `PART_BYTES` | a 64-byte group of a block is read as `PARTS` parts of `PART_BYTES` |
//! | `Part` | one part of a group as the multiply instruction takes it |
//! | `Q` | a query row's 4 codes of a group, broadcast as the multiply instruction takes them |
//! | `Acc` | the integer accumulators of one part for one query row |
//! | `row_start(row) -> i32` | what each token's sum starts from for this query row (`0`, or |
//! | | the correction of a biased multiply) |
//! | `acc_start(start) -> [Acc; PARTS]` | accumulators of one block starting from `start` |
//! | `unsafe load_part(p) -> Part` | the part at `p` |
//! | `broadcast(codes) -> Q` | 4 codes (one little-endian `i32`, as stored) in every lane |
//! | `mac(acc, q, d) -> Acc` | `acc` plus each lane's products of `q` and `d`, modulo `2^32` |
//! | `totals(&[Acc; PARTS]) -> [V; VECS]` | the 16 tokens' sums, converted to `f32`, in token |
//! | | order (lane `l` of vector `v` is token `v * LANES + l`) |
//! | `unsafe load_scales(p) -> [V; VECS]` | 16 `f32` at `p` in token order |
//! | `mul`, `max_keep`, `splat` | `f32` multiply; the larger of two non-NaN values (either |
//! | | zero of two zeros); broadcast |
//! | `exclude(s, pad) -> V` | per lane `-inf` where `pad` is nonzero, else `s` |
//! | `reduce_max(&[V; VECS]) -> f32` | the largest lane (either zero if that is zero) |
//! | `prefetch(p)` | a hint to bring `p`'s cache line closer |
//!
//! and invokes [`screen_kernel!`] with its tile table.
//!
//! # The loop nest
//!
//! As in the index kernel ([`crate::index_kernel`]): the query is scored in groups of up to
//! `group_rows` rows, whose running maxima (`VECS` vectors per row, one lane per token lane)
//! live in a stack array. A group walks the sketch's full blocks a chunk at a time (about
//! `chunk_bytes`, so that a chunk stays in the L1 cache while every query tile of the group
//! passes over it); a group's rows are split into tiles of nearly equal height, and the table
//! maps a height `H` to `H / R` passes of the micro-kernel `R x B`: `R` query rows against `B`
//! blocks, `R x B x PARTS` accumulators. For each 4-dimension group the micro-kernel broadcasts
//! each query row's 4 codes once and reads each block's 64 bytes once, for all `R` rows. At the
//! end each accumulator's 16 sums are converted to `f32`, multiplied by the 16 tokens' scales
//! and taken into the running maxima. The partial last block runs once more per tile with its
//! padding lanes set to `-inf` before the maximum.
//!
//! While the tiles score one chunk, the micro-kernel asks for the next chunk's cache lines (a
//! few per group step, spread over every pass of every tile), and the chunk's scales are asked
//! for at its start: without it the hardware prefetchers leave the screen, which reads its
//! document 4 times faster than the `f32` kernels, waiting on DRAM out of cache. The last chunk
//! asks for the memory that follows the sketch and its scales, which in a corpus stored
//! contiguously is the next document's.
//!
//! Integer sums are exact and `f32` conversion, multiplication and maximum are per lane, so
//! every lane holds exactly the scalar reference's product; only the maximum of zeros depends
//! on the order of comparison, so a row whose maximum is a zero is recomputed by
//! [`crate::sketch::zero_maximum`].

macro_rules! screen_kernel {
    (
        features = $features:literal,
        group_rows = $group_rows:literal,
        chunk_bytes = $chunk_bytes:literal,
        tiles = [$(($height:literal => $rows:literal x $blocks:literal)),+ $(,)?] $(,)?
    ) => {
        /// `f32` vectors per 16 tokens.
        const VECS: usize = crate::sketch::SKETCH_LANES / LANES;

        /// Query rows scored together against each chunk of the sketch.
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

        /// Sketch bytes per chunk of blocks.
        const CHUNK_BYTES: usize = $chunk_bytes;

        const _: () = assert!(PARTS * PART_BYTES == 64, "parts must cover a 64-byte group");

        /// The most cache lines of the next chunk a micro-kernel asks for per group step (it
        /// reads `B` lines per step).
        const PREFETCH_PER_GROUP: usize = 2;

        /// Writes each query row's screen maximum over a document sketch into
        /// `out[..query_rows]` (see [`crate::sketch`]); the same arguments as
        /// [`crate::scalar::screen_row_maxima`], whose bits it returns.
        ///
        /// # Safety
        ///
        /// The CPU must support the target features this module is compiled for (see
        /// [`crate::ScreenIsa::is_supported`]). Lengths are checked: short buffers panic.
        ///
        /// # Panics
        ///
        /// If `dim` is zero or above [`crate::sketch::MAX_SKETCH_DIM`], or `query`, `doc`,
        /// `scales` or `out` is too short.
        #[target_feature(enable = $features)]
        pub unsafe fn screen_row_maxima(
            query: &[i8],
            query_rows: usize,
            dim: usize,
            doc: &[i8],
            scales: &[f32],
            doc_rows: usize,
            out: &mut [f32],
        ) {
            crate::sketch::check_screen_arguments(
                query.len(),
                query_rows,
                dim,
                doc.len(),
                scales.len(),
                doc_rows,
                out.len(),
            );
            let padded_dim = crate::sketch::sketch_dim(dim);
            let mut first_row = 0;
            while first_row < query_rows {
                let rows = GROUP_ROWS.min(query_rows - first_row);
                let group = &query[first_row * padded_dim..(first_row + rows) * padded_dim];
                let maxima = &mut out[first_row..first_row + rows];
                // SAFETY: `group` holds `rows` rows of `padded_dim` codes, `doc` a sketch of
                // `doc_rows` tokens and `scales` `doc_rows` scales (all checked above); the
                // caller guarantees the features.
                unsafe { screen_group(group, rows, padded_dim, doc, scales, doc_rows, maxima) };
                for (max, query_row) in maxima.iter_mut().zip(group.chunks_exact(padded_dim)) {
                    // The one order-sensitive maximum: see `crate::sketch`.
                    if *max == 0.0 {
                        *max = crate::sketch::zero_maximum(query_row, doc, scales, doc_rows);
                    }
                }
                first_row += rows;
            }
        }

        /// Micro-kernel passes over the sketch of a tile of `height` rows (`height / R`).
        #[inline]
        fn tile_passes(height: usize) -> usize {
            match height {
                $($height => $height / $rows,)+
                _ => 1,
            }
        }

        /// Software prefetch of the sketch's next chunk, spread over the tiles that score the
        /// current one.
        struct Prefetch {
            /// The next cache line to ask for.
            next: *const i8,
            /// Cache lines left to ask for.
            lines: usize,
            /// Lines to ask for per sketch block a micro-kernel pass scores.
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

        /// The height of tile `tile` of `tiles` nearly equal tiles covering `rows` rows (the
        /// first `rows % tiles` tiles one row taller).
        #[inline]
        fn tile_rows(rows: usize, tiles: usize, tile: usize) -> usize {
            rows / tiles + usize::from(tile < rows % tiles)
        }

        /// Scores `rows <= GROUP_ROWS` query rows against a sketch, writing each row's maximum
        /// into `maxima[..rows]` (`-inf` for an empty document; a zero maximum with either
        /// sign).
        ///
        /// # Safety
        ///
        /// The CPU must support the target features; `query` must hold `rows` rows of
        /// `padded_dim` codes, `doc` a sketch of `doc_rows` tokens of `padded_dim` codes,
        /// `scales` at least `doc_rows` scales and `maxima` at least `rows` floats.
        #[inline]
        #[target_feature(enable = $features)]
        unsafe fn screen_group(
            query: &[i8],
            rows: usize,
            padded_dim: usize,
            doc: &[i8],
            scales: &[f32],
            doc_rows: usize,
            maxima: &mut [f32],
        ) {
            use crate::sketch::SKETCH_LANES;
            let mut max = [[splat(f32::NEG_INFINITY); VECS]; GROUP_ROWS];
            let mut start = [0i32; GROUP_ROWS];
            for (start, query_row) in start.iter_mut().zip(query.chunks_exact(padded_dim)) {
                *start = row_start(query_row);
            }
            let block_len = SKETCH_LANES * padded_dim;
            let full_blocks = doc_rows / SKETCH_LANES;
            let chunk = (CHUNK_BYTES / block_len).max(1);
            let tiles = rows.div_ceil(MAX_TILE_ROWS);
            let passes: usize = (0..tiles)
                .map(|tile| tile_passes(tile_rows(rows, tiles, tile)))
                .sum();
            let query = query.as_ptr();
            let mut block = 0;
            while block < full_blocks {
                let blocks = chunk.min(full_blocks - block);
                // The next chunk, the partial block included; past the sketch's end, the memory
                // that follows it. Address hints only, never read through, so `wrapping_add`
                // keeps them defined whatever they point at.
                let next = block + blocks;
                let next_scales = scales.as_ptr().wrapping_add(next * SKETCH_LANES);
                for line in 0..(chunk * SKETCH_LANES * 4).div_ceil(64) {
                    prefetch(next_scales.wrapping_add(line * 16).cast());
                }
                let lines = chunk * block_len / 64;
                let mut ahead = Prefetch {
                    next: doc.as_ptr().wrapping_add(next * block_len),
                    lines,
                    per_block: lines.div_ceil(passes * blocks),
                };
                let mut first = 0;
                for tile in 0..tiles {
                    let height = tile_rows(rows, tiles, tile);
                    // SAFETY: query rows `first..first + height` are in the group; blocks
                    // `block..block + blocks` are full blocks of the sketch, with their scales.
                    unsafe {
                        dispatch_tile(
                            height,
                            query.add(first * padded_dim),
                            padded_dim,
                            doc.as_ptr().add(block * block_len),
                            scales.as_ptr().add(block * SKETCH_LANES),
                            blocks,
                            None,
                            &mut ahead,
                            &start[first..first + height],
                            &mut max[first..first + height],
                        )
                    };
                    first += height;
                }
                block += blocks;
            }
            let real_lanes = doc_rows % SKETCH_LANES;
            if real_lanes > 0 {
                // The partial block: its real tokens' scales (the padding lanes' are never
                // used), and its padding lanes marked by a nonzero value.
                let mut last_scales = [0.0f32; SKETCH_LANES];
                last_scales[..real_lanes].copy_from_slice(&scales[full_blocks * SKETCH_LANES..doc_rows]);
                let marks: [f32; SKETCH_LANES] =
                    core::array::from_fn(|lane| if lane < real_lanes { 0.0 } else { 1.0 });
                // SAFETY: `marks` holds the 16 floats `load_scales` reads.
                let pad = unsafe { load_scales(marks.as_ptr()) };
                let mut first = 0;
                for tile in 0..tiles {
                    let height = tile_rows(rows, tiles, tile);
                    // SAFETY: query rows as above; block `full_blocks` is the partial block,
                    // stored in full (padding included) inside the sketch; `last_scales` holds
                    // 16 scales.
                    unsafe {
                        dispatch_tile(
                            height,
                            query.add(first * padded_dim),
                            padded_dim,
                            doc.as_ptr().add(full_blocks * block_len),
                            last_scales.as_ptr(),
                            1,
                            Some(&pad),
                            &mut Prefetch::none(),
                            &start[first..first + height],
                            &mut max[first..first + height],
                        )
                    };
                    first += height;
                }
            }
            for (maximum, max) in maxima.iter_mut().zip(&max).take(rows) {
                *maximum = reduce_max(max);
            }
        }

        /// Runs the tile of `height` rows from the path's table over `blocks` sketch blocks:
        /// for each group of `B` blocks, `height / R` passes of the `R x B` micro-kernel.
        ///
        /// # Safety
        ///
        /// As [`run_tile`], with `query` pointing at `height` rows and `start` and `max` at
        /// least `height` long.
        #[inline]
        #[target_feature(enable = $features)]
        #[allow(clippy::too_many_arguments)]
        unsafe fn dispatch_tile(
            height: usize,
            query: *const i8,
            padded_dim: usize,
            doc: *const i8,
            scales: *const f32,
            blocks: usize,
            pad: Option<&[V; VECS]>,
            ahead: &mut Prefetch,
            start: &[i32],
            max: &mut [[V; VECS]],
        ) {
            match height {
                $(
                    // SAFETY: the caller's conditions, with `height` rows.
                    $height => unsafe {
                        run_tile::<$rows, $blocks>(
                            query,
                            padded_dim,
                            doc,
                            scales,
                            blocks,
                            pad,
                            ahead,
                            &start[..$height],
                            &mut max[..$height],
                        )
                    },
                )+
                _ => unreachable!("no tile of {height} rows"),
            }
        }

        /// Scores `max.len()` query rows (a multiple of `R`) against `blocks` consecutive
        /// sketch blocks in block order: for each group of `B` blocks (then narrower groups for
        /// the remainder), a pass of the `R x B` micro-kernel per `R` rows.
        ///
        /// # Safety
        ///
        /// The CPU must support the target features; `query` must point at `max.len()` rows of
        /// `padded_dim` codes, `doc` at `blocks` sketch blocks of `16 * padded_dim` bytes and
        /// `scales` at `16 * blocks` floats; `start` must be as long as `max`. With `pad`,
        /// `blocks` must be 1.
        #[inline]
        #[target_feature(enable = $features)]
        #[allow(clippy::too_many_arguments)]
        unsafe fn run_tile<const R: usize, const B: usize>(
            query: *const i8,
            padded_dim: usize,
            doc: *const i8,
            scales: *const f32,
            blocks: usize,
            pad: Option<&[V; VECS]>,
            ahead: &mut Prefetch,
            start: &[i32],
            max: &mut [[V; VECS]],
        ) {
            use crate::sketch::SKETCH_LANES;
            let block_len = SKETCH_LANES * padded_dim;
            let passes = max.len() / R;
            // Every call reads blocks `block..block + width` with `block + width <= blocks`,
            // and query rows `pass * R..pass * R + R` of the tile.
            macro_rules! passes {
                ($width:tt, $block:expr, $pad:expr) => {
                    for pass in 0..passes {
                        let rows = pass * R..pass * R + R;
                        let query = query.wrapping_add(rows.start * padded_dim);
                        let at = doc.wrapping_add($block * block_len);
                        let scales = scales.wrapping_add($block * SKETCH_LANES);
                        let start = (&start[rows.clone()]).try_into().unwrap();
                        let max = (&mut max[rows]).try_into().unwrap();
                        // SAFETY: the caller's rows and blocks, as above.
                        unsafe {
                            screen_tile::<R, $width>(
                                query, padded_dim, at, scales, $pad, ahead, start, max,
                            )
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

        /// The micro-kernel: `R x B x PARTS` accumulators, each block's 16 tokens' sums for
        /// one query row over every 4-dimension group; then each query row's running maxima
        /// take the products of the sums and the scales (with `pad`, padding lanes excluded).
        ///
        /// # Safety
        ///
        /// The CPU must support the target features; `query` must point at `R` rows of
        /// `padded_dim` codes, `doc` at `B` sketch blocks of `16 * padded_dim` bytes and
        /// `scales` at `16 * B` floats.
        #[inline]
        #[target_feature(enable = $features)]
        #[allow(clippy::too_many_arguments)]
        unsafe fn screen_tile<const R: usize, const B: usize>(
            query: *const i8,
            padded_dim: usize,
            doc: *const i8,
            scales: *const f32,
            pad: Option<&[V; VECS]>,
            ahead: &mut Prefetch,
            start: &[i32; R],
            max: &mut [[V; VECS]; R],
        ) {
            use crate::sketch::{SKETCH_GROUP, SKETCH_LANES};
            let block_len = SKETCH_LANES * padded_dim;
            let groups = padded_dim / SKETCH_GROUP;
            // This call's share of the next chunk's lines, at most `PREFETCH_PER_GROUP` per
            // group step.
            let mut lines = ahead.lines.min(B * ahead.per_block).min(PREFETCH_PER_GROUP * groups);
            ahead.lines -= lines;
            let lines_per_group = lines.div_ceil(groups);
            let mut line = ahead.next;
            ahead.next = line.wrapping_add(lines * 64);
            let mut acc = [[acc_start(0); B]; R];
            for (acc, &start) in acc.iter_mut().zip(start) {
                *acc = [acc_start(start); B];
            }
            for group in 0..groups {
                if lines > 0 {
                    let now = lines_per_group.min(lines);
                    for i in 0..now {
                        // A hint only: `wrapping_add` keeps the address arithmetic defined.
                        prefetch(line.wrapping_add(i * 64));
                    }
                    line = line.wrapping_add(now * 64);
                    lines -= now;
                }
                for part in 0..PARTS {
                    let d: [Part; B] = core::array::from_fn(|block| {
                        // SAFETY: `block * block_len + 64 * group + 64 <= B * block_len`: part
                        // `part` of group `group` of one of the caller's blocks.
                        unsafe {
                            load_part(doc.add(block * block_len + group * 64 + part * PART_BYTES))
                        }
                    });
                    // Each row's broadcast right before its use: with one part per group (VNNI)
                    // it then lives for `B` instructions, or is read from memory by each, and
                    // the `R x B` accumulators keep the registers; with several parts the
                    // compiler shares it between them.
                    for (row, acc) in acc.iter_mut().enumerate() {
                        // SAFETY: `row * padded_dim + 4 * group + 4 <= R * padded_dim`: group
                        // `group` of one of the caller's query rows.
                        let codes = unsafe {
                            core::ptr::read_unaligned(
                                query.add(row * padded_dim + group * SKETCH_GROUP).cast::<i32>(),
                            )
                        };
                        let q = broadcast(codes);
                        for (acc, &d) in acc.iter_mut().zip(&d) {
                            acc[part] = mac(acc[part], q, d);
                        }
                    }
                }
            }
            for block in 0..B {
                // SAFETY: `16 * block + 16 <= 16 * B`: the scales of one of the caller's blocks.
                let scale = unsafe { load_scales(scales.add(block * SKETCH_LANES)) };
                for (acc, max) in acc.iter().zip(max.iter_mut()) {
                    let sums = totals(&acc[block]);
                    for v in 0..VECS {
                        let product = mul(sums[v], scale[v]);
                        let product = match pad {
                            Some(pad) => exclude(product, pad[v]),
                            None => product,
                        };
                        max[v] = max_keep(product, max[v]);
                    }
                }
            }
        }
    };
}
