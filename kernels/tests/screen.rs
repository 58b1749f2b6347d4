//! The screen kernels of every path this host runs against the scalar screen reference, bit for
//! bit, and that reference against a direct computation on the row-major codes; quantization,
//! the sketch layout and the query padding.

use maxsim_kernels::sketch::{
    pack_sketch, pad_query_codes, padded_query_len, quantize_row, sketch_codes, sketch_dim,
    sketch_dot, sketch_len, MAX_SKETCH_DIM,
};
use maxsim_kernels::{scalar, Screen, ScreenIsa};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;

/// The environment variable CI sets to the screen paths a run must test (comma separated), so a
/// host that lacks one fails instead of skipping it.
const REQUIRE_ENV: &str = "MAXSIM_REQUIRE_SCREENS";

/// Every screen path this host runs; each one `MAXSIM_REQUIRE_SCREENS` names must be among them.
fn screens_under_test() -> Vec<Screen> {
    let isas: Vec<ScreenIsa> = ScreenIsa::supported().collect();
    for name in std::env::var(REQUIRE_ENV).unwrap_or_default().split(',') {
        let name = name.trim();
        if name.is_empty() {
            continue;
        }
        let isa = ScreenIsa::from_name(name)
            .unwrap_or_else(|| panic!("{REQUIRE_ENV}: {name:?} is not a screen path"));
        assert!(
            isas.contains(&isa),
            "{REQUIRE_ENV} requires {isa} but this CPU runs only {isas:?}"
        );
    }
    isas.into_iter()
        .map(|isa| Screen::new(isa).unwrap())
        .collect()
}

/// SplitMix64, so a case is a seed and shapes.
#[derive(Clone)]
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }
}

/// How the codes of a case are drawn.
#[derive(Clone, Copy, Debug)]
enum Codes {
    /// Uniform over all of `i8`, `-128` included.
    Uniform,
    /// Only `-128`, `-127` and `127`: the largest products and sums.
    Extremes,
    /// All zero: every similarity is zero, every maximum a zero.
    Zeros,
    /// Small values with many zeros: many ties and zero similarities.
    Small,
    /// Query codes all positive, document codes all negative: every similarity is negative
    /// (or zero), so padding lanes would win if they were counted.
    Negative,
}

fn code(rng: &mut Rng, kind: Codes, query: bool) -> i8 {
    match kind {
        Codes::Uniform => rng.next_u64() as i8,
        Codes::Extremes => [-128, -127, 127][rng.below(3) as usize],
        Codes::Zeros => 0,
        Codes::Small => (rng.below(5) as i8 - 2) * i8::from(rng.below(3) != 0),
        Codes::Negative if query => 1 + rng.below(127) as i8,
        Codes::Negative => -1 - rng.below(128) as i8,
    }
}

/// How the scales of a case are drawn.
#[derive(Clone, Copy, Debug)]
enum Scales {
    /// Ordinary scales, as quantization gives for unit-length rows: about 1/127 / sqrt(dim).
    Ordinary,
    /// Zeros of both signs, subnormals and values near 1e-30: products that underflow to zeros
    /// of either sign.
    Tiny,
    /// Near 1e30: products beyond `f32::MAX`, infinite.
    Huge,
    /// A mix of all of these, and ones.
    Mixed,
}

fn scale(rng: &mut Rng, kind: Scales) -> f32 {
    match kind {
        Scales::Ordinary => 0.0005 + rng.unit() * 0.001,
        Scales::Tiny => match rng.below(6) {
            0 => 0.0,
            1 => -0.0,
            2 => f32::from_bits(1 + rng.below(1000) as u32),
            3 => f32::MIN_POSITIVE * rng.unit(),
            _ => 1e-30 * (1.0 + rng.unit()),
        },
        Scales::Huge => 1e30 * (1.0 + rng.unit()),
        Scales::Mixed => match rng.below(5) {
            0 => scale(rng, Scales::Tiny),
            1 => scale(rng, Scales::Huge),
            2 => 1.0,
            _ => scale(rng, Scales::Ordinary),
        },
    }
}

/// Query and document rows weighted to the edges of the sketch blocks and of the tiles.
fn rows() -> impl Strategy<Value = usize> {
    prop_oneof![
        3 => 0usize..70,
        2 => prop::sample::select(vec![
            0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 24, 31, 32, 33, 47, 48,
            49, 63, 64, 65, 69,
        ]),
    ]
}

fn dims() -> impl Strategy<Value = usize> {
    prop_oneof![
        2 => 1usize..=200,
        3 => prop::sample::select(vec![1, 2, 3, 4, 5, 7, 8, 15, 16, 17, 64, 96, 127, 128, 130]),
    ]
}

fn codes() -> impl Strategy<Value = Codes> {
    prop::sample::select(vec![
        Codes::Uniform,
        Codes::Uniform,
        Codes::Extremes,
        Codes::Zeros,
        Codes::Small,
        Codes::Negative,
    ])
}

fn scales() -> impl Strategy<Value = Scales> {
    prop::sample::select(vec![
        Scales::Ordinary,
        Scales::Tiny,
        Scales::Huge,
        Scales::Mixed,
    ])
}

#[derive(Clone, Debug)]
struct Case {
    query_rows: usize,
    doc_rows: usize,
    dim: usize,
    codes: Codes,
    scales: Scales,
    /// Bytes of junk before the query and the sketch: the data starts misaligned.
    offset: usize,
    seed: u64,
}

fn cases(
    query_rows: impl Strategy<Value = usize>,
    doc_rows: impl Strategy<Value = usize>,
    dims: impl Strategy<Value = usize>,
) -> impl Strategy<Value = Case> {
    (
        query_rows,
        doc_rows,
        dims,
        codes(),
        scales(),
        0usize..8,
        any::<u64>(),
    )
        .prop_map(
            |(query_rows, doc_rows, dim, codes, scales, offset, seed)| Case {
                query_rows,
                doc_rows,
                dim,
                codes,
                scales,
                offset,
                seed,
            },
        )
}

/// `cases` cases (at the default 256 of `PROPTEST_CASES`), scaled with `PROPTEST_CASES` when it
/// is set (CI lowers it under emulation), at least 2.
fn config(cases: u32) -> ProptestConfig {
    let default = ProptestConfig::default();
    let cases = if std::env::var_os("PROPTEST_CASES").is_some() {
        (u64::from(default.cases) * u64::from(cases) / 256).max(2) as u32
    } else {
        cases
    };
    ProptestConfig {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "proptest-regressions/screen.txt",
        ))),
        ..default
    }
}

fn bits(values: &[f32]) -> Vec<u32> {
    values.iter().map(|x| x.to_bits()).collect()
}

/// IEEE 754-2019 `maximum` of non-NaN values (`-0.0 < +0.0`), written independently of the
/// library's.
fn maximum(a: f32, b: f32) -> f32 {
    match a.partial_cmp(&b).unwrap() {
        std::cmp::Ordering::Greater => a,
        std::cmp::Ordering::Less => b,
        std::cmp::Ordering::Equal if a.is_sign_negative() => b,
        std::cmp::Ordering::Equal => a,
    }
}

/// The screen maxima computed directly from the row-major codes, in `i64`.
fn direct_maxima(
    query: &[i8],
    doc: &[i8],
    scales: &[f32],
    dim: usize,
    query_rows: usize,
) -> Vec<f32> {
    (0..query_rows)
        .map(|i| {
            let q = &query[i * dim..(i + 1) * dim];
            doc.chunks_exact(dim)
                .zip(scales)
                .map(|(d, &scale)| {
                    let t: i64 = q
                        .iter()
                        .zip(d)
                        .map(|(&a, &b)| i64::from(a) * i64::from(b))
                        .sum();
                    let t = i32::try_from(t).expect("|T| fits in i32");
                    scale * t as f32
                })
                .fold(f32::NEG_INFINITY, maximum)
        })
        .collect()
}

/// A buffer of `offset` junk bytes followed by `data` and more junk.
fn misaligned(data: &[i8], offset: usize) -> Vec<i8> {
    let mut buf = vec![0x5a; offset];
    buf.extend_from_slice(data);
    buf.extend([0x33i8; 5]);
    buf
}

/// Every screen's row maxima against the scalar reference, and that reference against the
/// direct computation.
fn check(case: &Case) -> Result<(), TestCaseError> {
    let Case {
        query_rows,
        doc_rows,
        dim,
        offset,
        ..
    } = *case;
    let mut rng = Rng(case.seed);
    let query: Vec<i8> = (0..query_rows * dim)
        .map(|_| code(&mut rng, case.codes, true))
        .collect();
    let doc: Vec<i8> = (0..doc_rows * dim)
        .map(|_| code(&mut rng, case.codes, false))
        .collect();
    let scales: Vec<f32> = (0..doc_rows)
        .map(|_| scale(&mut rng, case.scales))
        .collect();

    let mut padded = vec![0x11; padded_query_len(query_rows, dim).unwrap()];
    pad_query_codes(&query, dim, &mut padded);
    let mut sketch = vec![0x22; sketch_len(doc_rows, dim).unwrap()];
    pack_sketch(&doc, dim, &mut sketch);
    let padded_buf = misaligned(&padded, offset);
    let padded = &padded_buf[offset..];
    let sketch_buf = misaligned(&sketch, offset);
    let sketch = &sketch_buf[offset..];
    // Scales past `doc_rows` are ignored: make them win if they were read.
    let mut scales_buf = scales.clone();
    scales_buf.extend([f32::MAX; 3]);

    let mut expected = vec![f32::NAN; query_rows];
    scalar::screen_row_maxima(
        padded,
        query_rows,
        dim,
        sketch,
        &scales_buf,
        doc_rows,
        &mut expected,
    );
    let direct = direct_maxima(&query, &doc, &scales, dim, query_rows);
    prop_assert_eq!(bits(&expected), bits(&direct), "reference vs direct");

    for screen in screens_under_test() {
        let mut got = vec![f32::from_bits(0x7fc0_beef); query_rows + 2];
        screen.screen_row_maxima(
            padded,
            query_rows,
            dim,
            sketch,
            &scales_buf,
            doc_rows,
            &mut got,
        );
        prop_assert_eq!(
            bits(&got[..query_rows]),
            bits(&expected),
            "{} maxima",
            screen.isa()
        );
        prop_assert_eq!(
            bits(&got[query_rows..]),
            vec![0x7fc0_beef; 2],
            "{} wrote past out[..query_rows]",
            screen.isa()
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(256))]

    /// Shapes up to 70 x 70: every remainder of 16 tokens, empty documents and queries, every
    /// tile height, dims that are and are not multiples of 4.
    #[test]
    fn every_screen_matches_the_reference_bit_for_bit(case in cases(rows(), rows(), dims())) {
        check(&case)?;
    }
}

proptest! {
    #![proptest_config(config(24))]

    /// Documents of several chunks and queries of several groups: up to 700 tokens, 140 query
    /// rows (groups of 64).
    #[test]
    fn long_documents_and_queries_match_bit_for_bit(
        case in cases(
            prop::sample::select(vec![1, 7, 20, 63, 64, 65, 100, 128, 129, 140]),
            100usize..700,
            prop::sample::select(vec![1, 3, 64, 96, 128, 200, 513]),
        )
    ) {
        check(&case)?;
    }
}

/// The sketch of `doc_rows` tokens of dim 1 with the given codes, and a one-row query of code 1:
/// `T` is each token's code.
fn column_sketch(codes: &[i8]) -> Vec<i8> {
    let mut sketch = vec![0; sketch_len(codes.len(), 1).unwrap()];
    pack_sketch(codes, 1, &mut sketch);
    sketch
}

#[test]
fn padding_lanes_never_count_even_when_they_hold_codes() {
    // Every real token's similarity is negative; padding lanes, zero or overwritten with codes
    // that would give the largest similarity, must not show.
    for rows in [1usize, 5, 15, 17, 31, 33, 47] {
        let codes: Vec<i8> = (0..rows).map(|row| -1 - (row % 100) as i8).collect();
        let mut sketch = column_sketch(&codes);
        let scales: Vec<f32> = (0..rows).map(|row| 1.0 + row as f32).collect();
        let expected = -1.0;
        for garbage in [false, true] {
            if garbage {
                let block = rows / 16 * 64;
                for lane in rows % 16..16 {
                    sketch[block + lane * 4..block + lane * 4 + 4].fill(127);
                }
            }
            for screen in screens_under_test() {
                for query_rows in [1, 3, 13] {
                    let query = [1i8, 0, 0, 0].repeat(query_rows);
                    let mut out = vec![0.0; query_rows];
                    screen
                        .screen_row_maxima(&query, query_rows, 1, &sketch, &scales, rows, &mut out);
                    assert_eq!(
                        out,
                        vec![expected; query_rows],
                        "{} rows {rows} garbage {garbage}",
                        screen.isa()
                    );
                }
            }
        }
    }
}

#[test]
fn a_zero_maximum_is_positive_if_any_product_is_positive_zero() {
    // Products: a negative similarity of scale 0 gives -0.0, a zero similarity +0.0; with
    // every other similarity negative the maximum is a zero, positive iff some product is +0.0,
    // wherever it lies in or across blocks.
    for rows in [1usize, 2, 15, 16, 17, 40, 300] {
        for positive in [None, Some(0), Some(rows / 2), Some(rows - 1)] {
            let codes: Vec<i8> = (0..rows)
                .map(|row| if Some(row) == positive { 0 } else { -5 })
                .collect();
            let sketch = column_sketch(&codes);
            let scales: Vec<f32> = (0..rows)
                .map(|row| if row % 3 == 0 { 0.0 } else { 2.0 })
                .collect();
            let mut expected = -0.0f32;
            if positive.is_some() {
                expected = 0.0;
            }
            // Unless no scale is zero and no similarity zero: rows == 1..2 with the zero at row
            // 0 still has a zero product.
            let mut reference = [f32::NAN];
            scalar::screen_row_maxima(&[1, 0, 0, 0], 1, 1, &sketch, &scales, rows, &mut reference);
            assert_eq!(
                reference[0].to_bits(),
                expected.to_bits(),
                "rows {rows} {positive:?}"
            );
            for screen in screens_under_test() {
                let mut out = [f32::NAN];
                screen.screen_row_maxima(&[1, 0, 0, 0], 1, 1, &sketch, &scales, rows, &mut out);
                assert_eq!(
                    out[0].to_bits(),
                    expected.to_bits(),
                    "{} rows {rows} positive zero at {positive:?}",
                    screen.isa()
                );
            }
        }
    }
    // Negative zero scales: -0.0 * 0 is -0.0, -0.0 * -5 is +0.0.
    let sketch = column_sketch(&[0, -5]);
    for screen in screens_under_test() {
        let mut out = [f32::NAN];
        screen.screen_row_maxima(&[1, 0, 0, 0], 1, 1, &sketch, &[-0.0, 3.0], 1, &mut out);
        assert_eq!(out[0].to_bits(), (-0.0f32).to_bits(), "{}", screen.isa());
        screen.screen_row_maxima(&[1, 0, 0, 0], 1, 1, &sketch, &[-0.0, -0.0], 2, &mut out);
        assert_eq!(out[0].to_bits(), 0, "{}", screen.isa());
    }
}

#[test]
fn an_empty_document_gives_minus_infinity_and_an_empty_query_writes_nothing() {
    for screen in screens_under_test() {
        let mut out = [0.0; 3];
        screen.screen_row_maxima(&[1; 24], 3, 5, &[], &[], 0, &mut out);
        assert_eq!(out, [f32::NEG_INFINITY; 3], "{}", screen.isa());
        let sketch = column_sketch(&[3, 4]);
        let mut out = [7.0; 2];
        screen.screen_row_maxima(&[], 0, 1, &sketch, &[1.0, 1.0], 2, &mut out);
        assert_eq!(out, [7.0; 2], "{}", screen.isa());
    }
}

#[test]
fn the_largest_dim_sums_exactly() {
    // dim = MAX_SKETCH_DIM: T = dim * 128 * 128 for codes of -128 on both sides, and
    // -dim * 127 * 128 for 127 against -128; both fit in i32 and are exact in f32.
    let dim = MAX_SKETCH_DIM;
    let padded = sketch_dim(dim);
    let mut query = vec![0i8; padded];
    query[..dim].fill(-128);
    let sketch_of = |code: i8| {
        let mut sketch = vec![0; sketch_len(1, dim).unwrap()];
        pack_sketch(&vec![code; dim], dim, &mut sketch);
        sketch
    };
    for (code, expected) in [
        (-128, (dim * 128 * 128) as f32),
        (127, -((dim * 127 * 128) as f32)),
    ] {
        let sketch = sketch_of(code);
        assert_eq!(sketch_dot(&query, &sketch, 0) as f32, expected);
        for screen in screens_under_test() {
            let mut out = [f32::NAN];
            screen.screen_row_maxima(&query, 1, dim, &sketch, &[1.0], 1, &mut out);
            assert_eq!(out[0], expected, "{} code {code}", screen.isa());
        }
    }
}

/// Asserts that `f` panics with a message containing `expected`.
fn assert_panics(expected: &str, f: impl FnOnce() + std::panic::UnwindSafe) {
    let payload = std::panic::catch_unwind(f).expect_err("no panic");
    let message = payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default();
    assert!(
        message.contains(expected),
        "panicked with {message:?}, expected {expected:?}"
    );
}

#[test]
fn short_buffers_and_bad_dims_panic_on_every_screen() {
    let sketch = column_sketch(&[1; 17]);
    let scales = [1.0f32; 17];
    let query = [1i8; 12];
    for screen in screens_under_test() {
        let run = |query: &[i8], rows, dim, sketch: &[i8], scales: &[f32], doc_rows, out: usize| {
            let mut out = vec![0.0; out];
            screen.screen_row_maxima(query, rows, dim, sketch, scales, doc_rows, &mut out);
        };
        assert_panics("dim must be at least 1", || {
            run(&query, 3, 0, &sketch, &scales, 17, 3)
        });
        assert_panics("above MAX_SKETCH_DIM", || {
            run(&query, 0, MAX_SKETCH_DIM + 1, &[], &[], 0, 0)
        });
        assert_panics("query is shorter than 4 rows of 4 padded codes", || {
            run(&query, 4, 1, &sketch, &scales, 17, 4)
        });
        assert_panics("query is shorter", || {
            run(&query, usize::MAX, 1, &sketch, &scales, 17, 4)
        });
        assert_panics("document sketch is shorter than 33 tokens of dim 1", || {
            run(&query, 3, 1, &sketch, &[1.0; 33], 33, 3)
        });
        assert_panics("document sketch is shorter", || {
            run(&query, 3, 1, &sketch[..127], &scales, 17, 3)
        });
        assert_panics("document sketch is shorter", || {
            run(&query, 3, 1, &sketch, &scales, usize::MAX, 3)
        });
        assert_panics("scales is shorter than 17 tokens", || {
            run(&query, 3, 1, &sketch, &scales[..16], 17, 3)
        });
        assert_panics("out is shorter than 3 query rows", || {
            run(&query, 3, 1, &sketch, &scales, 17, 2)
        });
    }
}

#[test]
fn quantization_scales_by_the_largest_magnitude() {
    let row = [0.5f32, -1.27, 0.0, 1.0, -0.004];
    let mut codes = [0i8; 5];
    let scale = quantize_row(&row, &mut codes).unwrap();
    assert_eq!(scale, 1.27f32 / 127.0);
    assert_eq!(codes, [50, -127, 0, 100, 0]);
    // Zeros of either sign: scale 0, zero codes.
    let mut codes = [9i8; 3];
    assert_eq!(
        quantize_row(&[0.0, -0.0, 0.0], &mut codes)
            .unwrap()
            .to_bits(),
        0
    );
    assert_eq!(codes, [0; 3]);
    assert_eq!(quantize_row(&[], &mut []), Some(0.0));
    // Non-finite values.
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        assert_eq!(quantize_row(&[1.0, bad], &mut [0; 2]), None);
    }
    // Ties to even: 2.5 and 3.5 of the scale.
    let mut codes = [0i8; 3];
    quantize_row(&[127.0, 2.5, -3.5], &mut codes).unwrap();
    assert_eq!(codes, [127, 2, -4]);
}

#[test]
fn quantization_codes_stay_within_127_and_half_a_step() {
    let mut rng = Rng(7);
    for case in 0..2000 {
        let dim = 1 + rng.below(40) as usize;
        let exponent = match case % 4 {
            0 => -140,
            1 => 120,
            _ => rng.below(60) as i32 - 30,
        };
        let magnitude = 2f32.powi(exponent);
        let row: Vec<f32> = (0..dim)
            .map(|_| {
                let x = (rng.unit() * 2.0 - 1.0) * magnitude;
                if rng.below(8) == 0 {
                    [f32::MAX, -f32::MAX, f32::from_bits(1), 0.0][rng.below(4) as usize]
                } else {
                    x
                }
            })
            .collect();
        let mut codes = vec![0i8; dim];
        let scale = quantize_row(&row, &mut codes).unwrap();
        let largest = row.iter().fold(0.0f32, |m, x| m.max(x.abs()));
        if largest == 0.0 {
            assert_eq!(scale, 0.0);
            assert!(codes.iter().all(|&c| c == 0));
            continue;
        }
        assert!(scale > 0.0 && scale.is_finite(), "{row:?}");
        assert!(codes.iter().all(|&c| c != -128));
        // The largest magnitude maps to 127 unless the scale is subnormal (and so inexact).
        if scale >= f32::MIN_POSITIVE {
            assert!(codes.iter().any(|&c| c.unsigned_abs() == 127), "{row:?}");
        }
        for (&x, &c) in row.iter().zip(&codes) {
            let error = (f64::from(x) - f64::from(scale) * f64::from(c)).abs();
            // Half a step, plus the rounding of `x / scale` (at most about 64 ulps of 127).
            let bound = f64::from(scale) * (0.5 + 1e-5);
            assert!(
                error <= bound,
                "x {x} code {c} scale {scale}: error {error}"
            );
        }
        // Deterministic.
        let mut again = vec![0i8; dim];
        assert_eq!(
            quantize_row(&row, &mut again).unwrap().to_bits(),
            scale.to_bits()
        );
        assert_eq!(again, codes);
    }
}

#[test]
fn packing_puts_four_dims_of_each_token_in_its_lane() {
    // 18 tokens of dim 5: code = token * 5 + k (as i8); sketch_dim 8, two groups.
    let codes: Vec<i8> = (0..18 * 5).map(|i| i as i8).collect();
    let mut sketch = vec![0x7f; sketch_len(18, 5).unwrap()];
    assert_eq!(sketch.len(), 32 * 8);
    pack_sketch(&codes, 5, &mut sketch);
    for block in 0..2 {
        for group in 0..2 {
            for lane in 0..16 {
                for i in 0..4 {
                    let (token, k) = (block * 16 + lane, group * 4 + i);
                    let expected = if token < 18 && k < 5 {
                        (token * 5 + k) as i8
                    } else {
                        0
                    };
                    let at = (block * 2 + group) * 64 + lane * 4 + i;
                    assert_eq!(sketch[at], expected, "b{block} g{group} l{lane} i{i}");
                }
            }
        }
    }
    // The first bytes, spelled out: token 0's dims 0-3, then token 1's.
    assert_eq!(&sketch[..8], &[0, 1, 2, 3, 5, 6, 7, 8]);
    // Group 1 of block 0 starts with token 0's dim 4 and three zeros.
    assert_eq!(&sketch[64..72], &[4, 0, 0, 0, 9, 0, 0, 0]);
    for token in 0..18 {
        let expected: Vec<i8> = (0..8)
            .map(|k| if k < 5 { (token * 5 + k) as i8 } else { 0 })
            .collect();
        assert!(
            sketch_codes(&sketch, 8, token).eq(expected),
            "token {token}"
        );
    }
    let query = [1i8, 0, 0, 0, 2, 0, 0, 0];
    assert_eq!(sketch_dot(&query, &sketch, 3), 15 + 2 * 19);
}

#[test]
fn query_codes_are_padded_with_zeros() {
    let codes = [1i8, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    let mut padded = [9i8; 16];
    pad_query_codes(&codes, 5, &mut padded);
    assert_eq!(padded, [1, 2, 3, 4, 5, 0, 0, 0, 6, 7, 8, 9, 10, 0, 0, 0]);
    let mut same = [0i8; 8];
    pad_query_codes(&codes[..8], 4, &mut same);
    assert_eq!(same, codes[..8]);
}

#[test]
fn packing_checks_its_lengths() {
    assert_panics("wrong length", || pack_sketch(&[1; 4], 2, &mut [0; 32]));
    assert_panics("not a multiple of dim", || {
        pack_sketch(&[1; 5], 2, &mut [0; 128])
    });
    assert_panics("dim must be at least 1", || pack_sketch(&[], 0, &mut []));
    assert_panics("wrong length", || pad_query_codes(&[1; 4], 2, &mut [0; 4]));
    assert_panics("different lengths", || {
        quantize_row(&[1.0; 3], &mut [0; 2]);
    });
}
