//! The index kernels of every ISA this host runs against the scalar index reference, and that
//! reference against the row-major scalar reference on the widened document: bit for bit, for
//! `f32`, `f16` and `bf16` storage.

use half::{bf16, f16};
use maxsim_kernels::index::{self, index_len, pack_document, Element, Storage};
use maxsim_kernels::{scalar, Isa, Kernel};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;

/// The environment variable CI sets to the ISAs a run must test (comma separated), so a host
/// that lacks one fails instead of skipping it (as in the library's tests).
const REQUIRE_ENV: &str = "MAXSIM_REQUIRE_ISAS";

/// Every ISA this host runs; each one `MAXSIM_REQUIRE_ISAS` names must be among them.
fn isas_under_test() -> Vec<Isa> {
    let isas: Vec<Isa> = Isa::supported().collect();
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
    isas
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

    /// Uniform in [-1, 1).
    fn unit(&mut self) -> f32 {
        ((self.next_u64() >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }

    /// A random sign times a value in [1, 2) times `2^exponent`.
    fn scaled(&mut self, exponent: i32) -> f32 {
        let sign = if self.next_u64() & 1 == 0 { 1.0 } else { -1.0 };
        sign * (1.0 + self.unit().abs()) * 2f32.powi(exponent)
    }
}

/// How the values of a case are drawn.
#[derive(Clone, Copy, Debug)]
enum Values {
    /// Uniform in [-1, 1).
    Unit,
    /// Mixed signs and magnitudes from 2^-20 to 2^20, with exact zeros.
    Mixed,
    /// Small integers: many exact ties.
    Integers,
    /// Query values near 2^-135, document values near 2^-20 (representable in every storage):
    /// every product rounds to `+0.0` or `-0.0`, so every similarity is a signed zero and every
    /// maximum is decided by the first-zero rule.
    ZeroSigns,
    /// Positive query values near 2^-135; each document row either all near -1 (a negative
    /// similarity) or all near +-2^-20 (a zero of the sign of its last value), so a maximum is
    /// the first zero row's zero, anywhere in the document.
    FirstZero,
    /// Query values 2^-120..2^-140, document values 2^-10..2^-20: similarities subnormal or
    /// zero of either sign, maxima often zero.
    Tiny,
    /// Unit values with NaN, infinities, signed zeros and values beyond f16's range (1e5).
    Special,
}

fn value(rng: &mut Rng, kind: Values, query: bool) -> f32 {
    match kind {
        Values::Unit => rng.unit(),
        Values::Mixed => {
            let r = rng.next_u64();
            if r.is_multiple_of(16) {
                return 0.0;
            }
            rng.unit() * 2f32.powi(((r >> 8) % 41) as i32 - 20)
        }
        Values::Integers => ((rng.next_u64() % 7) as i32 - 3) as f32,
        Values::ZeroSigns => {
            let r = rng.next_u64();
            match r % 8 {
                0 => 0.0,
                1 => -0.0,
                _ if query => rng.scaled(-135),
                _ => rng.scaled(-20),
            }
        }
        Values::FirstZero if query => rng.scaled(-135).abs(),
        Values::FirstZero => unreachable!("drawn per row by `document`"),
        Values::Tiny => {
            let r = rng.next_u64();
            if r.is_multiple_of(10) {
                return if r & 16 == 0 { 0.0 } else { -0.0 };
            }
            let exponent = ((r >> 8) % 11) as i32;
            if query {
                rng.scaled(-120 - 2 * exponent)
            } else {
                rng.scaled(-10 - exponent)
            }
        }
        Values::Special => match rng.next_u64() % 40 {
            0 => f32::NAN,
            1 => f32::INFINITY,
            2 => f32::NEG_INFINITY,
            3 => 0.0,
            4 => -0.0,
            5 => 1e5 * rng.unit(),
            _ => rng.unit(),
        },
    }
}

/// A buffer of `offset` junk values followed by `len` values: the data starts misaligned.
fn buffer(rng: &mut Rng, len: usize, offset: usize, kind: Values, query: bool) -> Vec<f32> {
    let mut buf = vec![f32::from_bits(0x7fc0_dead); offset];
    buf.extend((0..len).map(|_| value(rng, kind, query)));
    buf
}

/// A row-major document of `rows x dim` values of `kind`.
fn document(rng: &mut Rng, rows: usize, dim: usize, kind: Values) -> Vec<f32> {
    let Values::FirstZero = kind else {
        return buffer(rng, rows * dim, 0, kind, false);
    };
    let mut doc = Vec::with_capacity(rows * dim);
    for _ in 0..rows {
        let negative = !rng.next_u64().is_multiple_of(4);
        for _ in 0..dim {
            let value = rng.scaled(if negative { 0 } else { -20 });
            doc.push(if negative { -value.abs() } else { value });
        }
    }
    doc
}

/// Query and document rows weighted to the edges of the index blocks and of the tiles.
fn rows() -> impl Strategy<Value = usize> {
    prop_oneof![
        3 => 0usize..70,
        2 => prop::sample::select(vec![
            0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 15, 16, 17, 31, 32, 33, 47, 48, 49, 63,
            64, 65, 69,
        ]),
    ]
}

fn dims() -> impl Strategy<Value = usize> {
    prop_oneof![
        2 => 1usize..=200,
        3 => prop::sample::select(vec![1, 2, 15, 16, 17, 64, 96, 128]),
    ]
}

fn values() -> impl Strategy<Value = Values> {
    prop::sample::select(vec![
        Values::Unit,
        Values::Mixed,
        Values::Integers,
        Values::ZeroSigns,
        Values::FirstZero,
        Values::Tiny,
        Values::Special,
    ])
}

fn storages() -> impl Strategy<Value = Storage> {
    prop::sample::select(Storage::ALL.to_vec())
}

#[derive(Clone, Debug)]
struct Case {
    query_rows: usize,
    doc_rows: usize,
    dim: usize,
    values: Values,
    storage: Storage,
    query_offset: usize,
    doc_offset: usize,
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
        values(),
        storages(),
        0usize..4,
        0usize..4,
        any::<u64>(),
    )
        .prop_map(
            |(query_rows, doc_rows, dim, values, storage, query_offset, doc_offset, seed)| Case {
                query_rows,
                doc_rows,
                dim,
                values,
                storage,
                query_offset,
                doc_offset,
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
            "proptest-regressions/index.txt",
        ))),
        ..default
    }
}

fn bits(values: &[f32]) -> Vec<u32> {
    values.iter().map(|x| x.to_bits()).collect()
}

/// Runs [`check`] for the case's storage type.
fn check_case(case: &Case) -> Result<(), TestCaseError> {
    match case.storage {
        Storage::F32 => check::<f32>(case),
        Storage::F16 => check::<f16>(case),
        Storage::Bf16 => check::<bf16>(case),
    }
}

/// Every ISA's row maxima, score and weighted score against the scalar index reference, and
/// that reference against the row-major reference on the widened document.
fn check<T: Element>(case: &Case) -> Result<(), TestCaseError> {
    let Case {
        query_rows,
        doc_rows,
        dim,
        ..
    } = *case;
    let mut rng = Rng(case.seed);
    let query_buf = buffer(
        &mut rng,
        query_rows * dim,
        case.query_offset,
        case.values,
        true,
    );
    let query = &query_buf[case.query_offset..];
    let doc = document(&mut rng, doc_rows, dim, case.values);
    let weights: Vec<f32> = (0..query_rows)
        .map(|i| match i % 5 {
            0 => 1.0,
            1 => 0.0,
            2 => -0.5,
            _ => rng.unit() * 4.0,
        })
        .collect();

    // The stored document, misaligned by `doc_offset` elements, with junk after it.
    let len = index_len(doc_rows, dim).unwrap();
    let junk = T::from_f32(f32::NAN);
    let mut stored_buf = vec![junk; case.doc_offset + len + 3];
    pack_document(&doc, dim, &mut stored_buf[case.doc_offset..][..len]);
    let stored = &stored_buf[case.doc_offset..];

    // The index reference.
    let mut expected = vec![f32::NAN; query_rows];
    scalar::index_row_maxima(query, query_rows, dim, stored, doc_rows, &mut expected);
    let expected_score = scalar::index_score(query, query_rows, dim, stored, doc_rows);
    let expected_weighted =
        scalar::index_score_weighted(query, query_rows, dim, stored, doc_rows, &weights);

    // ... is the row-major reference on the widened values (the scalar packed query is the
    // row-major query).
    let mut widened = vec![0.0; doc_rows * dim];
    index::unpack_document(stored, dim, doc_rows, &mut widened);
    let mut row_major = vec![f32::NAN; query_rows];
    scalar::row_maxima(query, query_rows, dim, &widened, &mut row_major);
    prop_assert_eq!(
        bits(&expected),
        bits(&row_major),
        "index vs row-major reference"
    );
    prop_assert_eq!(
        expected_score.to_bits(),
        scalar::score(query, query_rows, dim, &widened).to_bits()
    );
    prop_assert_eq!(
        expected_weighted.to_bits(),
        scalar::score_weighted(query, query_rows, dim, &widened, &weights).to_bits()
    );

    for isa in isas_under_test() {
        let kernel = Kernel::new(isa).unwrap();
        let mut got = vec![f32::from_bits(0x7fc0_beef); query_rows + 2];
        kernel.index_row_maxima(query, query_rows, dim, stored, doc_rows, &mut got);
        prop_assert_eq!(bits(&got[..query_rows]), bits(&expected), "{} maxima", isa);
        prop_assert_eq!(
            bits(&got[query_rows..]),
            vec![0x7fc0_beef; 2],
            "{} wrote past out[..query_rows]",
            isa
        );
        let score = kernel.index_score(query, query_rows, dim, stored, doc_rows);
        prop_assert_eq!(score.to_bits(), expected_score.to_bits(), "{} score", isa);
        let weighted =
            kernel.index_score_weighted(query, query_rows, dim, stored, doc_rows, &weights);
        prop_assert_eq!(
            weighted.to_bits(),
            expected_weighted.to_bits(),
            "{} weighted score",
            isa
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(256))]

    /// Shapes up to 70 x 70: every remainder of 16 document rows, empty documents and queries,
    /// every tile height.
    #[test]
    fn every_isa_matches_the_index_reference_bit_for_bit(case in cases(rows(), rows(), dims())) {
        check_case(&case)?;
    }
}

proptest! {
    #![proptest_config(config(24))]

    /// Documents of several chunks and queries of several groups: up to 700 document rows, 140
    /// query rows (groups of 64), dims that make chunks of 8 to 64 blocks.
    #[test]
    fn long_documents_and_queries_match_bit_for_bit(
        case in cases(
            prop::sample::select(vec![1, 20, 63, 64, 65, 100, 128, 129, 140]),
            100usize..700,
            prop::sample::select(vec![1, 3, 64, 128, 200, 513]),
        )
    ) {
        check_case(&case)?;
    }
}

/// A 2-dim stored document whose similarities with the query row `[1, 0]` are its first
/// column, in `T`.
fn column_document<T: Element>(similarities: &[f32]) -> Vec<T> {
    let doc: Vec<f32> = similarities.iter().flat_map(|&s| [s, 0.0]).collect();
    let mut stored = vec![T::from_f32(0.0); index_len(similarities.len(), 2).unwrap()];
    pack_document(&doc, 2, &mut stored);
    stored
}

fn zero_maxima_take_the_first_zero_in_row_order<T: Element>() {
    // Dim 1, query 2^-140: a document value of -1 gives the nonzero -2^-140, and +-2^-14 gives
    // +-2^-154, which rounds to a zero of its sign. (A chain of exact zeros always ends in +0.0.)
    // A maximum of zero whose first zero (in row order) is -0.0 or +0.0, at every position in
    // and across blocks, with zeros of the other sign in every later lane.
    let query = [2f32.powi(-140)];
    for rows in [1, 2, 15, 16, 17, 40, 300] {
        for first in 0..rows {
            for sign in [-1.0f32, 1.0] {
                let doc: Vec<f32> = (0..rows)
                    .map(|row| match row.cmp(&first) {
                        core::cmp::Ordering::Less => -1.0,
                        core::cmp::Ordering::Equal => sign * 2f32.powi(-14),
                        core::cmp::Ordering::Greater => -sign * 2f32.powi(-14),
                    })
                    .collect();
                let mut stored = vec![T::from_f32(0.0); index_len(rows, 1).unwrap()];
                pack_document(&doc, 1, &mut stored);
                let expected = 0.0f32.copysign(sign);
                let mut reference = [f32::NAN];
                scalar::index_row_maxima(&query, 1, 1, &stored, rows, &mut reference);
                assert_eq!(reference[0].to_bits(), expected.to_bits());
                for isa in isas_under_test() {
                    let kernel = Kernel::new(isa).unwrap();
                    let mut out = [f32::NAN];
                    kernel.index_row_maxima(&query, 1, 1, &stored, rows, &mut out);
                    assert_eq!(
                        out[0].to_bits(),
                        expected.to_bits(),
                        "{isa} {} rows {rows} first zero {first}",
                        T::STORAGE
                    );
                }
            }
        }
    }
}

#[test]
fn zero_maxima_take_the_first_zero_in_row_order_for_every_storage() {
    zero_maxima_take_the_first_zero_in_row_order::<f32>();
    zero_maxima_take_the_first_zero_in_row_order::<f16>();
    zero_maxima_take_the_first_zero_in_row_order::<bf16>();
}

fn padding_lanes_are_never_scored<T: Element>() {
    // Query values of +-inf make every padding lane NaN (inf * 0) and a query of -1 makes it
    // the maximum (0 > -1): neither may show.
    for rows in [1usize, 5, 15, 17, 31, 33] {
        let sims: Vec<f32> = (0..rows).map(|row| -(row as f32) - 1.0).collect();
        let stored = column_document::<T>(&sims);
        for (query, expected) in [
            ([1.0, f32::INFINITY], f32::NEG_INFINITY),
            ([1.0, 1.0], -1.0),
            ([-1.0, 0.0], rows as f32),
        ] {
            for isa in isas_under_test() {
                let kernel = Kernel::new(isa).unwrap();
                let mut out = [0.0];
                kernel.index_row_maxima(&query, 1, 2, &stored, rows, &mut out);
                // [1, inf]: inf * 0 (document column 1) is NaN for every real row too.
                let expected = if query[1].is_infinite() {
                    f32::NAN
                } else {
                    expected
                };
                assert_eq!(
                    out[0].to_bits(),
                    expected.to_bits(),
                    "{isa} {} rows {rows} query {query:?}",
                    T::STORAGE
                );
            }
        }
        // A query that is NaN-free against the real rows but inf against the padding: the
        // second column of the real rows is 1, of the padding 0.
        let doc: Vec<f32> = (0..rows).flat_map(|row| [-(row as f32), 1.0]).collect();
        let mut stored = vec![T::from_f32(0.0); index_len(rows, 2).unwrap()];
        pack_document(&doc, 2, &mut stored);
        let query = [f32::INFINITY, 1.0];
        for isa in isas_under_test() {
            let kernel = Kernel::new(isa).unwrap();
            let mut out = [0.0];
            kernel.index_row_maxima(&query, 1, 2, &stored, rows, &mut out);
            // Row 0: inf * 0 = NaN, so the maximum is NaN whatever the padding does.
            assert!(out[0].is_nan(), "{isa}");
            let query = [1.0, f32::NEG_INFINITY];
            kernel.index_row_maxima(&query, 1, 2, &stored, rows, &mut out);
            assert_eq!(
                out[0],
                f32::NEG_INFINITY,
                "{isa} {} rows {rows}",
                T::STORAGE
            );
        }
    }
}

#[test]
fn padding_lanes_are_never_scored_for_every_storage() {
    padding_lanes_are_never_scored::<f32>();
    padding_lanes_are_never_scored::<f16>();
    padding_lanes_are_never_scored::<bf16>();
}

#[test]
fn an_empty_document_gives_minus_infinity_and_an_empty_query_zero() {
    for isa in isas_under_test() {
        let kernel = Kernel::new(isa).unwrap();
        let mut out = [0.0; 3];
        kernel.index_row_maxima::<bf16>(&[1.0; 6], 3, 2, &[], 0, &mut out);
        assert_eq!(out, [f32::NEG_INFINITY; 3], "{isa}");
        assert_eq!(
            kernel.index_score::<f16>(&[1.0; 6], 3, 2, &[], 0),
            f32::NEG_INFINITY
        );
        let stored = column_document::<f32>(&[1.0, 2.0]);
        assert_eq!(kernel.index_score(&[], 0, 2, &stored, 2).to_bits(), 0);
        assert_eq!(
            kernel
                .index_score_weighted(&[], 0, 2, &stored, 2, &[])
                .to_bits(),
            0
        );
    }
}

#[test]
fn a_nan_total_is_canonical() {
    let stored = column_document::<f32>(&[1.0, 2.0]);
    for isa in isas_under_test() {
        let kernel = Kernel::new(isa).unwrap();
        let query = [-f32::NAN, 0.0, 1.0, 0.0];
        assert_eq!(
            kernel.index_score(&query, 2, 2, &stored, 2).to_bits(),
            f32::NAN.to_bits()
        );
        let mut out = [0.0; 2];
        kernel.index_row_maxima(&query, 2, 2, &stored, 2, &mut out);
        assert_eq!(out[0].to_bits(), f32::NAN.to_bits(), "{isa}");
        assert_eq!(out[1], 2.0);
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
fn short_buffers_and_dim_zero_panic_on_every_isa() {
    let stored = column_document::<f16>(&[1.0; 17]);
    let query = [1.0f32; 6];
    for isa in isas_under_test() {
        let kernel = Kernel::new(isa).unwrap();
        assert_panics("dim must be at least 1", || {
            kernel.index_score(&query, 3, 0, &stored, 17);
        });
        assert_panics("query is shorter than 4 rows of dim 2", || {
            kernel.index_score(&query, 4, 2, &stored, 17);
        });
        assert_panics("query is shorter", || {
            kernel.index_score(&query, usize::MAX, 2, &stored, 17);
        });
        assert_panics("stored document is shorter than 33 rows of dim 2", || {
            kernel.index_score(&query, 3, 2, &stored, 33);
        });
        assert_panics("stored document is shorter", || {
            kernel.index_score(&query, 3, 2, &stored[..63], 17);
        });
        assert_panics("stored document is shorter", || {
            kernel.index_score(&query, 3, 2, &stored, usize::MAX);
        });
        assert_panics("out is shorter than 3 query rows", || {
            kernel.index_row_maxima(&query, 3, 2, &stored, 17, &mut [0.0; 2]);
        });
        assert_panics("weights is shorter than 3 query rows", || {
            kernel.index_score_weighted(&query, 3, 2, &stored, 17, &[1.0; 2]);
        });
        assert_panics("dim must be at least 1", || {
            kernel.index_row_maxima(&query, 3, 0, &stored, 17, &mut [0.0; 3]);
        });
    }
}

#[test]
fn longer_buffers_are_fine_and_ignored_past_their_lengths() {
    let stored = column_document::<f32>(&[3.0, -1.0, 2.0]);
    let mut longer = stored.clone();
    longer.extend([100.0f32; 40]);
    for isa in isas_under_test() {
        let kernel = Kernel::new(isa).unwrap();
        let query = [1.0, 0.0, 1.0, 0.0, 9.0, 9.0];
        assert_eq!(kernel.index_score(&query, 2, 2, &longer, 3), 6.0, "{isa}");
        assert_eq!(
            kernel.index_score_weighted(&query, 2, 2, &longer, 3, &[1.0, 2.0, 5.0]),
            9.0,
            "{isa}"
        );
    }
}
