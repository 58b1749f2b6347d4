//! Pruned top-k over an index with a sketch: the proven interval always holds the exact
//! score (random, structured and adversarial data), and the pruned top-k is the full scan's,
//! bit for bit, for queries, masks, weights, batches, ties, NaN, empty documents and any k,
//! on every ISA.

mod common;

use common::{isas_under_test, random_buffer, Rng, Values};
use maxsim::synthetic::Synthetic;
use maxsim::{
    Corpus, Hit, Index, Isa, PreparedQuery, Pruning, QueryBatch, Sketch, Storage, TokenMatrix,
};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "proptest-regressions/prune.txt",
        ))),
        cases: if cfg!(miri) {
            2
        } else {
            std::env::var("PROPTEST_CASES")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(cases)
        },
        ..ProptestConfig::default()
    }
}

/// Hits as (id, score bits): NaN scores compare equal by their bits.
fn hit_bits(hits: &[Hit]) -> Vec<(usize, u32)> {
    hits.iter().map(|h| (h.index, h.score.to_bits())).collect()
}

/// How a case's values are made.
#[derive(Clone, Copy, Debug)]
enum Data {
    /// Uniform, unit-norm-ish random vectors: every score in a narrow band.
    Random,
    /// Clustered tokens with Zipf frequencies; the query derived from a document.
    Structured,
    /// The test suite's adversarial values (zeros of both signs, huge and tiny, integers).
    Adversarial(Values),
    /// Tokens at the edge of the int8 range: one large component and many just below a
    /// rounding boundary of the codes, and tiny tokens next to huge ones.
    Int8Edges,
}

#[derive(Clone, Debug)]
struct Case {
    data: Data,
    dim: usize,
    lengths: Vec<usize>,
    query_rows: usize,
    storage: Storage,
    seed: u64,
}

fn cases() -> impl Strategy<Value = Case> {
    (
        prop_oneof![
            Just(Data::Random),
            Just(Data::Structured),
            Just(Data::Structured),
            Just(Data::Adversarial(Values::Mixed)),
            Just(Data::Adversarial(Values::Integers)),
            Just(Data::Adversarial(Values::Tiny)),
            Just(Data::Int8Edges),
        ],
        prop::sample::select(vec![1usize, 3, 4, 5, 16, 17, 33, 64]),
        prop::collection::vec(
            prop_oneof![3 => 1usize..40, 1 => Just(0usize), 1 => 15usize..18],
            0..90,
        ),
        prop::sample::select(vec![1usize, 2, 5, 10, 17, 32]),
        prop::sample::select(vec![Storage::F32, Storage::F16, Storage::Bf16]),
        any::<u64>(),
    )
        .prop_map(|(data, dim, lengths, query_rows, storage, seed)| Case {
            data,
            dim,
            lengths,
            query_rows,
            storage,
            seed,
        })
}

/// The case's documents (row-major, concatenated) and query.
fn make(case: &Case) -> (Vec<f32>, Vec<f32>) {
    let total: usize = case.lengths.iter().sum();
    let dim = case.dim;
    match case.data {
        Data::Random => {
            let docs = random_buffer(&mut Rng(case.seed), total * dim, 1, 0, Values::Unit);
            let query = random_buffer(
                &mut Rng(case.seed ^ 1),
                case.query_rows * dim,
                1,
                0,
                Values::Unit,
            );
            (docs, query)
        }
        Data::Structured => {
            let mut generator = Synthetic::with_vocabulary(dim, 64, case.seed);
            let mut docs = Vec::with_capacity(total * dim);
            for &rows in &case.lengths {
                docs.extend(generator.document(rows));
            }
            let query = if total > 0 {
                let target = (case.seed as usize) % total;
                generator.query_for(&docs[target * dim..(target + 1) * dim], case.query_rows)
            } else {
                generator.vocabulary_query(case.query_rows)
            };
            (docs, query)
        }
        Data::Adversarial(values) => (
            random_buffer(&mut Rng(case.seed), total * dim, 1, 0, values),
            random_buffer(&mut Rng(case.seed ^ 1), case.query_rows * dim, 1, 0, values),
        ),
        Data::Int8Edges => {
            let mut rng = Rng(case.seed);
            let mut token = |scale: f32| -> Vec<f32> {
                (0..dim)
                    .map(|k| {
                        if k == 0 {
                            scale * 127.0
                        } else {
                            // Just below or above the boundary between two codes.
                            let code = (rng.next_u64() % 255) as f32 - 127.0;
                            let nudge = if rng.next_u64().is_multiple_of(2) {
                                0.499_99
                            } else {
                                0.500_01
                            };
                            scale * (code + nudge).clamp(-127.0, 127.0)
                        }
                    })
                    .collect()
            };
            let scales = [1e-3f32, 1.0, 7.5, 1e-30, 3e8];
            let docs: Vec<f32> = (0..total).flat_map(|i| token(scales[i % 5])).collect();
            let query: Vec<f32> = (0..case.query_rows)
                .flat_map(|i| token(scales[(i + 1) % 5]))
                .collect();
            (docs, query)
        }
    }
}

fn index_of(case: &Case, docs: &[f32]) -> Index {
    let corpus = Corpus::from_lengths(docs, case.dim, &case.lengths).unwrap();
    Index::from_corpus(&corpus, case.storage).unwrap()
}

proptest! {
    #![proptest_config(config(96))]

    /// The derivation's claim: the exact score lies in the interval, whatever the data.
    #[test]
    fn the_interval_always_holds_the_exact_score(case in cases()) {
        let (docs, query) = make(&case);
        let index = index_of(&case, &docs);
        for isa in isas_under_test() {
            let prepared = PreparedQuery::with_isa(TokenMatrix::new(&query, case.dim).unwrap(), isa).unwrap();
            let scores = prepared.score_corpus(&index).unwrap();
            for (doc, &score) in scores.iter().enumerate() {
                if let Some((lower, upper)) = index.score_bounds(&prepared, doc).unwrap() {
                    prop_assert!(
                        lower <= f64::from(score) && f64::from(score) <= upper,
                        "{isa}: document {doc} scores {score}, outside [{lower}, {upper}]"
                    );
                } else {
                    // Only what cannot be bounded goes without: an empty document, or values
                    // that are not finite or whose norm is huge.
                    let rows = index.document_rows()[doc];
                    let doc_values = index.document(doc).unwrap();
                    let huge = |v: &[f32]| v.iter().any(|x| !x.is_finite() || x.abs() > 1e14);
                    prop_assert!(
                        rows == 0 || huge(doc_values.as_matrix().as_slice()) || huge(&query),
                        "{isa}: document {doc} has no bounds"
                    );
                }
            }
        }
    }

    /// Pruned top-k is the full scan's, bit for bit, for any k, with masks and weights.
    #[test]
    fn pruned_top_k_is_the_full_scans(case in cases(), k in 1usize..12, weighted in any::<bool>()) {
        let (docs, query) = make(&case);
        let index = index_of(&case, &docs);
        for isa in isas_under_test() {
            let mut prepared = PreparedQuery::with_isa(TokenMatrix::new(&query, case.dim).unwrap(), isa).unwrap();
            if weighted {
                let weights: Vec<f32> = (0..case.query_rows).map(|i| [1.0, 0.5, 0.0, 2.0, -0.25][i % 5]).collect();
                prepared = prepared.with_weights(&weights).unwrap();
            }
            let pruned = prepared.top_k_with(&index, k, Pruning::Auto).unwrap();
            let full = prepared.top_k_with(&index, k, Pruning::Off).unwrap();
            prop_assert_eq!(hit_bits(&pruned.hits), hit_bits(&full.hits), "{}", isa);
            prop_assert_eq!(hit_bits(&prepared.top_k(&index, k).unwrap()), hit_bits(&full.hits));
            prop_assert!(pruned.stats.rescored <= index.len());
            prop_assert_eq!(full.stats.rescored, index.len());
        }
    }
}

/// A structured corpus big enough for the guard to let pruning run.
fn structured_corpus(docs: usize, rows: usize, dim: usize, seed: u64) -> (Vec<f32>, Synthetic) {
    let mut generator = Synthetic::new(dim, seed);
    let values = generator.corpus(docs, rows);
    (values, generator)
}

#[test]
fn on_structured_data_pruning_rescores_a_small_fraction_and_matches_the_full_scan() {
    let (docs, rows, dim) = (2000, 24, 32);
    let (values, mut generator) = structured_corpus(docs, rows, dim, 5);
    let corpus = Corpus::from_padded(&values[..], (docs, rows, dim)).unwrap();
    let index = Index::from_corpus(&corpus, Storage::Bf16).unwrap();
    let mut rescored = 0;
    for q in 0..10 {
        let target = q * 191 % docs;
        let query =
            generator.query_for(&values[target * rows * dim..(target + 1) * rows * dim], 16);
        let prepared = PreparedQuery::new(TokenMatrix::new(&query, dim).unwrap()).unwrap();
        let pruned = prepared.top_k_with(&index, 10, Pruning::Auto).unwrap();
        let full = prepared.top_k_with(&index, 10, Pruning::Off).unwrap();
        assert_eq!(hit_bits(&pruned.hits), hit_bits(&full.hits));
        assert!(pruned.stats.pruned, "query {q}: {:?}", pruned.stats);
        assert_eq!(pruned.stats.screened, docs);
        rescored += pruned.stats.rescored;
    }
    assert!(
        rescored < 10 * docs / 5,
        "rescored {rescored} of {}",
        10 * docs
    );
}

#[test]
fn on_random_unit_vectors_pruning_matches_the_full_scan() {
    let (docs, rows, dim) = (1000, 20, 64);
    let mut values = random_buffer(&mut Rng(3), docs * rows * dim, 1, 0, Values::Unit);
    for token in values.chunks_mut(dim) {
        let norm = token.iter().map(|x| x * x).sum::<f32>().sqrt();
        token.iter_mut().for_each(|x| *x /= norm);
    }
    let corpus = Corpus::from_padded(&values[..], (docs, rows, dim)).unwrap();
    let index = Index::from_corpus(&corpus, Storage::F32).unwrap();
    let query = random_buffer(&mut Rng(4), 16 * dim, 1, 0, Values::Unit);
    let prepared = PreparedQuery::new(TokenMatrix::new(&query, dim).unwrap()).unwrap();
    let result = prepared.top_k_with(&index, 10, Pruning::Auto).unwrap();
    let full = prepared.top_k_with(&index, 10, Pruning::Off).unwrap();
    assert_eq!(hit_bits(&result.hits), hit_bits(&full.hits));
}

#[test]
fn where_every_score_is_within_the_bounds_width_the_guard_falls_back_to_the_full_scan() {
    // Near-copies of one document: every score within a hair of the others, far inside the
    // int8 bounds' width, so no document can be ruled out.
    let (docs, rows, dim) = (2000, 16, 32);
    let base = random_buffer(&mut Rng(5), rows * dim, 1, 0, Values::Unit);
    let mut rng = Rng(6);
    let values: Vec<f32> = (0..docs)
        .flat_map(|_| {
            base.iter()
                .map(|&x| x + 1e-6 * rng.unit())
                .collect::<Vec<_>>()
        })
        .collect();
    let corpus = Corpus::from_padded(&values[..], (docs, rows, dim)).unwrap();
    let index = Index::from_corpus(&corpus, Storage::F32).unwrap();
    let query = random_buffer(&mut Rng(7), 8 * dim, 1, 0, Values::Unit);
    let prepared = PreparedQuery::new(TokenMatrix::new(&query, dim).unwrap()).unwrap();
    let result = prepared.top_k_with(&index, 10, Pruning::Auto).unwrap();
    let full = prepared.top_k_with(&index, 10, Pruning::Off).unwrap();
    assert_eq!(hit_bits(&result.hits), hit_bits(&full.hits));
    assert!(!result.stats.pruned, "{:?}", result.stats);
    assert_eq!(result.stats.rescored, docs);
}

#[test]
fn ties_nan_empty_documents_and_large_k_match_the_full_scan() {
    let dim = 8;
    let (base, mut generator) = structured_corpus(300, 10, dim, 9);
    // Duplicated documents (exact ties, broken by the lower index), empty documents, and a
    // document with a NaN (never bounded, always rescored, ranked last).
    let mut values = base.clone();
    values.extend_from_slice(&base[..20 * 10 * dim]);
    let mut lengths = vec![10usize; 320];
    lengths.extend([0, 0, 3]);
    values.extend((0..3 * dim).map(|i| if i == 5 { f32::NAN } else { 0.5 }));
    let corpus = Corpus::from_lengths(&values[..], dim, &lengths).unwrap();
    let index = Index::from_corpus(&corpus, Storage::F32).unwrap();
    for target in [0usize, 7, 19] {
        let query = generator.query_for(&base[target * 10 * dim..(target + 1) * 10 * dim], 6);
        let prepared = PreparedQuery::new(TokenMatrix::new(&query, dim).unwrap()).unwrap();
        for k in [1, 2, 3, 10, 322, 323, 400] {
            let pruned = prepared.top_k_with(&index, k, Pruning::Auto).unwrap();
            let full = prepared.top_k_with(&index, k, Pruning::Off).unwrap();
            assert_eq!(hit_bits(&pruned.hits), hit_bits(&full.hits), "k {k}");
        }
        // The duplicate of the target ties with it and ranks after it.
        let best = prepared.top_k(&index, 2).unwrap();
        if target < 20 && best[0].index == target {
            assert_eq!(best[1].index, 300 + target);
            assert_eq!(best[0].score.to_bits(), best[1].score.to_bits());
        }
    }
}

#[test]
fn query_batches_and_masks_prune_to_the_full_scans_hits() {
    let (docs, rows, dim) = (600, 12, 16);
    let (values, mut generator) = structured_corpus(docs, rows, dim, 21);
    let corpus = Corpus::from_padded(&values[..], (docs, rows, dim)).unwrap();
    let index = Index::from_corpus(&corpus, Storage::F16).unwrap();
    let unsketched = index.clone().without_sketch();
    let queries: Vec<Vec<f32>> = (0..4)
        .map(|q| {
            generator.query_for(
                &values[q * 97 * rows * dim..(q * 97 + 1) * rows * dim],
                5 + q,
            )
        })
        .collect();
    let matrices: Vec<TokenMatrix<'_>> = queries
        .iter()
        .map(|q| TokenMatrix::new(q, dim).unwrap())
        .collect();
    let batch = QueryBatch::new(&matrices).unwrap();
    let pruned = batch.top_k(&index, 7).unwrap();
    let full = batch.top_k(&unsketched, 7).unwrap();
    for (p, f) in pruned.iter().zip(&full) {
        assert_eq!(hit_bits(p), hit_bits(f));
    }
    let mask: Vec<bool> = (0..queries[3].len() / dim).map(|i| i % 3 != 1).collect();
    let masked = PreparedQuery::new(matrices[3])
        .unwrap()
        .with_mask(&mask)
        .unwrap();
    assert_eq!(
        hit_bits(&masked.top_k(&index, 5).unwrap()),
        hit_bits(&masked.top_k(&unsketched, 5).unwrap())
    );
}

#[test]
fn the_sketch_survives_save_and_load_and_can_be_left_out() {
    let (docs, rows, dim) = (50, 9, 12);
    let (values, _) = structured_corpus(docs, rows, dim, 2);
    let corpus = Corpus::from_padded(&values[..], (docs, rows, dim)).unwrap();
    let index = Index::from_corpus(&corpus, Storage::Bf16).unwrap();
    assert!(index.has_sketch());
    assert!(index.sketch_bytes() >= docs * rows * dim);
    let loaded = Index::from_bytes(&index.to_bytes()).unwrap();
    assert!(loaded.has_sketch());
    assert_eq!(loaded, index);
    assert_eq!(loaded.verify_sketch(), Ok(()));
    let bare = Index::from_corpus_with(&corpus, Storage::Bf16, Sketch::Off).unwrap();
    assert!(!bare.has_sketch());
    assert_eq!(bare.sketch_bytes(), 0);
    let reloaded = Index::from_bytes(&bare.to_bytes()).unwrap();
    assert!(!reloaded.has_sketch());
    assert_eq!(reloaded.with_sketch().unwrap(), index);
    let query = PreparedQuery::new(TokenMatrix::new(&values[..3 * dim], dim).unwrap()).unwrap();
    assert_eq!(bare.score_bounds(&query, 0).unwrap(), None);
    assert!(index.score_bounds(&query, 0).unwrap().is_some());
    assert_eq!(index.score_bounds(&query, docs).unwrap(), None);
}

#[test]
fn every_screen_isa_gives_the_same_bounds() {
    // The screen is integer arithmetic, so its bounds are the same bits on every ISA.
    let (docs, rows, dim) = (40, 33, 20);
    let (values, mut generator) = structured_corpus(docs, rows, dim, 8);
    let corpus = Corpus::from_padded(&values[..], (docs, rows, dim)).unwrap();
    let index = Index::from_corpus(&corpus, Storage::F32).unwrap();
    let query = generator.query_for(&values[..rows * dim], 11);
    let bounds = |isa: Isa| -> Vec<Option<(u64, u64)>> {
        let prepared =
            PreparedQuery::with_isa(TokenMatrix::new(&query, dim).unwrap(), isa).unwrap();
        (0..docs)
            .map(|doc| {
                index
                    .score_bounds(&prepared, doc)
                    .unwrap()
                    .map(|(l, u)| (l.to_bits(), u.to_bits()))
            })
            .collect()
    };
    let reference = bounds(Isa::Scalar);
    assert!(reference.iter().all(Option::is_some));
    for isa in isas_under_test() {
        assert_eq!(bounds(isa), reference, "{isa}");
    }
}

#[test]
fn weights_whose_partial_sums_overflow_are_never_bounded() {
    // Document 0's score is inf (fma(1e38, 4, 0) overflows, and the next term cannot bring it
    // back), though its terms cancel: no finite interval may claim it.
    let corpus = Corpus::from_lengths(&[4.0f32, 1.0, 0.0][..], 1, &[1u32, 2]).unwrap();
    let index = Index::from_corpus(&corpus, Storage::F32).unwrap();
    let query = PreparedQuery::new(TokenMatrix::new(&[1.0f32, -1.0], 1).unwrap())
        .unwrap()
        .with_weights(&[1e38, 1e38])
        .unwrap();
    let scores = query.score_corpus(&index).unwrap();
    assert_eq!(scores[0], f32::INFINITY);
    for (doc, &score) in scores.iter().enumerate() {
        if let Some((lower, upper)) = index.score_bounds(&query, doc).unwrap() {
            let score = f64::from(score);
            assert!(
                lower <= score && score <= upper,
                "{doc}: {score} in [{lower}, {upper}]"
            );
        }
    }
    let pruned = query.top_k_with(&index, 1, Pruning::Auto).unwrap();
    let full = query.top_k_with(&index, 1, Pruning::Off).unwrap();
    assert_eq!(hit_bits(&pruned.hits), hit_bits(&full.hits));
}

#[test]
fn a_query_of_a_dim_beyond_the_screen_still_prepares_and_is_never_pruned() {
    let dim = maxsim::kernels::sketch::MAX_SKETCH_DIM + 1;
    let values = vec![0.5f32; dim];
    let query = PreparedQuery::new(TokenMatrix::new(&values, dim).unwrap()).unwrap();
    let corpus = Corpus::from_lengths(&values[..], dim, &[1u32]).unwrap();
    let index = Index::from_corpus(&corpus, Storage::F32).unwrap();
    assert_eq!(index.score_bounds(&query, 0).unwrap(), None);
    let found = query.top_k_with(&index, 1, Pruning::Auto).unwrap();
    assert!(!found.stats.pruned);
}
