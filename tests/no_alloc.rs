//! Scoring a document with a prepared query allocates nothing; nor does a one-shot call on a
//! tiny shape.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use maxsim::{Isa, PreparedQuery, TokenMatrix};

struct CountingAllocator;

thread_local! {
    // Per thread, so tests running side by side do not count each other's allocations. A const
    // Cell has no destructor, so touching it inside the allocator never allocates.
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

// SAFETY: forwards every call to the system allocator unchanged; it only counts.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // Thread teardown may allocate after the slot is gone; those are not ours to count.
        let _ = ALLOCATIONS.try_with(|count| count.set(count.get() + 1));
        // SAFETY: the caller's contract for `alloc` is passed on as is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` above with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

#[test]
fn scoring_a_document_allocates_nothing() {
    let query: Vec<f32> = (0..33 * 128).map(|i| (i % 13) as f32 - 6.0).collect();
    let doc: Vec<f32> = (0..1038 * 128).map(|i| (i % 17) as f32 - 8.0).collect();
    let doc = TokenMatrix::new(&doc, 128).unwrap();
    for isa in maxsim::supported_isas() {
        let prepared =
            PreparedQuery::with_isa(TokenMatrix::new(&query, 128).unwrap(), isa).unwrap();
        let mut rows = vec![0.0; 33];
        let before = allocations();
        let score = prepared.score(doc).unwrap();
        prepared.row_maxima(doc, &mut rows).unwrap();
        let after = allocations();
        assert_eq!(after, before, "{isa} allocated while scoring");
        assert!(score.is_finite());
        assert_eq!(isa == Isa::Scalar, prepared.isa() == Isa::Scalar);
    }
}

#[test]
fn one_shot_calls_on_tiny_shapes_allocate_nothing() {
    let values: Vec<f32> = (0..64).map(|i| (i % 7) as f32 - 3.0).collect();
    maxsim::selected_isa().unwrap(); // reads MAXSIM_ISA once, outside the count
    for (rows, doc_rows, dim) in [(1, 1, 1), (1, 4, 5), (2, 3, 4), (4, 1, 6), (3, 0, 8)] {
        let query = TokenMatrix::new(&values[..rows * dim], dim).unwrap();
        let doc = TokenMatrix::new(&values[7..7 + doc_rows * dim], dim).unwrap();
        let expected = PreparedQuery::with_isa(query, Isa::Scalar)
            .unwrap()
            .score(doc)
            .unwrap();
        for isa in maxsim::supported_isas() {
            let before = allocations();
            let forced = maxsim::maxsim_with_isa(query, doc, isa).unwrap();
            let dispatched = maxsim::maxsim(query, doc).unwrap();
            let after = allocations();
            assert_eq!(after, before, "{isa} allocated on {rows}x{doc_rows}x{dim}");
            assert_eq!(forced.to_bits(), expected.to_bits());
            assert_eq!(dispatched.to_bits(), expected.to_bits());
        }
    }
}
