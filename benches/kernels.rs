//! Every kernel this host runs, side by side with the peers users run today, per shape
//! (query rows x document rows x dim). Throughput is in elements = multiply-adds.
//!
//! Peers: a naive per-pair loop (one dot product at a time, unfused, as small crates do it) and
//! GEMM-then-max through `matrixmultiply` (the similarity matrix materialised, as numpy or
//! torch users do it).
//!
//! The `index/...` groups time the index kernels (stored documents, `maxsim::kernels::index`)
//! per storage type beside the row-major kernel of the same ISA.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use maxsim::kernels::{bf16, f16, index, Element, Kernel};
use maxsim::{PreparedQuery, TokenMatrix};

const SHAPES: [(usize, usize, usize); 7] = [
    (32, 1038, 128),
    (10, 1038, 128),
    (32, 180, 128),
    (32, 512, 128),
    (32, 2048, 128),
    (32, 180, 96),
    (32, 180, 64),
];

fn unit_values(seed: u64, len: usize) -> Vec<f32> {
    let mut state = seed;
    (0..len)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

/// The per-pair loop most hand-rolled MaxSim code uses.
fn naive_maxsim(query: &[f32], doc: &[f32], dim: usize) -> f32 {
    query
        .chunks_exact(dim)
        .map(|q| {
            doc.chunks_exact(dim)
                .map(|d| q.iter().zip(d).map(|(a, b)| a * b).sum::<f32>())
                .fold(f32::NEG_INFINITY, f32::max)
        })
        .sum()
}

/// `S = Q D^T` through a GEMM, then the max of each row of S.
fn gemm_maxsim(query: &[f32], doc: &[f32], dim: usize, sims: &mut [f32]) -> f32 {
    let (n, m) = (query.len() / dim, doc.len() / dim);
    // SAFETY: Q is n x dim row-major (strides dim, 1), D^T is dim x m read from D's row-major
    // storage (strides 1, dim), and `sims` holds n x m floats (strides m, 1).
    unsafe {
        matrixmultiply::sgemm(
            n,
            dim,
            m,
            1.0,
            query.as_ptr(),
            dim as isize,
            1,
            doc.as_ptr(),
            1,
            dim as isize,
            0.0,
            sims.as_mut_ptr(),
            m as isize,
            1,
        );
    }
    sims[..n * m]
        .chunks_exact(m)
        .map(|row| row.iter().copied().fold(f32::NEG_INFINITY, f32::max))
        .sum()
}

fn kernels(c: &mut Criterion) {
    for (n, m, dim) in SHAPES {
        let query = unit_values(1, n * dim);
        let doc = unit_values(2, m * dim);
        let mut group = c.benchmark_group(format!("maxsim/{n}x{m}x{dim}"));
        group
            .throughput(Throughput::Elements((n * m * dim) as u64))
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(2))
            .sample_size(20);
        let doc_matrix = TokenMatrix::new(&doc, dim).unwrap();
        for isa in maxsim::supported_isas() {
            let prepared =
                PreparedQuery::with_isa(TokenMatrix::new(&query, dim).unwrap(), isa).unwrap();
            group.bench_function(BenchmarkId::new("maxsim", isa.name()), |b| {
                b.iter(|| prepared.score(black_box(doc_matrix)).unwrap())
            });
        }
        group.bench_function(BenchmarkId::new("peer", "naive-per-pair"), |b| {
            b.iter(|| naive_maxsim(black_box(&query), black_box(&doc), dim))
        });
        let mut sims = vec![0.0f32; n * m];
        group.bench_function(BenchmarkId::new("peer", "gemm-then-max"), |b| {
            b.iter(|| gemm_maxsim(black_box(&query), black_box(&doc), dim, &mut sims))
        });
        group.finish();
    }
}

/// A document of `rows x dim` unit values stored in the index layout as `T`, starting at a
/// multiple of 64 bytes (as an index should store its documents).
struct Stored<T> {
    buf: Vec<T>,
    offset: usize,
    len: usize,
}

impl<T: Element> Stored<T> {
    fn new(doc: &[f32], dim: usize) -> Stored<T> {
        let len = index::index_len(doc.len() / dim, dim).unwrap();
        let size = std::mem::size_of::<T>();
        let mut buf = vec![T::from_f32(0.0); len + 64 / size];
        let offset = (64 - buf.as_ptr() as usize % 64) % 64 / size;
        index::pack_document(doc, dim, &mut buf[offset..offset + len]);
        Stored { buf, offset, len }
    }

    fn doc(&self) -> &[T] {
        &self.buf[self.offset..self.offset + self.len]
    }
}

fn index_storage<T: Element>(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    kernel: Kernel,
    query: &[f32],
    doc: &[f32],
    dim: usize,
) {
    let (n, m) = (query.len() / dim, doc.len() / dim);
    let stored = Stored::<T>::new(doc, dim);
    let id = format!("{}/{}", kernel.isa().name(), T::STORAGE.name());
    group.bench_function(BenchmarkId::new("index", id), |b| {
        b.iter(|| kernel.index_score(black_box(query), n, dim, black_box(stored.doc()), m))
    });
}

/// The index kernels (documents stored 16 rows per block, dimension-major, as f32, f16 or
/// bf16) on a cache-resident 1038 x 128 document for several query lengths, beside the
/// row-major kernel of the same ISA on the same (f32) document.
fn index_kernels(c: &mut Criterion) {
    let (m, dim) = (1038, 128);
    let doc = unit_values(2, m * dim);
    for n in [1, 4, 10, 16, 32, 64] {
        let query = unit_values(1, n * dim);
        let mut group = c.benchmark_group(format!("index/{n}x{m}x{dim}"));
        group
            .throughput(Throughput::Elements((n * m * dim) as u64))
            .warm_up_time(Duration::from_millis(300))
            .measurement_time(Duration::from_secs(1))
            .sample_size(20);
        for isa in maxsim::supported_isas() {
            if isa == maxsim::Isa::Scalar {
                continue;
            }
            let kernel = Kernel::new(isa).unwrap();
            index_storage::<f32>(&mut group, kernel, &query, &doc, dim);
            index_storage::<f16>(&mut group, kernel, &query, &doc, dim);
            index_storage::<bf16>(&mut group, kernel, &query, &doc, dim);
            let mut packed = vec![0.0; kernel.packed_len(n, dim).unwrap()];
            kernel.pack_query(&query, dim, &mut packed);
            group.bench_function(BenchmarkId::new("row-major", isa.name()), |b| {
                b.iter(|| kernel.score(black_box(&packed), n, dim, black_box(&doc)))
            });
        }
        group.finish();
    }
}

criterion_group!(benches, kernels, index_kernels);
criterion_main!(benches);
