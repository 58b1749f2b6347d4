//! Corpus scoring, top-k, batches, masks and explanations agree exactly with scoring each
//! document alone, on ragged corpora, whatever the thread count.

mod common;

use common::{isas_under_test, random_buffer, Rng, Values};
use maxsim::{Corpus, Error, Hit, Isa, PreparedQuery, QueryBatch, TokenMatrix};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;

fn config() -> ProptestConfig {
    ProptestConfig {
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "proptest-regressions/corpus.txt",
        ))),
        ..ProptestConfig::default()
    }
}

/// Document lengths for a ragged corpus: zero documents, empty documents, tile edges.
fn lengths() -> BoxedStrategy<Vec<usize>> {
    if cfg!(miri) {
        // Miri interprets every multiply-add: small corpora, same edge cases.
        return prop::collection::vec(0usize..6, 0..5).boxed();
    }
    prop::collection::vec(
        prop_oneof![
            1 => Just(0usize),
            3 => 1usize..40,
            1 => prop::sample::select(vec![8, 12, 13, 16, 17, 24, 25, 100]),
        ],
        0..24,
    )
    .boxed()
}

#[derive(Clone, Debug)]
struct Case {
    query_rows: usize,
    dim: usize,
    lengths: Vec<usize>,
    seed: u64,
    values: Values,
}

fn cases() -> impl Strategy<Value = Case> {
    let (rows, dims) = if cfg!(miri) {
        (vec![0usize, 1, 3, 5], vec![1usize, 3, 8])
    } else {
        (
            vec![0, 1, 3, 10, 16, 17, 32, 33],
            vec![1, 3, 16, 64, 96, 128],
        )
    };
    (
        prop::sample::select(rows),
        prop::sample::select(dims),
        lengths(),
        any::<u64>(),
        prop::sample::select(vec![Values::Unit, Values::Integers, Values::Mixed]),
    )
        .prop_map(|(query_rows, dim, lengths, seed, values)| Case {
            query_rows,
            dim,
            lengths,
            seed,
            values,
        })
}

fn data(case: &Case) -> (Vec<f32>, Vec<f32>) {
    let mut rng = Rng(case.seed);
    let total: usize = case.lengths.iter().sum();
    let query = random_buffer(&mut rng, case.query_rows, case.dim, 0, case.values);
    let docs = random_buffer(&mut rng, total, case.dim, 0, case.values);
    (query, docs)
}

fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
}

/// Scores of each document scored alone: the reference for everything else.
fn one_by_one(query: &PreparedQuery, corpus: &Corpus<'_>) -> Vec<f32> {
    corpus.iter().map(|doc| query.score(doc).unwrap()).collect()
}

fn bits(scores: &[f32]) -> Vec<u32> {
    scores.iter().map(|s| s.to_bits()).collect()
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn parallel_scores_match_documents_scored_alone(case in cases()) {
        let (q, d) = data(&case);
        let corpus = Corpus::from_lengths(&d[..], case.dim, &case.lengths).unwrap();
        for isa in isas_under_test() {
            let query = PreparedQuery::with_isa(TokenMatrix::new(&q, case.dim).unwrap(), isa).unwrap();
            let expected = one_by_one(&query, &corpus);
            for threads in [1, 2, 3] {
                let got = pool(threads).install(|| query.score_corpus(&corpus)).unwrap();
                prop_assert_eq!(bits(&got), bits(&expected), "{} with {} threads", isa, threads);
            }
        }
    }

    #[test]
    fn top_k_is_the_sorted_prefix_of_all_scores(case in cases(), k in 0usize..30) {
        let (q, d) = data(&case);
        let corpus = Corpus::from_lengths(&d[..], case.dim, &case.lengths).unwrap();
        let query = PreparedQuery::new(TokenMatrix::new(&q, case.dim).unwrap()).unwrap();
        let mut expected: Vec<Hit> = one_by_one(&query, &corpus)
            .into_iter()
            .enumerate()
            .map(|(index, score)| Hit { index, score })
            .collect();
        expected.sort_by(|a, b| a.rank_cmp(b));
        expected.truncate(k);
        for threads in [1, 2] {
            let got = pool(threads).install(|| query.top_k(&corpus, k)).unwrap();
            prop_assert_eq!(got.len(), expected.len());
            for (g, e) in got.iter().zip(&expected) {
                prop_assert_eq!((g.index, g.score.to_bits()), (e.index, e.score.to_bits()));
            }
        }
    }

    #[test]
    fn batches_match_each_query_alone(case in cases(), extra_rows in prop::collection::vec(0usize..20, 0..6)) {
        let (_, d) = data(&case);
        let corpus = Corpus::from_lengths(&d[..], case.dim, &case.lengths).unwrap();
        let mut rng = Rng(case.seed ^ 1);
        let queries: Vec<Vec<f32>> = extra_rows
            .iter()
            .map(|&rows| random_buffer(&mut rng, rows, case.dim, 0, case.values))
            .collect();
        let matrices: Vec<TokenMatrix<'_>> =
            queries.iter().map(|q| TokenMatrix::new(q, case.dim).unwrap()).collect();
        for isa in isas_under_test() {
            let batch = QueryBatch::with_isa(&matrices, isa).unwrap();
            let got = pool(2).install(|| batch.score_corpus(&corpus)).unwrap();
            prop_assert_eq!(got.len(), matrices.len() * corpus.len());
            for (q, &matrix) in matrices.iter().enumerate() {
                let alone = one_by_one(&PreparedQuery::with_isa(matrix, Isa::Scalar).unwrap(), &corpus);
                let row = &got[q * corpus.len()..(q + 1) * corpus.len()];
                prop_assert_eq!(bits(row), bits(&alone), "{} query {}", isa, q);
            }
        }
    }

    #[test]
    fn masked_rows_contribute_nothing(case in cases(), mask_seed in any::<u64>()) {
        let (q, d) = data(&case);
        let corpus = Corpus::from_lengths(&d[..], case.dim, &case.lengths).unwrap();
        let mask: Vec<bool> = (0..case.query_rows).map(|i| (mask_seed >> (i % 64)) & 1 == 1).collect();
        let kept: Vec<f32> = q
            .chunks_exact(case.dim)
            .zip(&mask)
            .filter(|(_, &keep)| keep)
            .flat_map(|(row, _)| row.iter().copied())
            .collect();
        let expected = one_by_one(
            &PreparedQuery::with_isa(TokenMatrix::new(&kept, case.dim).unwrap(), Isa::Scalar).unwrap(),
            &corpus,
        );
        for isa in isas_under_test() {
            let masked = PreparedQuery::with_isa(TokenMatrix::new(&q, case.dim).unwrap(), isa)
                .unwrap()
                .with_mask(&mask)
                .unwrap();
            let got = masked.score_corpus(&corpus).unwrap();
            prop_assert_eq!(bits(&got), bits(&expected), "{}", isa);
        }
    }

    #[test]
    fn weighted_scores_match_the_reference_and_unit_weights_change_nothing(case in cases(), weight_seed in any::<u64>()) {
        let (q, d) = data(&case);
        let corpus = Corpus::from_lengths(&d[..], case.dim, &case.lengths).unwrap();
        let mut rng = Rng(weight_seed);
        let weights: Vec<f32> = (0..case.query_rows).map(|_| (rng.next_u64() % 5) as f32 * 0.5 - 0.5).collect();
        let query = TokenMatrix::new(&q, case.dim).unwrap();
        let reference = PreparedQuery::with_isa(query, Isa::Scalar).unwrap().with_weights(&weights).unwrap();
        let expected = one_by_one(&reference, &corpus);
        for isa in isas_under_test() {
            let weighted = PreparedQuery::with_isa(query, isa).unwrap().with_weights(&weights).unwrap();
            prop_assert_eq!(bits(&weighted.score_corpus(&corpus).unwrap()), bits(&expected), "{}", isa);
            let plain = PreparedQuery::with_isa(query, isa).unwrap();
            let ones = plain.clone().with_weights(&vec![1.0; case.query_rows]).unwrap();
            prop_assert_eq!(bits(&ones.score_corpus(&corpus).unwrap()), bits(&plain.score_corpus(&corpus).unwrap()));
        }
    }

    #[test]
    fn padding_never_changes_a_score(case in cases(), pad in 0usize..9) {
        let (q, d) = data(&case);
        let dim = case.dim;
        let padded_rows = case.lengths.iter().copied().max().unwrap_or(0) + pad;
        // Zero padding: it would win every max against negative similarities if scored.
        let mut padded = vec![0.0f32; case.lengths.len() * padded_rows * dim];
        let mut start = 0;
        for (i, &len) in case.lengths.iter().enumerate() {
            padded[i * padded_rows * dim..(i * padded_rows + len) * dim]
                .copy_from_slice(&d[start * dim..(start + len) * dim]);
            start += len;
        }
        let flat = Corpus::from_lengths(&d[..], dim, &case.lengths).unwrap();
        let block = Corpus::from_padded_lengths(&padded[..], (case.lengths.len(), padded_rows, dim), &case.lengths).unwrap();
        let query = PreparedQuery::new(TokenMatrix::new(&q, dim).unwrap()).unwrap();
        prop_assert_eq!(bits(&query.score_corpus(&block).unwrap()), bits(&query.score_corpus(&flat).unwrap()));
    }

    #[test]
    fn explanations_add_up_to_the_score(case in cases()) {
        let (q, d) = data(&case);
        let corpus = Corpus::from_lengths(&d[..], case.dim, &case.lengths).unwrap();
        for isa in isas_under_test() {
            let query = PreparedQuery::with_isa(TokenMatrix::new(&q, case.dim).unwrap(), isa).unwrap();
            for doc in corpus.iter() {
                let explanation = query.explain(doc).unwrap();
                let score = query.score(doc).unwrap();
                prop_assert_eq!(explanation.score.to_bits(), score.to_bits());
                prop_assert_eq!(explanation.sum_of_matches().to_bits(), score.to_bits());
                prop_assert_eq!(explanation.matches.len(), case.query_rows);
                for m in &explanation.matches {
                    let query_row = &q[m.query_row * case.dim..(m.query_row + 1) * case.dim];
                    match m.doc_row {
                        None => prop_assert!(doc.is_empty()),
                        Some(j) => {
                            let dot = maxsim::kernels::scalar::dot(query_row, doc.row(j).unwrap());
                            prop_assert!(dot.to_bits() == m.similarity.to_bits() || (dot.is_nan() && m.similarity.is_nan()));
                            // No earlier row is as good.
                            for earlier in 0..j {
                                let other = maxsim::kernels::scalar::dot(query_row, doc.row(earlier).unwrap());
                                let earlier_is_worse = if m.similarity.is_nan() {
                                    !other.is_nan()
                                } else {
                                    other < m.similarity
                                };
                                prop_assert!(earlier_is_worse, "row {} ({}) before {}", earlier, other, j);
                            }
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn all_negative_similarities_never_let_padding_win() {
    let query = [1.0f32, 1.0];
    // Two documents padded to 3 rows with zeros; every real similarity is negative.
    let block = [
        -1.0, -1.0, 0.0, 0.0, 0.0, 0.0, -3.0, 0.0, -0.5, -0.25, 0.0, 0.0,
    ];
    let corpus = Corpus::from_padded_lengths(&block[..], (2, 3, 2), &[1, 2]).unwrap();
    let prepared = PreparedQuery::new(TokenMatrix::new(&query, 2).unwrap()).unwrap();
    assert_eq!(prepared.score_corpus(&corpus).unwrap(), vec![-2.0, -0.75]);
    assert_eq!(
        prepared.top_k(&corpus, 1).unwrap(),
        vec![Hit {
            index: 1,
            score: -0.75
        }]
    );
}

#[test]
fn a_corpus_of_zero_documents_scores_to_nothing() {
    let corpus = Corpus::from_lengths(&[][..], 4, &[0usize; 0]).unwrap();
    let query = PreparedQuery::new(TokenMatrix::new(&[1.0; 8], 4).unwrap()).unwrap();
    assert!(query.score_corpus(&corpus).unwrap().is_empty());
    assert!(query.top_k(&corpus, 5).unwrap().is_empty());
    let batch = QueryBatch::new(&[TokenMatrix::new(&[1.0; 4], 4).unwrap()]).unwrap();
    assert!(batch.score_corpus(&corpus).unwrap().is_empty());
}

#[test]
fn nan_scores_rank_last_and_ties_by_index() {
    let query = [1.0f32];
    let docs = [2.0, f32::NAN, 2.0, 3.0, f32::NEG_INFINITY];
    let corpus = Corpus::from_lengths(&docs[..], 1, &[1, 1, 1, 1, 1, 0]).unwrap();
    let prepared = PreparedQuery::new(TokenMatrix::new(&query, 1).unwrap()).unwrap();
    let order: Vec<usize> = prepared
        .top_k(&corpus, 10)
        .unwrap()
        .iter()
        .map(|h| h.index)
        .collect();
    assert_eq!(order, vec![3, 0, 2, 4, 5, 1]);
}

#[test]
fn inconsistent_layouts_are_clear_errors() {
    let data = [0.0f32; 12];
    let err = Corpus::from_lengths(&data[..], 2, &[3, 2]).unwrap_err();
    assert!(
        err.to_string()
            .contains("add up to 5 but the data has 6 rows"),
        "{err}"
    );
    let err = Corpus::from_lengths(&data[..], 2, &[3, 2, 9]).unwrap_err();
    assert!(err.to_string().contains("more than the 6 rows"), "{err}");
    let err = Corpus::from_offsets(&data[..], 2, &[0, 4, 3, 6]).unwrap_err();
    assert!(
        err.to_string().contains("offset 2 is 3 but offset 1 is 4"),
        "{err}"
    );
    assert!(Corpus::from_offsets(&data[..], 2, &[0, 7]).is_err());
    assert!(Corpus::from_offsets(&data[..], 2, &[0usize; 0]).is_err());
    let err = Corpus::from_padded(&data[..], (2, 4, 2)).unwrap_err();
    assert!(
        err.to_string()
            .contains("12 floats is not a block of 2 documents x 4 rows x dim 2"),
        "{err}"
    );
    assert!(matches!(
        Corpus::from_padded(&data[..], (2, 3, 0)),
        Err(Error::ZeroDim)
    ));
    // Documents of zero rows still count.
    let empty = Corpus::from_padded(&[][..], (5, 0, 3)).unwrap();
    assert_eq!((empty.len(), empty.total_rows()), (5, 0));
    let err = Corpus::from_padded_lengths(&data[..], (2, 3, 2), &[1, 4]).unwrap_err();
    assert!(err.to_string().contains("document 1 has length 4"), "{err}");
    assert!(matches!(
        Corpus::from_lengths(&data[..], 5, &[0usize; 0]),
        Err(Error::RaggedData { .. })
    ));
    let a = TokenMatrix::new(&data[..4], 2).unwrap();
    let b = TokenMatrix::new(&data[..3], 3).unwrap();
    assert!(matches!(
        Corpus::from_documents([a, b], 2),
        Err(Error::DimMismatch {
            query_dim: 2,
            doc_dim: 3
        })
    ));
    assert!(matches!(
        QueryBatch::new(&[a, b]),
        Err(Error::DimMismatch {
            query_dim: 2,
            doc_dim: 3
        })
    ));
    let query = PreparedQuery::new(TokenMatrix::new(&data[..3], 3).unwrap()).unwrap();
    let corpus = Corpus::from_lengths(&data[..], 2, &[6]).unwrap();
    assert!(matches!(
        query.score_corpus(&corpus),
        Err(Error::DimMismatch { .. })
    ));
    let mut out = [0.0; 2];
    let corpus = Corpus::from_lengths(&data[..], 3, &[4]).unwrap();
    assert!(matches!(
        query.score_corpus_into(&corpus, &mut out),
        Err(Error::OutputLength {
            expected: 1,
            actual: 2
        })
    ));
    assert!(matches!(
        query.clone().with_weights(&[1.0, 2.0]),
        Err(Error::Weights { .. })
    ));
    let heavy = query.clone().with_weights(&[f32::MAX]).unwrap();
    assert!(matches!(
        heavy.with_weights(&[4.0]),
        Err(Error::Weights { .. })
    ));
    assert!(matches!(
        query.with_weights(&[f32::NAN]),
        Err(Error::Weights { .. })
    ));
}

#[test]
fn every_constructor_gives_the_same_documents() {
    let data: Vec<f32> = (0..24).map(|i| i as f32).collect();
    let by_lengths = Corpus::from_lengths(&data[..], 4, &[2, 0, 4]).unwrap();
    let by_offsets = Corpus::from_offsets(&data[..], 4, &[0, 2, 2, 6]).unwrap();
    let bytes: &[u8] = bytemuck::cast_slice(&data);
    let by_bytes = Corpus::from_bytes(bytes, 4, &[0, 2, 2, 6]).unwrap();
    let owned = Corpus::from_lengths(data.clone(), 4, &[2, 0, 4]).unwrap();
    let copied = Corpus::from_documents(by_lengths.iter(), 4).unwrap();
    for corpus in [&by_offsets, &by_bytes, &owned, &copied] {
        assert_eq!(corpus.len(), 3);
        for (a, b) in corpus.iter().zip(by_lengths.iter()) {
            assert_eq!(a.as_slice(), b.as_slice());
        }
    }
    assert_eq!(by_bytes.get(0).unwrap().as_slice().as_ptr(), data.as_ptr());
    assert_eq!(by_lengths.total_rows(), 6);
    assert!(by_lengths.get(3).is_none());
}
