//! The API other crates build on: documents of every kind, candidates and caller ids, thread
//! counts, offsets of every integer width, and the traits shared types promise.

mod common;

use common::{isas_under_test, random_buffer, Rng, Values};
use maxsim::{
    Candidates, Corpus, Documents, Error, Explanation, Hit, Isa, PreparedQuery, QueryBatch,
    RowMatch, Scorer, TokenMatrix, TokenMatrixBuf, WithIds,
};

fn bits(scores: &[f32]) -> Vec<u32> {
    scores.iter().map(|s| s.to_bits()).collect()
}

/// A ragged corpus of 40 documents of dim 24 (some empty), and a query of 19 rows.
fn fixture(seed: u64) -> (Vec<f32>, Vec<usize>, Vec<f32>) {
    let mut rng = Rng(seed);
    let lengths: Vec<usize> = (0..40)
        .map(|i| {
            if i % 9 == 4 {
                0
            } else {
                (rng.next_u64() % 60) as usize + 1
            }
        })
        .collect();
    let total: usize = lengths.iter().sum();
    let tokens = random_buffer(&mut rng, total, 24, 0, Values::Mixed);
    let query = random_buffer(&mut rng, 19, 24, 0, Values::Mixed);
    (tokens, lengths, query)
}

#[test]
fn shared_types_are_send_sync_debug_and_clone() {
    fn send_sync<T: Send + Sync>() {}
    fn debug_clone<T: std::fmt::Debug + Clone>() {}
    send_sync::<PreparedQuery>();
    send_sync::<QueryBatch>();
    send_sync::<Corpus<'static>>();
    send_sync::<Candidates<'static>>();
    send_sync::<WithIds<'static, Corpus<'static>>>();
    send_sync::<Scorer>();
    send_sync::<TokenMatrix<'static>>();
    send_sync::<TokenMatrixBuf>();
    send_sync::<Hit>();
    send_sync::<Explanation>();
    send_sync::<Error>();
    send_sync::<Isa>();
    send_sync::<maxsim::kernels::Kernel>();
    debug_clone::<PreparedQuery>();
    debug_clone::<QueryBatch>();
    debug_clone::<Corpus<'static>>();
    debug_clone::<Candidates<'static>>();
    debug_clone::<WithIds<'static, [TokenMatrix<'static>]>>();
    debug_clone::<Scorer>();
    debug_clone::<TokenMatrix<'static>>();
    debug_clone::<TokenMatrixBuf>();
    debug_clone::<Hit>();
    debug_clone::<Explanation>();
    debug_clone::<RowMatch>();
    debug_clone::<Error>();
    let scorer = Scorer::with_threads(2).unwrap();
    assert!(format!("{scorer:?}").contains("Scorer"));
}

#[test]
fn scores_never_depend_on_the_thread_count() {
    let (tokens, lengths, query) = fixture(1);
    let corpus = Corpus::from_lengths(&tokens[..], 24, &lengths).unwrap();
    for isa in isas_under_test() {
        let prepared = PreparedQuery::with_isa(TokenMatrix::new(&query, 24).unwrap(), isa).unwrap();
        let alone: Vec<f32> = corpus.iter().map(|d| prepared.score(d).unwrap()).collect();
        let default = Scorer::new().score(&prepared, &corpus).unwrap();
        assert_eq!(bits(&default), bits(&alone), "{isa}");
        for threads in [1, 2, 3] {
            let scorer = Scorer::with_threads(threads).unwrap();
            if cfg!(feature = "parallel") {
                assert_eq!(scorer.threads(), threads);
            }
            assert_eq!(
                bits(&scorer.score(&prepared, &corpus).unwrap()),
                bits(&alone)
            );
            let mut out = vec![0.0; corpus.len()];
            scorer.score_into(&prepared, &corpus, &mut out).unwrap();
            assert_eq!(bits(&out), bits(&alone));
            let best = scorer.top_k(&prepared, &corpus, 7).unwrap();
            assert_eq!(best, prepared.top_k(&corpus, 7).unwrap(), "{isa} {threads}");
        }
    }
}

#[test]
fn candidates_score_in_place_and_report_corpus_indices() {
    let (tokens, lengths, query) = fixture(2);
    let corpus = Corpus::from_lengths(&tokens[..], 24, &lengths).unwrap();
    let prepared = PreparedQuery::new(TokenMatrix::new(&query, 24).unwrap()).unwrap();
    let all = prepared.score_corpus(&corpus).unwrap();
    let picked = [31u32, 4, 17, 4, 0, 39];
    for indices in [
        Candidates::new(&corpus, &picked).unwrap(),
        Candidates::new(&corpus, &picked.map(i64::from)).unwrap(),
        Candidates::new(&corpus, &picked.map(|i| i as usize)).unwrap(),
    ] {
        let scores = prepared.score_corpus(&indices).unwrap();
        let expected: Vec<f32> = picked.iter().map(|&i| all[i as usize]).collect();
        assert_eq!(bits(&scores), bits(&expected));
        // Top-k over the candidates is the full top-k restricted to them, in corpus ids.
        let best = prepared.top_k(&indices, 3).unwrap();
        let mut ranked: Vec<Hit> = indices
            .indices()
            .iter()
            .map(|&index| Hit {
                index,
                score: all[index],
            })
            .collect();
        ranked.sort_by(Hit::rank_cmp);
        assert_eq!(best, ranked[..3]);
        assert!(best.iter().all(|hit| picked.contains(&(hit.index as u32))));
        // Batches take candidates too.
        let batch = QueryBatch::new(&[TokenMatrix::new(&query, 24).unwrap()]).unwrap();
        assert_eq!(
            bits(&batch.score_corpus(&indices).unwrap()),
            bits(&expected)
        );
        assert_eq!(
            batch.top_k(&indices, 3).unwrap(),
            std::slice::from_ref(&best)
        );
    }
    // Indices past the end or negative are clear errors.
    let err = Candidates::new(&corpus, &[1usize, 40]).unwrap_err();
    assert!(
        err.to_string().contains("candidate 1 is document 40"),
        "{err}"
    );
    let err = Candidates::new(&corpus, &[-1i32]).unwrap_err();
    assert!(err.to_string().contains("-1"), "{err}");
    assert!(Candidates::new(&corpus, &[0usize; 0]).unwrap().is_empty());
}

#[test]
fn caller_ids_come_back_from_top_k_and_break_ties() {
    let a = [1.0f32, 0.0];
    let b = [0.0f32, 1.0];
    let docs = vec![
        TokenMatrix::new(&a, 2).unwrap(),
        TokenMatrix::new(&b, 2).unwrap(),
        TokenMatrix::new(&b, 2).unwrap(),
    ];
    let query = PreparedQuery::new(TokenMatrix::new(&[0.0, 3.0], 2).unwrap()).unwrap();
    // Documents 1 and 2 tie: the lower caller id (7, at position 2) ranks first.
    let keyed = WithIds::new(&docs, &[500i64, 9, 7]).unwrap();
    let best = query.top_k(&keyed, 3).unwrap();
    let ids: Vec<usize> = best.iter().map(|hit| hit.index).collect();
    assert_eq!(ids, [7, 9, 500]);
    assert_eq!(keyed.id(0), 500);
    assert!(
        WithIds::new(&docs, &[1usize, 2]).is_err(),
        "one id per document"
    );
    assert!(WithIds::new(&docs, &[1i64, -2, 3]).is_err(), "negative id");
}

#[test]
fn slices_vectors_and_arrays_of_matrices_are_documents() {
    let (tokens, lengths, query) = fixture(3);
    let corpus = Corpus::from_lengths(&tokens[..], 24, &lengths).unwrap();
    let prepared = PreparedQuery::new(TokenMatrix::new(&query, 24).unwrap()).unwrap();
    let expected = prepared.score_corpus(&corpus).unwrap();
    let borrowed: Vec<TokenMatrix<'_>> = corpus.iter().collect();
    let owned: Vec<TokenMatrixBuf> = corpus.iter().map(|d| d.to_owned()).collect();
    assert_eq!(
        bits(&prepared.score_corpus(&borrowed).unwrap()),
        bits(&expected)
    );
    assert_eq!(
        bits(&prepared.score_corpus(&borrowed[..]).unwrap()),
        bits(&expected)
    );
    assert_eq!(
        bits(&prepared.score_corpus(&owned).unwrap()),
        bits(&expected)
    );
    assert_eq!(
        bits(&prepared.score_corpus(&owned[..]).unwrap()),
        bits(&expected)
    );
    let array = [borrowed[0], borrowed[1]];
    assert_eq!(
        bits(&prepared.score_corpus(&array).unwrap()),
        bits(&expected[..2])
    );
    // One document of another dim is a clear error, wherever it is.
    let mut mixed = borrowed.clone();
    let odd = [1.0f32; 25];
    mixed.push(TokenMatrix::new(&odd, 25).unwrap());
    assert_eq!(
        prepared.score_corpus(&mixed).unwrap_err(),
        Error::DimMismatch {
            query_dim: 24,
            doc_dim: 25
        }
    );
    assert!(prepared.top_k(&mixed, 1).is_err());
    // No documents at all: nothing to score, and no dim to disagree with.
    let none: [TokenMatrix<'_>; 0] = [];
    assert!(prepared.score_corpus(&none).unwrap().is_empty());
}

#[test]
fn offsets_and_lengths_of_every_integer_width_give_the_same_corpus() {
    let (tokens, lengths, _) = fixture(4);
    let reference = Corpus::from_lengths(&tokens[..], 24, &lengths).unwrap();
    let offsets: Vec<usize> = std::iter::once(0)
        .chain(lengths.iter().scan(0, |end, &len| {
            *end += len;
            Some(*end)
        }))
        .collect();
    macro_rules! same_for {
        ($($t:ty),*) => {$(
            let l: Vec<$t> = lengths.iter().map(|&x| x as $t).collect();
            let o: Vec<$t> = offsets.iter().map(|&x| x as $t).collect();
            assert_eq!(Corpus::from_lengths(&tokens[..], 24, &l).unwrap(), reference);
            assert_eq!(Corpus::from_offsets(&tokens[..], 24, &o).unwrap(), reference);
            let bytes: &[u8] = bytemuck::cast_slice(&tokens);
            assert_eq!(Corpus::from_bytes(bytes, 24, &o).unwrap().spans(), reference.spans());
        )*};
    }
    same_for!(usize, u32, u64, i32, i64);
    // Negative values are errors naming the value, never wrapped around.
    let err = Corpus::from_offsets(&tokens[..], 24, &[0i64, -5]).unwrap_err();
    assert!(err.to_string().contains("offset 1 is -5"), "{err}");
    let err = Corpus::from_lengths(&tokens[..], 24, &[-1i32]).unwrap_err();
    assert!(err.to_string().contains("length 0 is -1"), "{err}");
    let err = Corpus::from_padded_lengths(&tokens[..24 * 4], (2, 2, 24), &[1i32, -1]).unwrap_err();
    assert!(err.to_string().contains("length 1 is -1"), "{err}");
}

#[test]
fn batches_rank_each_query_as_it_ranks_alone() {
    let (tokens, lengths, query) = fixture(5);
    let corpus = Corpus::from_lengths(&tokens[..], 24, &lengths).unwrap();
    let queries = [
        TokenMatrix::new(&query[..5 * 24], 24).unwrap(),
        TokenMatrix::new(&query[5 * 24..], 24).unwrap(),
        TokenMatrix::new(&[], 24).unwrap(),
    ];
    for isa in isas_under_test() {
        let batch = QueryBatch::with_isa(&queries, isa).unwrap();
        let scorer = Scorer::with_threads(2).unwrap();
        let ranked = scorer.top_k_batch(&batch, &corpus, 6).unwrap();
        let scores = scorer.score_batch(&batch, &corpus).unwrap();
        for (q, query) in queries.iter().enumerate() {
            let alone = PreparedQuery::with_isa(*query, isa).unwrap();
            assert_eq!(
                ranked[q],
                alone.top_k(&corpus, 6).unwrap(),
                "{isa} query {q}"
            );
            let row = &scores[q * corpus.len()..(q + 1) * corpus.len()];
            assert_eq!(bits(row), bits(&alone.score_corpus(&corpus).unwrap()));
        }
        assert_eq!(batch.top_k(&corpus, 0).unwrap(), vec![Vec::<Hit>::new(); 3]);
    }
}
