//! The structured data generator: deterministic, unit tokens, and scores that spread as in
//! retrieval (the target of a derived query ranks first, well clear of the pack), unlike
//! random unit vectors (every score in a narrow band).

use maxsim::synthetic::Synthetic;
use maxsim::{Corpus, PreparedQuery, TokenMatrix};

const DIM: usize = 64;
const DOCS: usize = 200;
const ROWS: usize = 60;
const QUERY_ROWS: usize = 16;

#[test]
fn the_same_seed_gives_the_same_data_and_another_seed_other_data() {
    let a = Synthetic::new(DIM, 1).corpus(3, 10);
    let b = Synthetic::new(DIM, 1).corpus(3, 10);
    let c = Synthetic::new(DIM, 2).corpus(3, 10);
    assert_eq!(a.len(), 3 * 10 * DIM);
    assert!(a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()));
    assert_ne!(a, c);
}

#[test]
fn every_token_is_a_unit_vector() {
    let mut generator = Synthetic::new(DIM, 3);
    let docs = generator.corpus(4, 25);
    let query = generator.query_for(&docs[..25 * DIM], 7);
    let other = generator.vocabulary_query(5);
    assert_eq!(query.len(), 7 * DIM);
    assert_eq!(other.len(), 5 * DIM);
    for token in docs
        .chunks(DIM)
        .chain(query.chunks(DIM))
        .chain(other.chunks(DIM))
    {
        let norm: f64 = token
            .iter()
            .map(|&x| f64::from(x) * f64::from(x))
            .sum::<f64>()
            .sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "norm {norm}");
    }
}

/// Per query: (rank of the target, the target's margin over the median score, divided by
/// the query rows).
fn ranks_and_margins(docs: &[f32], queries: &[(usize, Vec<f32>)]) -> Vec<(usize, f32)> {
    let corpus = Corpus::from_padded(docs, (DOCS, ROWS, DIM)).unwrap();
    queries
        .iter()
        .map(|(target, query)| {
            let prepared = PreparedQuery::new(TokenMatrix::new(query, DIM).unwrap()).unwrap();
            let scores = prepared.score_corpus(&corpus).unwrap();
            let rank = scores.iter().filter(|&&s| s > scores[*target]).count();
            let mut sorted = scores.clone();
            sorted.sort_by(f32::total_cmp);
            let median = sorted[DOCS / 2];
            (rank, (scores[*target] - median) / QUERY_ROWS as f32)
        })
        .collect()
}

#[test]
fn derived_queries_find_their_target_and_scores_spread_unlike_random_vectors() {
    let mut generator = Synthetic::new(DIM, 11);
    let docs = generator.corpus(DOCS, ROWS);
    let queries: Vec<(usize, Vec<f32>)> = (0..20)
        .map(|q| {
            let target = (q * 37) % DOCS;
            let doc = &docs[target * ROWS * DIM..(target + 1) * ROWS * DIM];
            (target, generator.query_for(doc, QUERY_ROWS))
        })
        .collect();
    let structured = ranks_and_margins(&docs, &queries);
    let first = structured.iter().filter(|(rank, _)| *rank == 0).count();
    assert!(
        first >= 19,
        "the target ranked first for only {first} of 20 queries"
    );

    // The same queries against random unit vectors: there every score sits in a narrow band
    // (each similarity near 0 at this dim), while a structured corpus has documents near a
    // query (shared topics and frequent tokens) and far from it.
    let mut state = 99u64;
    let mut random: Vec<f32> = (0..DOCS * ROWS * DIM)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect();
    for token in random.chunks_mut(DIM) {
        let norm = token.iter().map(|x| x * x).sum::<f32>().sqrt();
        token.iter_mut().for_each(|x| *x /= norm);
    }
    let spread = |docs: &[f32]| -> f32 {
        let corpus = Corpus::from_padded(docs, (DOCS, ROWS, DIM)).unwrap();
        let mut widths = Vec::new();
        for (_, query) in &queries {
            let prepared = PreparedQuery::new(TokenMatrix::new(query, DIM).unwrap()).unwrap();
            let mut scores = prepared.score_corpus(&corpus).unwrap();
            scores.sort_by(f32::total_cmp);
            // From the 10th percentile to the 90th: the band most documents fall in.
            widths.push((scores[DOCS * 9 / 10] - scores[DOCS / 10]) / QUERY_ROWS as f32);
        }
        widths.sort_by(f32::total_cmp);
        widths[widths.len() / 2]
    };
    let structured_band = spread(&docs);
    let random_band = spread(&random);
    assert!(
        structured_band > 3.0 * random_band,
        "structured scores spread {structured_band} per query row, random ones {random_band}"
    );
    let margins: Vec<f32> = structured.iter().map(|&(_, margin)| margin).collect();
    let smallest = margins.iter().copied().fold(f32::INFINITY, f32::min);
    assert!(
        smallest > 0.1,
        "a target only {smallest} per query row above the median"
    );
}

#[test]
#[should_panic(expected = "dim must be at least 1")]
fn dim_zero_panics() {
    let _ = Synthetic::new(0, 1);
}

#[test]
#[should_panic(expected = "at least one row")]
fn a_query_needs_a_document_row() {
    let _ = Synthetic::new(4, 1).query_for(&[], 3);
}
