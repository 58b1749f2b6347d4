//! The index loader on arbitrary bytes: an error, or an index that scores exactly as the index
//! of its own documents does, never a panic or an allocation the input does not pay for.
//!
//! An input that starts with [`MUTATE`] instead builds a small valid index from the bytes after
//! it, edits a few of its bytes and loads that: valid headers that the fuzzer can bend one field
//! at a time and, with the checksum signed again after the edits, stored values and padding
//! lanes that no index built from a corpus holds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use maxsim::{Corpus, Index, PreparedQuery, Pruning, Storage, TokenMatrix, TokenMatrixBuf};

/// The first byte of an input for the mutating mode (no index file starts with it).
const MUTATE: u8 = 0xff;

/// Values of the built indexes: zeros of both signs, values that round in f16 and bf16, beyond
/// f16's range, subnormal in f16, infinite, NaN.
const VALUES: [f32; 11] = [
    0.0,
    -0.0,
    1.0,
    -1.5,
    0.333,
    65504.0,
    70000.0,
    -1e-7,
    3.0e38,
    f32::INFINITY,
    f32::NAN,
];

fuzz_target!(|data: &[u8]| {
    match data.split_first() {
        Some((&MUTATE, rest)) => mutated(rest),
        _ => check(data),
    }
});

/// `storage, dim, documents, flags, each document's rows, edits...`: an edit is a
/// little-endian u16 position (wrapped to the length) and a byte xor'ed into it, or, when that
/// byte is 0, the length the bytes are truncated to. Flags: bit 0 signs the edited bytes with a
/// fresh checksum; the other bits pick where in [`VALUES`] the documents' values start.
fn mutated(data: &[u8]) {
    let [storage, dim, documents, flags, rest @ ..] = data else {
        return;
    };
    let storage = Storage::ALL[*storage as usize % Storage::ALL.len()];
    let dim = 1 + *dim as usize % 8;
    let (rows, edits) = rest.split_at((*documents as usize % 6).min(rest.len()));
    let rows: Vec<usize> = rows.iter().map(|&r| r as usize % 40).collect();
    let shift = usize::from(flags >> 1);
    let values: Vec<f32> = (0..rows.iter().sum::<usize>() * dim)
        .map(|i| VALUES[(i * 7 + shift) % VALUES.len()])
        .collect();
    let corpus = Corpus::from_lengths(&values[..], dim, &rows).unwrap();
    let index = Index::from_corpus(&corpus, storage).unwrap();
    let mut bytes = index.to_bytes();
    // Unedited, the bytes load back as the same index, and end with their checksum.
    assert_eq!(Index::from_bytes(&bytes).unwrap(), index);
    let body = bytes.len() - 8;
    assert_eq!(
        checksum(&bytes[..body]).to_le_bytes(),
        bytes[body..],
        "the index checksum changed: update `checksum` here to match src/index.rs"
    );
    for edit in edits.chunks_exact(3) {
        if bytes.is_empty() {
            break;
        }
        let at = usize::from(u16::from_le_bytes([edit[0], edit[1]])) % bytes.len();
        match edit[2] {
            0 => bytes.truncate(at),
            flip => bytes[at] ^= flip,
        }
    }
    if flags & 1 == 1 && bytes.len() >= 8 && bytes.len() % 8 == 0 {
        let body = bytes.len() - 8;
        let sum = checksum(&bytes[..body]);
        bytes[body..].copy_from_slice(&sum.to_le_bytes());
    }
    check(&bytes);
}

/// The index file's checksum of the bytes before it, as src/index.rs computes it (8 bytes at a
/// time into 4 lanes, multiply-xorshift mixing): [`mutated`] checks the two agree.
fn checksum(bytes: &[u8]) -> u64 {
    const MULTIPLIER: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut lanes = [1u64, 2, 3, 4];
    let chunks = bytes.chunks_exact(8);
    let tail = chunks.remainder();
    let mut last = [0u8; 8];
    last[..tail.len()].copy_from_slice(tail);
    let words = chunks
        .map(|chunk| u64::from_le_bytes(chunk.try_into().unwrap()))
        .chain([u64::from_le_bytes(last) ^ ((tail.len() as u64) << 56)]);
    let mut count = 0u64;
    for word in words {
        let lane = &mut lanes[(count % 4) as usize];
        *lane = (*lane ^ word).wrapping_mul(MULTIPLIER).rotate_left(29);
        count += 1;
    }
    let mut hash = count;
    for lane in lanes {
        hash = (hash ^ lane).wrapping_mul(MULTIPLIER);
        hash ^= hash >> 31;
    }
    hash
}

fn check(bytes: &[u8]) {
    let Ok(index) = Index::from_bytes(bytes) else {
        return;
    };
    let dim = index.dim();
    assert!(index.data_bytes() <= bytes.len());
    assert_eq!(index.document_rows().len(), index.len());
    assert_eq!(
        index.document_rows().iter().sum::<usize>(),
        index.total_rows()
    );
    // Its own documents, widened to f32, hold what the blocks hold (its bytes hold them all).
    let documents: Vec<TokenMatrixBuf> = (0..index.len())
        .map(|i| index.document(i).unwrap())
        .collect();
    assert!(index.document(index.len()).is_none());
    for (doc, &rows) in documents.iter().zip(index.document_rows()) {
        assert_eq!((doc.rows(), doc.as_matrix().dim()), (rows, dim));
    }
    // Stored again in the same type, they are the same values (a NaN may change its payload).
    let again = Index::from_documents(
        documents.iter().map(TokenMatrixBuf::as_matrix),
        dim,
        index.storage(),
    )
    .unwrap();
    assert_eq!(again.document_rows(), index.document_rows());
    for (i, doc) in documents.iter().enumerate() {
        let stored = again.document(i).unwrap();
        let same = stored
            .as_matrix()
            .as_slice()
            .iter()
            .zip(doc.as_matrix().as_slice())
            .all(|(a, b)| a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()));
        assert!(same, "document {i} changed when stored again");
    }
    // A header may declare a huge dim over documents of no rows: a query of that dim would
    // cost memory the input does not pay for.
    if dim > 256 {
        return;
    }
    let query: Vec<f32> = (0..3 * dim).map(|i| (i % 5) as f32 - 2.0).collect();
    let query = PreparedQuery::new(TokenMatrix::new(&query, dim).unwrap()).unwrap();
    let scores = query.score_corpus(&index).unwrap();
    let expected = query.score_corpus(&again).unwrap();
    assert_eq!(scores.len(), index.len());
    for (i, ((score, expected), doc)) in scores.iter().zip(&expected).zip(&documents).enumerate() {
        assert_eq!(score.to_bits(), expected.to_bits(), "document {i}");
        let row_major = query.score(doc.as_matrix()).unwrap();
        assert_eq!(score.to_bits(), row_major.to_bits(), "document {i}");
    }
    let hits = |documents: &Index, pruning: Pruning| -> Vec<(usize, u32)> {
        let top = query.top_k_with(documents, 3, pruning).unwrap();
        top.hits
            .iter()
            .map(|hit| (hit.index, hit.score.to_bits()))
            .collect()
    };
    // The full scan reads only the blocks. Pruning trusts the file's sketch (the checksum
    // guards it against corruption, not against an edit signed again, which the mutating mode
    // makes): on the documents' own sketch, built again, it returns the full scan's hits.
    let full = hits(&index, Pruning::Off);
    assert_eq!(full, hits(&again, Pruning::Off));
    assert_eq!(full, hits(&again, Pruning::Auto));
    if index.has_sketch() && index.verify_sketch().is_ok() {
        assert_eq!(full, hits(&index, Pruning::Auto));
    }
    // Saved again, it loads back as itself.
    assert_eq!(Index::from_bytes(&index.to_bytes()).unwrap(), index);
}
