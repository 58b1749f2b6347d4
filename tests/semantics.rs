//! The documented semantics, each checked on every ISA this host runs.

mod common;

use common::isas_under_test;
use maxsim::{maxsim_with_isa, Error, Isa, PreparedQuery, TokenMatrix, TokenMatrixBuf};

fn m(data: &[f32], dim: usize) -> TokenMatrix<'_> {
    TokenMatrix::new(data, dim).unwrap()
}

/// The score on every ISA; all must have the same bits, which are returned.
fn score_everywhere(query: TokenMatrix<'_>, doc: TokenMatrix<'_>) -> f32 {
    let reference = maxsim_with_isa(query, doc, Isa::Scalar).unwrap();
    for isa in isas_under_test() {
        let got = maxsim_with_isa(query, doc, isa).unwrap();
        assert_eq!(
            got.to_bits(),
            reference.to_bits(),
            "{isa}: {got} vs {reference}"
        );
    }
    reference
}

#[test]
fn score_is_the_sum_of_row_maxima() {
    let query = [1.0, 0.0, 0.0, 1.0];
    let doc = [0.5, 0.5, 2.0, -1.0, 0.0, 3.0];
    assert_eq!(score_everywhere(m(&query, 2), m(&doc, 2)), 5.0);
}

#[test]
fn empty_query_scores_zero() {
    let doc = [1.0; 8];
    let score = score_everywhere(m(&[], 4), m(&doc, 4));
    assert_eq!(score.to_bits(), 0.0f32.to_bits());
    assert_eq!(
        score_everywhere(m(&[], 4), m(&[], 4)).to_bits(),
        0.0f32.to_bits()
    );
}

#[test]
fn empty_document_scores_minus_infinity_below_every_real_document() {
    let query = [1.0, 2.0, 3.0];
    let empty = score_everywhere(m(&query, 3), m(&[], 3));
    assert_eq!(empty, f32::NEG_INFINITY);
    let awful = [-1e30, -1e30, -1e30];
    assert!(score_everywhere(m(&query, 3), m(&awful, 3)) > empty);
}

#[test]
fn nan_anywhere_in_a_row_makes_the_score_canonical_nan() {
    // The NaN is in the last document row, after the maximum: it still wins.
    let query = [1.0, 1.0];
    let doc = [5.0, 5.0, 1.0, f32::NAN];
    let score = score_everywhere(m(&query, 2), m(&doc, 2));
    assert_eq!(score.to_bits(), f32::NAN.to_bits());
    // A negative-signed NaN input comes out canonical too.
    let doc = [5.0, -f32::NAN];
    let score = score_everywhere(m(&[1.0, 1.0], 2), m(&doc, 2));
    assert_eq!(score.to_bits(), f32::NAN.to_bits());
}

#[test]
fn infinities_follow_ieee_arithmetic() {
    let inf = f32::INFINITY;
    assert_eq!(score_everywhere(m(&[1.0], 1), m(&[inf], 1)), inf);
    assert_eq!(
        score_everywhere(m(&[-1.0], 1), m(&[inf], 1)),
        f32::NEG_INFINITY
    );
    // 0 * inf is NaN.
    assert!(score_everywhere(m(&[0.0], 1), m(&[inf], 1)).is_nan());
    // inf - inf inside one dot product is NaN.
    assert!(score_everywhere(m(&[1.0, 1.0], 2), m(&[inf, -inf], 2)).is_nan());
    // Row maxima of +inf and -inf sum to NaN.
    let query = [1.0, -1.0];
    assert!(score_everywhere(m(&query, 1), m(&[inf], 1)).is_nan());
}

#[test]
fn argument_order_matters() {
    let a = [1.0, 0.0, 0.0, 1.0];
    let b = [1.0, 1.0];
    let ab = score_everywhere(m(&a, 2), m(&b, 2));
    let ba = score_everywhere(m(&b, 2), m(&a, 2));
    assert_eq!(ab, 2.0); // each of a's rows against b's one row
    assert_eq!(ba, 1.0); // b's one row against a's best
}

#[test]
fn a_zero_padding_row_would_win_against_negative_similarities() {
    // Why padding must be excluded: with all-negative similarities, a zero row scores 0.
    let query = [1.0, 1.0];
    let doc = [-1.0, -2.0];
    let padded = [-1.0, -2.0, 0.0, 0.0];
    let real = score_everywhere(m(&query, 2), m(&doc, 2));
    assert_eq!(real, -3.0);
    assert_eq!(score_everywhere(m(&query, 2), m(&padded, 2)), 0.0);
    // Slicing to the document's length, as the .npy loader does, keeps the real score.
    let sliced = m(&padded, 2).slice_rows(0, 1).unwrap();
    assert_eq!(score_everywhere(m(&query, 2), sliced), real);
}

#[test]
fn row_maxima_sum_to_the_score() {
    let query: Vec<f32> = (0..37 * 5)
        .map(|i| ((i * 7919) % 23) as f32 - 11.0)
        .collect();
    let doc: Vec<f32> = (0..29 * 5)
        .map(|i| ((i * 104729) % 19) as f32 / 3.0 - 3.0)
        .collect();
    for isa in isas_under_test() {
        let prepared = PreparedQuery::with_isa(m(&query, 5), isa).unwrap();
        let mut rows = vec![0.0; 37];
        prepared.row_maxima(m(&doc, 5), &mut rows).unwrap();
        let summed = rows.iter().fold(0.0f32, |s, &x| s + x);
        assert_eq!(
            summed.to_bits(),
            prepared.score(m(&doc, 5)).unwrap().to_bits()
        );
    }
}

#[test]
fn mismatched_dims_are_an_error_naming_both() {
    let err = maxsim::maxsim(m(&[1.0; 6], 3), m(&[1.0; 6], 2)).unwrap_err();
    assert_eq!(
        err,
        Error::DimMismatch {
            query_dim: 3,
            doc_dim: 2
        }
    );
    let text = err.to_string();
    assert!(text.contains('3') && text.contains('2'), "{text}");
    // Even an empty document has a dim, and it must match.
    assert!(maxsim::maxsim(m(&[1.0; 6], 3), m(&[], 2)).is_err());
}

#[test]
fn wrong_output_length_is_an_error() {
    let prepared = PreparedQuery::new(m(&[1.0; 6], 3)).unwrap();
    let mut out = [0.0; 3];
    let err = prepared.row_maxima(m(&[1.0; 3], 3), &mut out).unwrap_err();
    assert_eq!(
        err,
        Error::OutputLength {
            expected: 2,
            actual: 3
        }
    );
}

#[test]
fn matrix_constructors_check_shapes() {
    assert_eq!(TokenMatrix::new(&[1.0; 7], 0).unwrap_err(), Error::ZeroDim);
    let err = TokenMatrix::new(&[1.0; 7], 3).unwrap_err();
    assert_eq!(err, Error::RaggedData { len: 7, dim: 3 });
    assert!(err.to_string().contains("7 floats"), "{err}");
    let empty = TokenMatrix::new(&[0.0f32; 0], 5).unwrap();
    assert_eq!((empty.rows(), empty.dim(), empty.is_empty()), (0, 5, true));
    let err = TokenMatrixBuf::from_rows([vec![1.0, 2.0], vec![3.0]], 2).unwrap_err();
    assert_eq!(
        err,
        Error::RowLength {
            row: 1,
            len: 1,
            dim: 2
        }
    );
    let rows = TokenMatrixBuf::from_rows([[1.0, 2.0], [3.0, 4.0]], 2).unwrap();
    assert_eq!(rows.as_matrix().row(1), Some(&[3.0, 4.0][..]));
    assert_eq!(rows.as_matrix().row(2), None);
}

#[test]
fn byte_views_are_zero_copy_and_checked() {
    let values: Vec<f32> = (0..12).map(|i| i as f32 * 0.5).collect();
    let bytes: &[u8] = bytemuck::cast_slice(&values);
    let view = TokenMatrix::from_bytes(bytes, 4).unwrap();
    assert_eq!(view.rows(), 3);
    assert_eq!(view.as_slice().as_ptr() as usize, values.as_ptr() as usize);

    // Not a whole number of floats.
    assert_eq!(
        TokenMatrix::from_bytes(&bytes[..10], 1).unwrap_err(),
        Error::ByteLength { len: 10 }
    );
    // Whole floats but not whole rows.
    assert_eq!(
        TokenMatrix::from_bytes(&bytes[..20], 4).unwrap_err(),
        Error::RaggedData { len: 5, dim: 4 }
    );
    // Misaligned: a copy of the bytes one past an aligned start.
    let mut shifted = vec![0u8; bytes.len() + 4];
    let start = (4 - shifted.as_ptr() as usize % 4) % 4 + 1;
    shifted[start..start + bytes.len()].copy_from_slice(bytes);
    let misaligned = &shifted[start..start + bytes.len()];
    let err = TokenMatrix::from_bytes(misaligned, 4).unwrap_err();
    assert!(matches!(err, Error::Misaligned { offset: 1 }), "{err:?}");
    assert!(err.to_string().contains("from_bytes_copied"));
    // The copying path takes any alignment and gives the same values.
    let copied = TokenMatrixBuf::from_bytes_copied(misaligned, 4).unwrap();
    assert_eq!(copied.as_matrix().as_slice(), &values[..]);
    assert_eq!(
        TokenMatrixBuf::from_bytes_copied(&misaligned[..7], 1).unwrap_err(),
        Error::ByteLength { len: 7 }
    );
}

#[test]
fn forcing_an_isa_this_cpu_lacks_is_an_error() {
    let query = m(&[1.0; 4], 4);
    for isa in Isa::ALL.into_iter().filter(|isa| !isa.is_supported()) {
        match PreparedQuery::with_isa(query, isa) {
            Err(Error::UnsupportedIsa {
                isa: named,
                supported,
            }) => {
                assert_eq!(named, isa);
                assert_eq!(supported, maxsim::supported_isas());
            }
            other => panic!("forcing {isa} gave {other:?}"),
        }
    }
    // There is always at least one: no CPU runs both x86 and ARM kernels.
    assert!(Isa::ALL.iter().any(|isa| !isa.is_supported()));
}

#[test]
fn kernels_check_lengths_instead_of_reading_past_a_short_buffer() {
    for isa in isas_under_test() {
        let kernel = maxsim::kernels::Kernel::new(isa).unwrap();
        // 8 rows of dim 5 need at least 40 packed floats; 3 must panic, not read on.
        let short = std::panic::catch_unwind(|| kernel.score(&[1.0; 3], 8, 5, &[1.0; 10]));
        assert!(short.is_err(), "{isa} accepted a short packed query");
        let zero_dim = std::panic::catch_unwind(|| kernel.score(&[1.0; 3], 1, 0, &[1.0; 10]));
        assert!(zero_dim.is_err(), "{isa} accepted dim 0");
    }
}

// The same rules at shapes far above the scalar shortcut (more than 24 multiply-adds), so every
// SIMD kernel itself is held to them: 37 query rows (a group of full blocks and a partial one
// on every ISA) against 45 document rows (full tiles and every remainder width), dim 40.

const ROWS: usize = 37;
const DOC_ROWS: usize = 45;
const DIM: usize = 40;

/// Small integers, so every dot product is exact in any order and the expected values are
/// known without a reference: query values in -3..=3, document values in -2..=2.
fn integer_matrix(rows: usize, seed: usize, span: usize) -> Vec<f32> {
    (0..rows * DIM)
        .map(|i| ((i * 7919 + seed * 104_729) % (2 * span + 1)) as f32 - span as f32)
        .collect()
}

/// Each query row's exact maximum over the document's rows (f64: exact for these integers).
fn exact_row_maxima(query: &[f32], doc: &[f32], dim: usize) -> Vec<f32> {
    query
        .chunks_exact(dim)
        .map(|q| {
            doc.chunks_exact(dim)
                .map(|d| {
                    q.iter()
                        .zip(d)
                        .map(|(&a, &b)| f64::from(a) * f64::from(b))
                        .sum::<f64>()
                })
                .fold(f64::NEG_INFINITY, f64::max) as f32
        })
        .collect()
}

/// Every ISA under test, prepared for `query`; the shape must be above the scalar shortcut.
fn prepared_everywhere(query: &[f32], doc_len: usize) -> Vec<PreparedQuery> {
    assert!(
        (query.len() / DIM) * doc_len > 24 * DIM,
        "shape too small to reach the kernels"
    );
    isas_under_test()
        .into_iter()
        .map(|isa| PreparedQuery::with_isa(m(query, DIM), isa).unwrap())
        .collect()
}

/// The score and row maxima of `query` against `doc` on every ISA, checked to be the same
/// bits everywhere; the common score and maxima are returned.
fn at_scale(query: &[f32], doc: &[f32]) -> (f32, Vec<f32>) {
    let mut agreed: Option<(f32, Vec<f32>)> = None;
    for prepared in prepared_everywhere(query, doc.len()) {
        let score = prepared.score(m(doc, DIM)).unwrap();
        let mut maxima = vec![0.0; query.len() / DIM];
        prepared.row_maxima(m(doc, DIM), &mut maxima).unwrap();
        if let Some((s, r)) = &agreed {
            let isa = prepared.isa();
            assert_eq!(score.to_bits(), s.to_bits(), "{isa} score");
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&maxima), bits(r), "{isa} row maxima");
        } else {
            agreed = Some((score, maxima));
        }
    }
    agreed.expect("at least the scalar ISA")
}

#[test]
fn at_scale_the_score_is_the_sum_of_exact_row_maxima_in_row_order() {
    let query = integer_matrix(ROWS, 1, 3);
    let doc = integer_matrix(DOC_ROWS, 2, 2);
    let (score, maxima) = at_scale(&query, &doc);
    let expected = exact_row_maxima(&query, &doc, DIM);
    assert_eq!(maxima, expected);
    assert_eq!(score, expected.iter().fold(0.0f32, |s, &x| s + x));
}

#[test]
fn at_scale_a_nan_anywhere_makes_that_row_nan_and_the_score_canonical_nan() {
    let query = integer_matrix(ROWS, 3, 3);
    let clean = integer_matrix(DOC_ROWS, 4, 2);
    // A NaN in the query's row 20 only: that row's maximum is NaN, the others stay exact.
    let mut nan_row = query.clone();
    nan_row[20 * DIM + 7] = f32::NAN;
    let (score, maxima) = at_scale(&nan_row, &clean);
    assert_eq!(score.to_bits(), f32::NAN.to_bits());
    let expected = exact_row_maxima(&query, &clean, DIM);
    for (row, (&got, &want)) in maxima.iter().zip(&expected).enumerate() {
        if row == 20 {
            assert!(got.is_nan(), "row 20 is {got}");
        } else {
            assert_eq!(got, want, "row {row}");
        }
    }
    // A negative NaN in the last document row, after every row's maximum: every row is NaN,
    // and the score is the canonical NaN.
    let mut doc = clean.clone();
    doc[(DOC_ROWS - 1) * DIM + DIM - 1] = -f32::NAN;
    let (score, maxima) = at_scale(&query, &doc);
    assert_eq!(score.to_bits(), f32::NAN.to_bits());
    assert!(maxima.iter().all(|x| x.is_nan()));
    // A NaN in the first document row, before the maximum, wins as well.
    let mut doc = clean;
    doc[3] = f32::NAN;
    let (score, _) = at_scale(&query, &doc);
    assert_eq!(score.to_bits(), f32::NAN.to_bits());
}

#[test]
fn at_scale_infinities_follow_ieee_arithmetic() {
    let inf = f32::INFINITY;
    // Document rows: 1.0 in dim 0, finite values elsewhere.
    let mut doc = integer_matrix(DOC_ROWS, 5, 2);
    doc.chunks_exact_mut(DIM).for_each(|row| row[0] = 1.0);
    // Query rows: +inf in dim 0 and zeros elsewhere, so every similarity is +inf.
    let row_with = |value: f32| {
        let mut row = vec![0.0; DIM];
        row[0] = value;
        row
    };
    let plus: Vec<f32> = (0..ROWS).flat_map(|_| row_with(inf)).collect();
    assert_eq!(at_scale(&plus, &doc).0, inf);
    let minus: Vec<f32> = (0..ROWS).flat_map(|_| row_with(-inf)).collect();
    assert_eq!(at_scale(&minus, &doc).0, f32::NEG_INFINITY);
    // Row maxima of +inf and -inf sum to NaN.
    let mixed: Vec<f32> = (0..ROWS)
        .flat_map(|i| row_with(if i == ROWS - 1 { -inf } else { inf }))
        .collect();
    let (score, maxima) = at_scale(&mixed, &doc);
    assert_eq!(score.to_bits(), f32::NAN.to_bits());
    assert_eq!(maxima[0], inf);
    assert_eq!(maxima[ROWS - 1], f32::NEG_INFINITY);
    // inf * 0 inside a dot product is NaN: a document row with 0.0 in dim 0.
    let mut zero_in_dim0 = doc.clone();
    zero_in_dim0[30 * DIM] = 0.0;
    assert!(at_scale(&plus, &zero_in_dim0).0.is_nan());
    // inf - inf inside a dot product is NaN: +inf and -inf in two dims of one query row.
    let mut cancelling = integer_matrix(ROWS, 6, 3);
    cancelling[5 * DIM] = inf;
    cancelling[5 * DIM + 1] = -inf;
    let mut positive = doc;
    positive.chunks_exact_mut(DIM).for_each(|row| row[1] = 1.0);
    let (score, maxima) = at_scale(&cancelling, &positive);
    assert!(score.is_nan() && maxima[5].is_nan() && !maxima[4].is_nan());
}

#[test]
fn at_scale_the_empty_document_gives_every_row_minus_infinity_in_every_kernel() {
    // An empty document never reaches a kernel through `score` (no work): call the kernels.
    let query = integer_matrix(ROWS, 7, 3);
    for isa in isas_under_test() {
        let kernel = maxsim::kernels::Kernel::new(isa).unwrap();
        let mut packed = vec![0.0; kernel.packed_len(ROWS, DIM).unwrap()];
        kernel.pack_query(&query, DIM, &mut packed);
        assert_eq!(
            kernel.score(&packed, ROWS, DIM, &[]),
            f32::NEG_INFINITY,
            "{isa}"
        );
        let mut maxima = vec![0.0; ROWS];
        kernel.row_maxima(&packed, ROWS, DIM, &[], &mut maxima);
        assert!(maxima.iter().all(|&x| x == f32::NEG_INFINITY), "{isa}");
        // Through the API, between two real documents of a corpus.
        let doc = integer_matrix(DOC_ROWS, 8, 2);
        let tokens = [&doc[..], &doc[..]].concat();
        let corpus =
            maxsim::Corpus::from_lengths(&tokens[..], DIM, &[DOC_ROWS, 0, DOC_ROWS]).unwrap();
        let prepared = PreparedQuery::with_isa(m(&query, DIM), isa).unwrap();
        let scores = prepared.score_corpus(&corpus).unwrap();
        assert_eq!(scores[1], f32::NEG_INFINITY, "{isa}");
        assert!(scores[0] > scores[1] && scores[0] == scores[2], "{isa}");
        let best = prepared.top_k(&corpus, 3).unwrap();
        assert_eq!(best[2].index, 1, "{isa}: the empty document ranks last");
    }
}

#[test]
fn at_scale_the_empty_query_scores_zero_in_every_kernel() {
    let doc = integer_matrix(DOC_ROWS, 9, 2);
    for isa in isas_under_test() {
        let kernel = maxsim::kernels::Kernel::new(isa).unwrap();
        assert_eq!(
            kernel.score(&[], 0, DIM, &doc).to_bits(),
            0.0f32.to_bits(),
            "{isa}"
        );
        let prepared = PreparedQuery::with_isa(m(&[], DIM), isa).unwrap();
        assert_eq!(
            prepared.score(m(&doc, DIM)).unwrap().to_bits(),
            0.0f32.to_bits()
        );
    }
}

#[test]
fn at_scale_argument_order_matters() {
    let a = integer_matrix(ROWS, 10, 3);
    let b = integer_matrix(DOC_ROWS, 11, 2);
    let ab = at_scale(&a, &b).0;
    let ba = at_scale(&b, &a).0;
    let sum = |v: Vec<f32>| v.iter().fold(0.0f32, |s, &x| s + x);
    assert_eq!(ab, sum(exact_row_maxima(&a, &b, DIM)));
    assert_eq!(ba, sum(exact_row_maxima(&b, &a, DIM)));
    assert_ne!(ab, ba);
}

#[test]
fn at_scale_padding_is_never_scored() {
    // Every real similarity is negative; zero padding rows would score 0 for every row.
    let query: Vec<f32> = (0..ROWS * DIM).map(|i| 1.0 + (i % 3) as f32).collect();
    let real: Vec<f32> = (0..DOC_ROWS * DIM).map(|i| -1.0 - (i % 2) as f32).collect();
    let mut padded = real.clone();
    padded.resize(real.len() + 19 * DIM, 0.0);
    let real_score = at_scale(&query, &real).0;
    assert!(real_score < 0.0);
    assert_eq!(
        at_scale(&query, &padded).0,
        0.0,
        "padding scored as zero wins"
    );
    let sliced = m(&padded, DIM).slice_rows(0, DOC_ROWS).unwrap();
    for prepared in prepared_everywhere(&query, real.len()) {
        assert_eq!(prepared.score(sliced).unwrap(), real_score);
        // A padded block with lengths scores only the real rows.
        let block = [&padded[..], &padded[..]].concat();
        let corpus = maxsim::Corpus::from_padded_lengths(
            &block[..],
            (2, DOC_ROWS + 19, DIM),
            &[DOC_ROWS as u32, 0],
        )
        .unwrap();
        let scores = prepared.score_corpus(&corpus).unwrap();
        assert_eq!(
            scores,
            [real_score, f32::NEG_INFINITY],
            "{}",
            prepared.isa()
        );
    }
}

#[test]
fn at_scale_masked_rows_contribute_nothing_not_even_nan_or_infinity() {
    let mut query = integer_matrix(ROWS, 12, 3);
    query[3 * DIM] = f32::NAN; // row 3
    query[17 * DIM] = f32::INFINITY; // row 17 (with negative and positive products: NaN or inf)
    let doc = integer_matrix(DOC_ROWS, 13, 2);
    let mask: Vec<bool> = (0..ROWS).map(|i| i != 3 && i != 17).collect();
    let mut clean = query.clone();
    clean[3 * DIM] = 0.0;
    clean[17 * DIM] = 0.0;
    let expected = exact_row_maxima(&clean, &doc, DIM);
    let expected: f32 = expected
        .iter()
        .enumerate()
        .filter(|(i, _)| mask[*i])
        .fold(0.0f32, |s, (_, &x)| s + x);
    for prepared in prepared_everywhere(&query, doc.len()) {
        let isa = prepared.isa();
        let masked = prepared.with_mask(&mask).unwrap();
        assert_eq!(masked.score(m(&doc, DIM)).unwrap(), expected, "{isa}");
    }
}

#[test]
fn at_scale_weights_are_fused_in_row_order_and_chained_weights_compose_before_dropping() {
    let query = integer_matrix(ROWS, 14, 3);
    let doc = integer_matrix(DOC_ROWS, 15, 2);
    let maxima = exact_row_maxima(&query, &doc, DIM);
    let weights: Vec<f32> = (0..ROWS).map(|i| (i % 4) as f32 * 0.5).collect(); // some zeros
    let expected = maxima
        .iter()
        .zip(&weights)
        .filter(|(_, &w)| w != 0.0)
        .fold(0.0f32, |s, (&x, &w)| w.mul_add(x, s));
    // Chained weights whose product underflows to 0.0 must remove the row too.
    let tiny = vec![1e-30f32; ROWS];
    let mut underflow = vec![1.0f32; ROWS];
    underflow[0] = 1e-30;
    for prepared in prepared_everywhere(&query, doc.len()) {
        let isa = prepared.isa();
        let weighted = prepared.clone().with_weights(&weights).unwrap();
        assert_eq!(weighted.score(m(&doc, DIM)).unwrap(), expected, "{isa}");
        // Every composed weight underflows (1e-30 * 1e-30): every row is dropped, the query
        // is empty and scores 0.0, even against an empty document (not fma(0, -inf) = NaN).
        let gone = prepared
            .clone()
            .with_weights(&tiny)
            .unwrap()
            .with_weights(&tiny)
            .unwrap();
        assert_eq!(gone.rows(), 0, "{isa}");
        assert_eq!(gone.score(m(&[], DIM)).unwrap().to_bits(), 0.0f32.to_bits());
        // Only row 0 underflows: the empty document scores -inf, as documented.
        let one_gone = prepared
            .with_weights(&underflow)
            .unwrap()
            .with_weights(&underflow)
            .unwrap();
        assert_eq!(one_gone.rows(), ROWS - 1, "{isa}");
        assert_eq!(
            one_gone.score(m(&[], DIM)).unwrap(),
            f32::NEG_INFINITY,
            "{isa}"
        );
    }
}

#[test]
fn at_scale_explain_names_the_first_of_equal_best_rows() {
    let query = integer_matrix(ROWS, 16, 3);
    let mut doc = integer_matrix(DOC_ROWS, 17, 2);
    // Rows 10 and 40 are the same vector, the best for every query row (a large multiple of
    // the query's all-ones direction would not be; use a copy of a real row scaled up).
    let best: Vec<f32> = (0..DIM)
        .map(|k| if k % 2 == 0 { 9.0 } else { -9.0 })
        .collect();
    doc[10 * DIM..11 * DIM].copy_from_slice(&best);
    doc[40 * DIM..41 * DIM].copy_from_slice(&best);
    let maxima = exact_row_maxima(&query, &doc, DIM);
    for prepared in prepared_everywhere(&query, doc.len()) {
        let explanation = prepared.explain(m(&doc, DIM)).unwrap();
        for (row, matched) in explanation.matches.iter().enumerate() {
            assert_eq!(matched.similarity, maxima[row]);
            let doc_row = matched.doc_row.unwrap();
            // The first row attaining the maximum.
            let first = doc
                .chunks_exact(DIM)
                .position(|d| {
                    query[row * DIM..(row + 1) * DIM]
                        .iter()
                        .zip(d)
                        .map(|(&a, &b)| f64::from(a) * f64::from(b))
                        .sum::<f64>() as f32
                        == maxima[row]
                })
                .unwrap();
            assert_eq!(doc_row, first, "{} row {row}", prepared.isa());
            assert_ne!(doc_row, 40, "row 40 only ties row 10, which comes first");
        }
        assert_eq!(
            explanation.sum_of_matches().to_bits(),
            explanation.score.to_bits()
        );
    }
}
