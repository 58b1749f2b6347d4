//! Arbitrary shapes, dims and values (any bit pattern: NaN, infinities, subnormals) through
//! the dispatched API and every kernel this CPU runs, against the scalar reference.
#![no_main]

use libfuzzer_sys::fuzz_target;
use maxsim::kernels::Kernel;
use maxsim::{Isa, PreparedQuery, TokenMatrix};

fuzz_target!(|data: &[u8]| {
    let [query_rows, doc_rows, dim, offsets, rest @ ..] = data else {
        return;
    };
    let (query_rows, doc_rows) = (*query_rows as usize % 40, *doc_rows as usize % 40);
    let dim = 1 + *dim as usize % 160;
    let (query_offset, doc_offset) = ((offsets & 3) as usize, (offsets >> 2 & 3) as usize);
    // Values from the input's bytes, cycled; unaligned starts inside larger buffers.
    let mut words = rest
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .cycle();
    let mut take = |n: usize| -> Vec<f32> { (0..n).map(|_| words.next().unwrap_or(0.5)).collect() };
    let query_buf = take(query_offset + query_rows * dim);
    let doc_buf = take(doc_offset + doc_rows * dim);
    let query = TokenMatrix::new(&query_buf[query_offset..], dim).unwrap();
    let doc = TokenMatrix::new(&doc_buf[doc_offset..], dim).unwrap();

    let reference = PreparedQuery::with_isa(query, Isa::Scalar).unwrap();
    let expected = reference.score(doc).unwrap();
    let mut expected_rows = vec![0.0; query_rows];
    reference.row_maxima(doc, &mut expected_rows).unwrap();

    let dispatched = PreparedQuery::new(query).unwrap().score(doc).unwrap();
    assert_eq!(
        dispatched.to_bits(),
        expected.to_bits(),
        "dispatched {dispatched} vs {expected}"
    );
    for isa in maxsim::supported_isas() {
        let kernel = Kernel::new(isa).unwrap();
        let mut packed = vec![0.0; kernel.packed_len(query_rows, dim).unwrap()];
        kernel.pack_query(query.as_slice(), dim, &mut packed);
        let got = kernel.score(&packed, query_rows, dim, doc.as_slice());
        assert_eq!(
            got.to_bits(),
            expected.to_bits(),
            "{isa}: {got} vs {expected}"
        );
        let mut rows = vec![0.0; query_rows];
        kernel.row_maxima(&packed, query_rows, dim, doc.as_slice(), &mut rows);
        for (g, e) in rows.iter().zip(&expected_rows) {
            assert_eq!(g.to_bits(), e.to_bits(), "{isa} row maxima");
        }
    }
});
