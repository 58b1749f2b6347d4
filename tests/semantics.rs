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
    let empty = TokenMatrix::new(&[], 5).unwrap();
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
