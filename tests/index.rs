//! The index layout: f32 storage scores exactly as the row-major path does, f16 and bf16
//! storage exactly as the reference does on the stored values, on every ISA, for every rule;
//! and its file format survives round trips and refuses damaged files.

mod common;

use common::{isas_under_test, random_buffer, Rng, Values};
use maxsim::{
    maxsim_with_isa, Candidates, Corpus, Error, Hit, Index, Isa, PreparedQuery, QueryBatch, Scorer,
    Storage, TokenMatrix,
};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;

const STORAGES: [Storage; 3] = [Storage::F32, Storage::F16, Storage::Bf16];

/// `2^exponent`, exactly, from its bits (`powi` may be off by an ulp where it is not exact,
/// as Miri deliberately makes it); `exponent` in -149..=127.
fn pow2(exponent: i32) -> f32 {
    if exponent >= -126 {
        f32::from_bits(((exponent + 127) as u32) << 23)
    } else {
        f32::from_bits(1 << (exponent + 149))
    }
}

fn config() -> ProptestConfig {
    ProptestConfig {
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "proptest-regressions/index.txt",
        ))),
        cases: if cfg!(miri) { 4 } else { 64 },
        ..ProptestConfig::default()
    }
}

fn bits(scores: &[f32]) -> Vec<u32> {
    scores.iter().map(|s| s.to_bits()).collect()
}

/// Hits as (id, score bits): NaN scores compare equal by their bits.
fn hit_bits(hits: &[Hit]) -> Vec<(usize, u32)> {
    hits.iter().map(|h| (h.index, h.score.to_bits())).collect()
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
    (
        prop::sample::select(vec![0usize, 1, 2, 4, 7, 10, 16, 17, 33]),
        prop::sample::select(vec![1usize, 2, 15, 16, 17, 64, 96, 128]),
        prop::collection::vec(
            prop_oneof![
                1 => Just(0usize),
                3 => 1usize..40,
                1 => prop::sample::select(vec![15, 16, 17, 31, 32, 33, 64]),
            ],
            0..12,
        ),
        any::<u64>(),
        prop::sample::select(vec![
            Values::Unit,
            Values::Integers,
            Values::Mixed,
            Values::Tiny,
        ]),
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

/// The reference for an index: the scalar path on each document as stored, widened to f32.
fn reference(query: TokenMatrix<'_>, index: &Index) -> Vec<f32> {
    (0..index.len())
        .map(|i| {
            let doc = index.document(i).unwrap();
            maxsim_with_isa(query, doc.as_matrix(), Isa::Scalar).unwrap()
        })
        .collect()
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn index_scores_are_the_reference_on_the_stored_values(case in cases()) {
        let (q, d) = data(&case);
        let corpus = Corpus::from_lengths(&d[..], case.dim, &case.lengths).unwrap();
        let query = TokenMatrix::new(&q, case.dim).unwrap();
        for storage in STORAGES {
            let index = Index::from_corpus(&corpus, storage).unwrap();
            let expected = reference(query, &index);
            if storage == Storage::F32 {
                // f32 storage is the documents themselves.
                let row_major = PreparedQuery::with_isa(query, Isa::Scalar).unwrap();
                prop_assert_eq!(bits(&expected), bits(&row_major.score_corpus(&corpus).unwrap()));
            }
            for isa in isas_under_test() {
                let prepared = PreparedQuery::with_isa(query, isa).unwrap();
                let got = prepared.score_corpus(&index).unwrap();
                prop_assert_eq!(bits(&got), bits(&expected), "{} {}", isa, storage.name());
                // Candidates of the index, through a batch (row maxima summed per query).
                let batch = QueryBatch::with_isa(&[query], isa).unwrap();
                let reversed: Vec<usize> = (0..index.len()).rev().collect();
                let picked = Candidates::new(&index, &reversed).unwrap();
                let from_batch = batch.score_corpus(&picked).unwrap();
                let expected_reversed: Vec<f32> = reversed.iter().map(|&i| expected[i]).collect();
                prop_assert_eq!(bits(&from_batch), bits(&expected_reversed));
                // Top-k ranks as the full scan does.
                let k = 1 + case.lengths.len() / 2;
                let best = prepared.top_k(&index, k).unwrap();
                let mut ranked: Vec<Hit> = expected
                    .iter()
                    .enumerate()
                    .map(|(index, &score)| Hit { index, score })
                    .collect();
                ranked.sort_by(Hit::rank_cmp);
                ranked.truncate(k);
                prop_assert_eq!(hit_bits(&best), hit_bits(&ranked));
            }
        }
    }

    #[test]
    fn masks_weights_and_batches_on_an_index_match_the_row_major_path(case in cases()) {
        let (q, d) = data(&case);
        let corpus = Corpus::from_lengths(&d[..], case.dim, &case.lengths).unwrap();
        let index = Index::from_corpus(&corpus, Storage::F32).unwrap();
        let query = TokenMatrix::new(&q, case.dim).unwrap();
        let weights: Vec<f32> = (0..case.query_rows).map(|i| [1.0, 0.0, 0.5, -2.0][i % 4]).collect();
        let mask: Vec<bool> = (0..case.query_rows).map(|i| i % 3 != 1).collect();
        for isa in isas_under_test() {
            let plain = PreparedQuery::with_isa(query, isa).unwrap();
            for prepared in [
                plain.clone().with_weights(&weights).unwrap(),
                plain.clone().with_mask(&mask).unwrap(),
            ] {
                prop_assert_eq!(
                    bits(&prepared.score_corpus(&index).unwrap()),
                    bits(&prepared.score_corpus(&corpus).unwrap()),
                    "{}", isa
                );
            }
            let half = TokenMatrix::new(&q[..case.query_rows / 2 * case.dim], case.dim).unwrap();
            let batch = QueryBatch::with_isa(&[query, half, query], isa).unwrap();
            prop_assert_eq!(
                bits(&batch.score_corpus(&index).unwrap()),
                bits(&batch.score_corpus(&corpus).unwrap())
            );
            let (a, b) = (batch.top_k(&index, 3).unwrap(), batch.top_k(&corpus, 3).unwrap());
            for (a, b) in a.iter().zip(&b) {
                prop_assert_eq!(hit_bits(a), hit_bits(b));
            }
        }
    }

    #[test]
    fn half_precision_row_major_documents_score_as_their_widened_values(case in cases()) {
        let (q, d) = data(&case);
        let query = TokenMatrix::new(&q, case.dim).unwrap();
        let f16: Vec<half::f16> = d.iter().map(|&x| half::f16::from_f32(x)).collect();
        let bf16: Vec<half::bf16> = d.iter().map(|&x| half::bf16::from_f32(x)).collect();
        let widened16: Vec<f32> = f16.iter().map(|x| x.to_f32()).collect();
        let widened_bf: Vec<f32> = bf16.iter().map(|x| x.to_f32()).collect();
        for isa in isas_under_test() {
            let prepared = PreparedQuery::with_isa(query, isa).unwrap();
            let a = prepared.score(TokenMatrix::new(&f16, case.dim).unwrap()).unwrap();
            let b = maxsim_with_isa(query, TokenMatrix::new(&widened16, case.dim).unwrap(), Isa::Scalar).unwrap();
            prop_assert_eq!(a.to_bits(), b.to_bits(), "{} f16", isa);
            let a = prepared.score(TokenMatrix::new(&bf16, case.dim).unwrap()).unwrap();
            let b = maxsim_with_isa(query, TokenMatrix::new(&widened_bf, case.dim).unwrap(), Isa::Scalar).unwrap();
            prop_assert_eq!(a.to_bits(), b.to_bits(), "{} bf16", isa);
            // As documents of a batch call: a slice of f16 matrices.
            let docs: Vec<TokenMatrix<'_, half::f16>> = f16
                .chunks(case.dim * 5)
                .map(|rows| TokenMatrix::new(rows, case.dim).unwrap())
                .collect();
            let wide: Vec<TokenMatrix<'_>> = widened16
                .chunks(case.dim * 5)
                .map(|rows| TokenMatrix::new(rows, case.dim).unwrap())
                .collect();
            prop_assert_eq!(
                bits(&prepared.score_corpus(&docs).unwrap()),
                bits(&prepared.score_corpus(&wide).unwrap())
            );
        }
    }
}

#[test]
fn f32_storage_follows_every_rule_at_kernel_shapes() {
    // NaN, infinities, an empty document, and documents of every remainder of 16 rows.
    let dim = 40;
    let mut rng = Rng(11);
    let lengths = [45usize, 0, 1, 15, 16, 17, 33];
    let total: usize = lengths.iter().sum();
    let mut tokens = random_buffer(&mut rng, total, dim, 0, Values::Integers);
    tokens[3 * dim + 5] = f32::NAN; // document 0, row 3
    tokens[(45 + 1 + 7) * dim] = f32::INFINITY; // document 3, row 7
    let corpus = Corpus::from_lengths(&tokens[..], dim, &lengths).unwrap();
    let index = Index::from_corpus(&corpus, Storage::F32).unwrap();
    let query = random_buffer(&mut rng, 37, dim, 0, Values::Integers);
    for isa in isas_under_test() {
        let prepared =
            PreparedQuery::with_isa(TokenMatrix::new(&query, dim).unwrap(), isa).unwrap();
        let scores = prepared.score_corpus(&index).unwrap();
        assert_eq!(
            bits(&scores),
            bits(&prepared.score_corpus(&corpus).unwrap()),
            "{isa}"
        );
        assert_eq!(
            scores[0].to_bits(),
            f32::NAN.to_bits(),
            "{isa}: NaN is canonical"
        );
        assert_eq!(scores[1], f32::NEG_INFINITY, "{isa}: the empty document");
        // Top-k: NaN scores last (in index order), the empty document just before them.
        let best = prepared.top_k(&index, lengths.len()).unwrap();
        let nan: Vec<usize> = (0..scores.len()).filter(|&i| scores[i].is_nan()).collect();
        let tail: Vec<usize> = best[best.len() - nan.len()..]
            .iter()
            .map(|h| h.index)
            .collect();
        assert_eq!(tail, nan, "{isa}");
        assert_eq!(best[best.len() - nan.len() - 1].index, 1, "{isa}");
        // Explanations name the same first-of-equals rows as the row-major path.
        for doc in 0..index.len() {
            let stored = index.document(doc).unwrap();
            // (Debug text, so that NaN similarities compare equal.)
            assert_eq!(
                format!("{:?}", prepared.explain(stored.as_matrix()).unwrap()),
                format!("{:?}", prepared.explain(corpus.get(doc).unwrap()).unwrap())
            );
        }
    }
}

#[test]
fn a_zero_maximum_keeps_the_sign_of_the_first_zero_row() {
    // Every similarity is negative except two zeros: a product that underflows to -0.0 (a tiny
    // negative) and one that underflows to +0.0. The reference keeps the first zero row's
    // sign; a lane-parallel maximum must too, whichever lanes the two rows land in.
    let dim = 16;
    let tiny_query = pow2(-135); // times 2^-20 underflows f32; times -1 does not
    let doc_value = pow2(-20); // exact in f16 and bf16
    for (first, second) in [(5usize, 20usize), (20, 5), (3, 35), (16, 1)] {
        let mut doc = vec![0.0f32; 40 * dim];
        for row in 0..40 {
            doc[row * dim + dim - 1] = -1.0;
        }
        doc[first * dim + dim - 1] = -doc_value; // similarity -0.0
        doc[second * dim + dim - 1] = doc_value; // similarity +0.0
        let mut query = vec![0.0f32; 2 * dim];
        query[dim - 1] = tiny_query;
        query[2 * dim - 1] = tiny_query;
        let corpus = Corpus::from_lengths(&doc[..], dim, &[40usize]).unwrap();
        // Scores add the maxima to +0.0, which erases a zero's sign: check the maxima
        // themselves, from the kernels, and the scores.
        let sign = |negative_first: bool| if negative_first { -0.0f32 } else { 0.0 };
        let expected = [sign(first < second), sign(first < second)];
        for storage in STORAGES {
            let index = Index::from_corpus(&corpus, storage).unwrap();
            let scores = reference(TokenMatrix::new(&query, dim).unwrap(), &index);
            let scalar =
                PreparedQuery::with_isa(TokenMatrix::new(&query, dim).unwrap(), Isa::Scalar)
                    .unwrap();
            let mut maxima = [1.0f32; 2];
            scalar
                .row_maxima(index.document(0).unwrap().as_matrix(), &mut maxima)
                .unwrap();
            assert_eq!(bits(&maxima), bits(&expected), "the reference");
            for isa in isas_under_test() {
                let kernel = maxsim::kernels::Kernel::new(isa).unwrap();
                let maxima = stored_row_maxima(kernel, storage, &query, &doc, dim);
                assert_eq!(
                    bits(&maxima),
                    bits(&expected),
                    "{isa} {} {first} {second}",
                    storage.name()
                );
                let prepared =
                    PreparedQuery::with_isa(TokenMatrix::new(&query, dim).unwrap(), isa).unwrap();
                assert_eq!(bits(&prepared.score_corpus(&index).unwrap()), bits(&scores));
            }
        }
    }
}

/// The index kernel's row maxima for one document stored as `storage`.
fn stored_row_maxima(
    kernel: maxsim::kernels::Kernel,
    storage: Storage,
    query: &[f32],
    doc: &[f32],
    dim: usize,
) -> Vec<f32> {
    use maxsim::kernels::index::{index_len, pack_document, Element};
    fn run<T: Element + Default + Clone>(
        kernel: maxsim::kernels::Kernel,
        query: &[f32],
        doc: &[f32],
        dim: usize,
    ) -> Vec<f32> {
        let rows = doc.len() / dim;
        let mut stored = vec![T::default(); index_len(rows, dim).unwrap()];
        pack_document(doc, dim, &mut stored);
        let mut out = vec![0.0; query.len() / dim];
        kernel.index_row_maxima(query, query.len() / dim, dim, &stored, rows, &mut out);
        out
    }
    match storage {
        Storage::F32 => run::<f32>(kernel, query, doc, dim),
        Storage::F16 => run::<half::f16>(kernel, query, doc, dim),
        Storage::Bf16 => run::<half::bf16>(kernel, query, doc, dim),
    }
}

#[test]
fn rounding_to_half_types_is_to_nearest_even_and_f16_overflows_to_infinity() {
    let dim = 4;
    // 1 + 2^-11 is halfway between two f16 values: ties to even gives 1.0; 1 + 3 * 2^-11
    // rounds up to 1 + 2^-9. 65519 rounds to 65504 (the largest f16); 65520 overflows to inf.
    let values = [1.0 + pow2(-11), 1.0 + 3.0 * pow2(-11), 65519.0, 65520.0];
    let corpus = Corpus::from_lengths(&values[..], dim, &[1usize]).unwrap();
    let f16 = Index::from_corpus(&corpus, Storage::F16).unwrap();
    let stored = f16.document(0).unwrap().into_vec();
    assert_eq!(stored, [1.0, 1.0 + pow2(-9), 65504.0, f32::INFINITY]);
    // bf16 keeps 8 significant bits: 1 + 2^-8 is a tie (to 1.0), 1 + 3 * 2^-8 rounds up.
    let values = [1.0 + pow2(-8), 1.0 + 3.0 * pow2(-8), 3.0e38, -0.0];
    let corpus = Corpus::from_lengths(&values[..], dim, &[1usize]).unwrap();
    let bf16 = Index::from_corpus(&corpus, Storage::Bf16).unwrap();
    let stored = bf16.document(0).unwrap().into_vec();
    assert_eq!(stored[..2], [1.0, 1.0 + pow2(-6)]);
    assert!(stored[2].is_finite() && stored[3].to_bits() == (-0.0f32).to_bits());
}

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn sample_index(storage: Storage) -> Index {
    let mut rng = Rng(5);
    let lengths = [3usize, 0, 17, 40];
    let tokens = random_buffer(&mut rng, 60, 24, 0, Values::Mixed);
    let corpus = Corpus::from_lengths(&tokens[..], 24, &lengths).unwrap();
    Index::from_corpus(&corpus, storage).unwrap()
}

#[test]
fn saved_indexes_load_bit_for_bit_and_score_the_same() {
    let dir = scratch("index-round-trip");
    for storage in STORAGES {
        let index = sample_index(storage);
        let path = dir.join(format!("corpus.{}", storage.name()));
        index.save(&path).unwrap();
        let loaded = Index::load(&path).unwrap();
        assert_eq!(loaded, index);
        assert_eq!(Index::from_bytes(&index.to_bytes()).unwrap(), index);
        assert_eq!(std::fs::read(&path).unwrap(), index.to_bytes());
        let query = vec![0.25f32; 5 * 24];
        let prepared = PreparedQuery::new(TokenMatrix::new(&query, 24).unwrap()).unwrap();
        assert_eq!(
            bits(&Scorer::new().score(&prepared, &loaded).unwrap()),
            bits(&prepared.score_corpus(&index).unwrap())
        );
        // Nothing is left beside it: the temporary file was renamed into place.
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert!(names.iter().all(|n| !n.contains(".tmp")), "{names:?}");
    }
}

#[test]
fn damaged_or_hostile_files_are_clear_errors() {
    let bytes = sample_index(Storage::Bf16).to_bytes();
    let err = |bytes: &[u8]| match Index::from_bytes(bytes) {
        Err(Error::Format { message, .. }) => message,
        other => panic!("accepted a damaged file: {other:?}"),
    };
    // Every truncation, including to nothing.
    for len in (0..bytes.len()).step_by(8) {
        err(&bytes[..len]);
    }
    assert!(err(&bytes[..bytes.len() - 3]).contains("multiple of 8"));
    // Trailing data.
    let mut long = bytes.clone();
    long.extend_from_slice(&[0; 8]);
    err(&long);
    // A flipped bit anywhere: the header fails its checks, the data its checksum.
    for at in [
        0,
        9,
        13,
        17,
        25,
        33,
        41,
        49,
        70,
        bytes.len() / 2,
        bytes.len() - 9,
        bytes.len() - 1,
    ] {
        let mut flipped = bytes.clone();
        flipped[at] ^= 0x10;
        err(&flipped);
    }
    let mut flipped = bytes.clone();
    let middle = bytes.len() / 2;
    flipped[middle] ^= 1;
    assert!(err(&flipped).contains("checksum"));
    assert!(err(&[b'x'; 128]).contains("magic"));
    // Hostile headers: huge counts are refused before anything is allocated for them.
    let mut huge = bytes.clone();
    huge[24..32].copy_from_slice(&u64::MAX.to_le_bytes());
    err(&huge);
    let mut huge_dim = bytes.clone();
    huge_dim[16..24].copy_from_slice(&(1u64 << 40).to_le_bytes());
    err(&huge_dim);
    let mut version = bytes;
    version[8] = 9;
    assert!(err(&version).contains("version 9"));
    // A missing file is an I/O error naming it.
    let missing = std::path::Path::new("/nonexistent/maxsim.index");
    match Index::load(missing) {
        Err(Error::Io { source, .. }) => assert!(source.contains("nonexistent")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn mismatched_dims_are_errors_and_empty_indexes_score_to_nothing() {
    let index = sample_index(Storage::F16);
    let query = PreparedQuery::new(TokenMatrix::new(&[1.0; 8], 8).unwrap()).unwrap();
    assert_eq!(
        query.score_corpus(&index).unwrap_err(),
        Error::DimMismatch {
            query_dim: 8,
            doc_dim: 24
        }
    );
    let nothing = Corpus::from_lengths(&[][..], 8, &[0usize; 0]).unwrap();
    let empty = Index::from_corpus(&nothing, Storage::F32).unwrap();
    assert!(query.score_corpus(&empty).unwrap().is_empty());
    assert_eq!(Index::from_bytes(&empty.to_bytes()).unwrap(), empty);
}
