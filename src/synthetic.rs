//! Synthetic late-interaction data whose scores spread as they do in real retrieval, for
//! tests, benchmarks and demos.
//!
//! Random unit vectors are the worst case for anything that prunes or screens: at dim 128
//! every similarity is near 0 and every document's score falls in a narrow band, which no
//! real corpus looks like. A ColBERT or ColPali corpus is made of tokens that recur: a
//! vocabulary of token clusters, a few very frequent (function words, page background) and a
//! long tail, each document drawing most of its tokens from its own topics; and a query
//! shares tokens with the documents that answer it. [`Synthetic`] generates exactly that:
//!
//! - a vocabulary of `clusters` unit centers, used with Zipf-like frequencies (cluster `c` with
//!   weight `1 / (c + 1)`);
//! - a document of `rows` tokens: each drawn, with probability `topic_share`, from the
//!   document's own topic clusters (16 of them, drawn from the vocabulary by frequency, so that
//!   documents share topics by degrees), otherwise from the whole vocabulary by frequency; each token is its cluster's
//!   center plus Gaussian noise of norm about `noise`, normalized;
//! - a query derived from a target document ([`Synthetic::query_for`]): each query token a
//!   token of the target, perturbed by noise of norm about `query_noise`, or, with
//!   probability `replaced`, a token drawn from the vocabulary by frequency instead (words
//!   the document lacks).
//!
//! The generator is deterministic for a seed: its own 64-bit generator, and `f64` arithmetic
//! rounded once to `f32`. (The Gaussian noise calls `ln` and `cos`, which another platform's
//! math library may round differently in the last bit, so data from one seed may differ
//! slightly across platforms.)

/// A generator of structured late-interaction data; see the [module documentation](self).
///
/// ```
/// use maxsim::synthetic::Synthetic;
/// use maxsim::{Corpus, PreparedQuery, TokenMatrix};
///
/// let mut generator = Synthetic::new(64, 7);
/// let docs = generator.corpus(20, 30); // 20 documents of 30 tokens, padded layout
/// let corpus = Corpus::from_padded(&docs[..], (20, 30, 64))?;
/// let target = &docs[5 * 30 * 64..6 * 30 * 64];
/// let query = generator.query_for(target, 8);
/// let query = PreparedQuery::new(TokenMatrix::new(&query, 64)?)?;
/// assert_eq!(query.top_k(&corpus, 1)?[0].index, 5); // the target ranks first
/// # Ok::<(), maxsim::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Synthetic {
    dim: usize,
    /// `clusters x dim` unit centers.
    centers: Vec<f32>,
    /// Cumulative Zipf weights of the clusters, the last one 1.
    cumulative: Vec<f64>,
    topic_clusters: usize,
    topic_share: f64,
    noise: f64,
    query_noise: f64,
    replaced: f64,
    rng: SplitMix64,
}

impl Synthetic {
    /// A generator of tokens of dimension `dim` (at least 1) from `seed`, with a vocabulary of
    /// 4096 clusters, 16 topic clusters per document, 70% of a document's tokens from its
    /// topics, token noise 0.35, query noise 0.2 and 25% of query tokens replaced.
    ///
    /// # Panics
    ///
    /// If `dim` is 0.
    #[must_use]
    pub fn new(dim: usize, seed: u64) -> Synthetic {
        Synthetic::with_vocabulary(dim, 4096, seed)
    }

    /// As [`Synthetic::new`], with `clusters` (at least 1) clusters in the vocabulary.
    ///
    /// # Panics
    ///
    /// If `dim` or `clusters` is 0.
    #[must_use]
    pub fn with_vocabulary(dim: usize, clusters: usize, seed: u64) -> Synthetic {
        assert!(dim > 0, "dim must be at least 1");
        assert!(clusters > 0, "the vocabulary needs at least one cluster");
        let mut rng = SplitMix64(seed);
        let mut centers = vec![0.0f32; clusters * dim];
        for center in centers.chunks_exact_mut(dim) {
            let mut values: Vec<f64> = (0..dim).map(|_| rng.gaussian()).collect();
            normalize(&mut values);
            for (out, value) in center.iter_mut().zip(values) {
                *out = value as f32;
            }
        }
        let mut total = 0.0;
        let mut cumulative: Vec<f64> = (0..clusters)
            .map(|c| {
                total += 1.0 / (c + 1) as f64;
                total
            })
            .collect();
        for weight in &mut cumulative {
            *weight /= total;
        }
        Synthetic {
            dim,
            centers,
            cumulative,
            topic_clusters: 16,
            topic_share: 0.7,
            noise: 0.35,
            query_noise: 0.2,
            replaced: 0.25,
            rng,
        }
    }

    /// The token dimension.
    #[must_use]
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// A document of `rows` unit tokens, row-major (`rows * dim` values).
    pub fn document(&mut self, rows: usize) -> Vec<f32> {
        let clusters = self.cumulative.len();
        // Topics by frequency too: popular topics are shared by many documents, so documents
        // overlap by degrees, as passages on related subjects do.
        let topics: Vec<usize> = (0..self.topic_clusters.min(clusters))
            .map(|_| self.frequent_cluster())
            .collect();
        let mut out = Vec::with_capacity(rows * self.dim);
        for _ in 0..rows {
            let cluster = if self.rng.uniform() < self.topic_share {
                topics[self.rng.below(topics.len())]
            } else {
                self.frequent_cluster()
            };
            let center = &self.centers[cluster * self.dim..(cluster + 1) * self.dim];
            push_perturbed(&mut self.rng, center, self.noise, &mut out);
        }
        out
    }

    /// `docs` documents of `rows` tokens each, in the padded layout `(docs, rows, dim)` that
    /// [`crate::Corpus::from_padded`] takes.
    pub fn corpus(&mut self, docs: usize, rows: usize) -> Vec<f32> {
        let mut out = Vec::with_capacity(docs * rows * self.dim);
        for _ in 0..docs {
            out.extend(self.document(rows));
        }
        out
    }

    /// A query of `rows` unit tokens derived from `document` (row-major, `dim` values per row,
    /// at least one row): each a random token of the document perturbed, or a replaced one
    /// drawn from the vocabulary.
    ///
    /// # Panics
    ///
    /// If `document` is empty or not a whole number of rows.
    pub fn query_for(&mut self, document: &[f32], rows: usize) -> Vec<f32> {
        assert!(
            !document.is_empty() && document.len().is_multiple_of(self.dim),
            "the document must hold at least one row of {} values",
            self.dim
        );
        let doc_rows = document.len() / self.dim;
        let mut out = Vec::with_capacity(rows * self.dim);
        for _ in 0..rows {
            let (source, noise) = if self.rng.uniform() < self.replaced {
                let cluster = self.frequent_cluster();
                (
                    &self.centers[cluster * self.dim..(cluster + 1) * self.dim],
                    self.noise,
                )
            } else {
                let row = self.rng.below(doc_rows);
                (
                    &document[row * self.dim..(row + 1) * self.dim],
                    self.query_noise,
                )
            };
            push_perturbed(&mut self.rng, source, noise, &mut out);
        }
        out
    }

    /// A query of `rows` tokens drawn from the vocabulary by frequency, derived from no
    /// document.
    pub fn vocabulary_query(&mut self, rows: usize) -> Vec<f32> {
        let mut out = Vec::with_capacity(rows * self.dim);
        for _ in 0..rows {
            let cluster = self.frequent_cluster();
            let center = &self.centers[cluster * self.dim..(cluster + 1) * self.dim];
            push_perturbed(&mut self.rng, center, self.noise, &mut out);
        }
        out
    }

    /// A cluster drawn by its Zipf weight.
    fn frequent_cluster(&mut self) -> usize {
        let u = self.rng.uniform();
        self.cumulative
            .partition_point(|&weight| weight < u)
            .min(self.cumulative.len() - 1)
    }
}

/// Appends `normalize(source + noise * g / sqrt(dim))`, `g` standard Gaussian: a unit token at
/// about `noise` (relative) from `source`.
fn push_perturbed(rng: &mut SplitMix64, source: &[f32], noise: f64, out: &mut Vec<f32>) {
    let scale = noise / (source.len() as f64).sqrt();
    let mut values: Vec<f64> = source
        .iter()
        .map(|&x| f64::from(x) + scale * rng.gaussian())
        .collect();
    normalize(&mut values);
    out.extend(values.into_iter().map(|x| x as f32));
}

/// Scales `values` to unit norm (leaves a zero vector as it is).
fn normalize(values: &mut [f64]) {
    let norm = values.iter().map(|x| x * x).sum::<f64>().sqrt();
    if norm > 0.0 {
        values.iter_mut().for_each(|x| *x /= norm);
    }
}

/// SplitMix64: small, fast, and the same sequence on every platform.
#[derive(Clone, Debug)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`, 53 bits.
    fn uniform(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `0..n` (`n >= 1`); the modulo bias is below 2^-40 for any `n` used here.
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// Standard Gaussian (Box-Muller, one of the pair).
    fn gaussian(&mut self) -> f64 {
        let u = 1.0 - self.uniform(); // (0, 1]: ln is finite
        let v = self.uniform();
        (-2.0 * u.ln()).sqrt() * (core::f64::consts::TAU * v).cos()
    }
}
