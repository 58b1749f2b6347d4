//! The .npy reader on arbitrary bytes, and the corpus built from what it reads: an error
//! message or a consistent result, never a panic or an allocation the input does not pay for.
#![no_main]

use libfuzzer_sys::fuzz_target;
use maxsim::npy;

fuzz_target!(|data: &[u8]| {
    // float32 or float16 (widened): the readers share everything but the element type.
    if let Ok(array) = npy::read_floats(data, "fuzz") {
        let count: usize = array.shape.iter().product();
        assert_eq!(count, array.data.len());
        // The lengths come from the data: a shape claiming rows it does not hold gets few.
        let rows = array
            .shape
            .first()
            .copied()
            .unwrap_or(0)
            .min(array.data.len());
        // Split 2-D arrays into documents of up to 3 rows; 3-D ones as padded blocks.
        let lengths: Vec<usize> = (0..rows)
            .step_by(3)
            .map(|start| (rows - start).min(3))
            .collect();
        let with_lengths = (array.shape.len() == 2).then_some(&lengths[..]);
        if let Ok(corpus) = npy::corpus(array, with_lengths, "fuzz") {
            for doc in corpus.iter() {
                assert_eq!(doc.as_slice().len(), doc.rows() * corpus.dim());
            }
        }
    }
    if let Ok(lengths) = npy::read_lengths(data, "fuzz") {
        assert!(lengths.len() <= data.len());
    }
});
