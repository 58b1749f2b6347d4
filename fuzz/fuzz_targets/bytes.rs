//! The byte-level constructors at any length, alignment offset and dim: an error or a correct
//! view, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use maxsim::{Corpus, TokenMatrix, TokenMatrixBuf};

fuzz_target!(|data: &[u8]| {
    let [dim, offset, rest @ ..] = data else {
        return;
    };
    let dim = *dim as usize % 20;
    // Copy into a 4-aligned buffer, then slice at the requested offset: every alignment.
    let mut aligned = vec![0f32; rest.len() / 4 + 2];
    let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut aligned);
    let offset = *offset as usize % 4;
    bytes[offset..offset + rest.len()].copy_from_slice(rest);
    let view = &bytes[offset..offset + rest.len()];

    let copied = TokenMatrixBuf::from_bytes_copied(view, dim);
    match TokenMatrix::from_bytes(view, dim) {
        Ok(matrix) => {
            assert_eq!(matrix.rows() * matrix.dim() * 4, view.len());
            let copied = copied.expect("a valid view is a valid copy");
            let same = matrix
                .as_slice()
                .iter()
                .zip(copied.as_matrix().as_slice())
                .all(|(a, b)| a.to_bits() == b.to_bits());
            assert!(same);
            for i in 0..=matrix.rows() {
                assert_eq!(matrix.row(i).is_some(), i < matrix.rows());
            }
        }
        Err(_) => {
            // The copy fails too, unless only the alignment was wrong.
            if let Ok(copied) = copied {
                assert_ne!(view.as_ptr() as usize % 4, 0);
                assert_eq!(copied.rows() * dim * 4, view.len());
            }
        }
    }
    let offsets = [0, view.len() / 8, view.len() / 4 / dim.max(1)];
    if let Ok(corpus) = Corpus::from_bytes(view, dim, &offsets) {
        assert_eq!(corpus.len(), 2);
        assert!(corpus.iter().all(|doc| doc.dim() == dim));
    }
});
