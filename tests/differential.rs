//! Every kernel this host runs against the scalar reference, bit for bit, and the reference
//! against a float64 oracle within the stated bound.

mod common;

use common::{isas_under_test, matrix, random_buffer, Rng, Values};
use maxsim::kernels::Kernel;
use maxsim::{Isa, PreparedQuery, TokenMatrix};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;

/// Sizes weighted to the edges of lanes (1, 4, 8, 16) and of the tiles (2, 4, 6, 8, 12 rows).
fn rows() -> impl Strategy<Value = usize> {
    prop_oneof![
        2 => 0usize..70,
        3 => prop::sample::select(vec![
            0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 15, 16, 17, 23, 24, 25, 31, 32, 33, 47, 48,
            49, 63, 64, 65, 69,
        ]),
    ]
}

fn dims() -> impl Strategy<Value = usize> {
    prop_oneof![
        2 => 1usize..=200,
        2 => prop::sample::select(vec![64, 96, 128]),
        1 => prop::sample::select(vec![1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 33, 127, 129, 200]),
    ]
}

fn values() -> impl Strategy<Value = Values> {
    prop::sample::select(vec![
        Values::Unit,
        Values::Mixed,
        Values::Integers,
        Values::Tiny,
    ])
}

#[derive(Clone, Debug)]
struct Case {
    query_rows: usize,
    doc_rows: usize,
    dim: usize,
    query_offset: usize,
    doc_offset: usize,
    values: Values,
    seed: u64,
}

fn cases() -> impl Strategy<Value = Case> {
    (
        rows(),
        rows(),
        dims(),
        0usize..4,
        0usize..4,
        values(),
        any::<u64>(),
    )
        .prop_map(
            |(query_rows, doc_rows, dim, query_offset, doc_offset, values, seed)| Case {
                query_rows,
                doc_rows,
                dim,
                query_offset,
                doc_offset,
                values,
                seed,
            },
        )
}

fn buffers(case: &Case) -> (Vec<f32>, Vec<f32>) {
    let mut rng = Rng(case.seed);
    let q = random_buffer(
        &mut rng,
        case.query_rows,
        case.dim,
        case.query_offset,
        case.values,
    );
    let d = random_buffer(
        &mut rng,
        case.doc_rows,
        case.dim,
        case.doc_offset,
        case.values,
    );
    (q, d)
}

fn config() -> ProptestConfig {
    // `default()` honours PROPTEST_CASES, which CI lowers under emulation.
    ProptestConfig {
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "proptest-regressions/differential.txt",
        ))),
        ..ProptestConfig::default()
    }
}

/// Asserts every ISA's score and row maxima have the reference's bits.
fn assert_bit_identical(query: TokenMatrix<'_>, doc: TokenMatrix<'_>) -> Result<(), TestCaseError> {
    let reference = PreparedQuery::with_isa(query, Isa::Scalar).unwrap();
    let expected = reference.score(doc).unwrap();
    let mut expected_rows = vec![0.0; query.rows()];
    reference.row_maxima(doc, &mut expected_rows).unwrap();
    for isa in isas_under_test() {
        let prepared = PreparedQuery::with_isa(query, isa).unwrap();
        prop_assert_eq!(prepared.isa(), isa);
        let got = prepared.score(doc).unwrap();
        prop_assert_eq!(
            got.to_bits(),
            expected.to_bits(),
            "{} score {} vs reference {}",
            isa,
            got,
            expected
        );
        let mut rows = vec![0.0; query.rows()];
        prepared.row_maxima(doc, &mut rows).unwrap();
        for (i, (g, e)) in rows.iter().zip(&expected_rows).enumerate() {
            prop_assert_eq!(
                g.to_bits(),
                e.to_bits(),
                "{} row {}: {} vs {}",
                isa,
                i,
                g,
                e
            );
        }
        // The kernel itself, below PreparedQuery's scalar shortcut for tiny shapes.
        let kernel = Kernel::new(isa).unwrap();
        let mut packed = vec![0.0; kernel.packed_len(query.rows(), query.dim()).unwrap()];
        kernel.pack_query(query.as_slice(), query.dim(), &mut packed);
        let got = kernel.score(&packed, query.rows(), query.dim(), doc.as_slice());
        prop_assert_eq!(
            got.to_bits(),
            expected.to_bits(),
            "{} kernel: {} vs {}",
            isa,
            got,
            expected
        );
        kernel.row_maxima(
            &packed,
            query.rows(),
            query.dim(),
            doc.as_slice(),
            &mut rows,
        );
        for (i, (g, e)) in rows.iter().zip(&expected_rows).enumerate() {
            prop_assert_eq!(
                g.to_bits(),
                e.to_bits(),
                "{} kernel row {}: {} vs {}",
                isa,
                i,
                g,
                e
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn every_isa_matches_the_reference_bit_for_bit(case in cases()) {
        let (q, d) = buffers(&case);
        let query = matrix(&q, case.query_offset, case.dim);
        let doc = matrix(&d, case.doc_offset, case.dim);
        assert_bit_identical(query, doc)?;
    }

    #[test]
    fn non_finite_inputs_follow_one_policy_on_every_isa(
        case in cases(),
        specials in prop::collection::vec((any::<bool>(), any::<prop::sample::Index>(), 0u8..3), 1..4),
    ) {
        let (mut q, mut d) = buffers(&case);
        for (in_query, index, kind) in specials {
            let value = [f32::INFINITY, f32::NEG_INFINITY, f32::NAN][kind as usize];
            let (buf, offset) = if in_query { (&mut q, case.query_offset) } else { (&mut d, case.doc_offset) };
            if buf.len() > offset {
                let i = offset + index.index(buf.len() - offset);
                buf[i] = value;
            }
        }
        let query = matrix(&q, case.query_offset, case.dim);
        let doc = matrix(&d, case.doc_offset, case.dim);
        assert_bit_identical(query, doc)?;
    }

    #[test]
    fn reference_is_within_the_stated_bound_of_a_float64_oracle(case in cases()) {
        let (q, d) = buffers(&case);
        let query = matrix(&q, case.query_offset, case.dim);
        let doc = matrix(&d, case.doc_offset, case.dim);
        let score = maxsim::maxsim_with_isa(query, doc, Isa::Scalar).unwrap();
        let oracle = common::oracle(query, doc);
        if case.query_rows == 0 {
            prop_assert_eq!(score.to_bits(), 0f32.to_bits());
        } else if case.doc_rows == 0 {
            prop_assert_eq!(score, f32::NEG_INFINITY);
        } else {
            let bound = common::error_bound(query, doc);
            let error = (score as f64 - oracle).abs();
            prop_assert!(error <= bound, "score {} oracle {} error {:e} > bound {:e}", score, oracle, error, bound);
        }
    }
}
