//! The corpus constructors on arbitrary offsets, lengths and padding: an error or a corpus
//! whose documents score exactly as they do alone, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use maxsim::{Corpus, PreparedQuery, TokenMatrix};

fuzz_target!(|data: &[u8]| {
    let [dim, rows, padded, kind, numbers @ ..] = data else {
        return;
    };
    let dim = *dim as usize % 9;
    let rows = *rows as usize % 64;
    let values: Vec<f32> = (0..rows * dim.max(1))
        .map(|i| (i % 13) as f32 - 6.0)
        .collect();
    let data = &values[..rows * dim];
    let numbers: Vec<usize> = numbers.iter().map(|&n| n as usize).collect();
    let corpus = match kind % 3 {
        0 => Corpus::from_lengths(data, dim, &numbers),
        1 => Corpus::from_offsets(data, dim, &numbers),
        _ if kind & 4 != 0 => Corpus::from_padded_lengths(
            data,
            ((kind >> 3) as usize, *padded as usize, dim),
            &numbers,
        ),
        _ => Corpus::from_padded(data, ((kind >> 3) as usize, *padded as usize, dim)),
    };
    let Ok(corpus) = corpus else {
        return;
    };
    assert!(corpus.dim() == dim && dim > 0);
    let query =
        PreparedQuery::new(TokenMatrix::new(&values[..dim * 3.min(rows)], dim).unwrap()).unwrap();
    let scores = query.score_corpus(&corpus).unwrap();
    assert_eq!(scores.len(), corpus.len());
    for (doc, score) in corpus.iter().zip(&scores) {
        assert_eq!(query.score(doc).unwrap().to_bits(), score.to_bits());
    }
    let top = query.top_k(&corpus, 3).unwrap();
    assert_eq!(top.len(), corpus.len().min(3));
});
