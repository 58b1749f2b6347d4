//! Scoring a document with a prepared query allocates nothing.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use maxsim::{Isa, PreparedQuery, TokenMatrix};

struct CountingAllocator;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards every call to the system allocator unchanged; it only counts.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
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
        let before = ALLOCATIONS.load(Ordering::SeqCst);
        let score = prepared.score(doc).unwrap();
        prepared.row_maxima(doc, &mut rows).unwrap();
        let after = ALLOCATIONS.load(Ordering::SeqCst);
        assert_eq!(after, before, "{isa} allocated while scoring");
        assert!(score.is_finite());
        assert_eq!(isa == Isa::Scalar, prepared.isa() == Isa::Scalar);
    }
}
