//! A corpus rearranged once for scoring many times: document rows fill the vector lanes, in
//! f32, f16 or bf16, with a file format that loads with one read.

use std::fmt;
use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;

use half::{bf16, f16};
use maxsim_kernels::index::{self as layout, Element, INDEX_LANES};

use crate::documents::{check_dims, Source};
use crate::prune::{pruned_top_k, DocumentBound, Sketched, TopKStats};
use crate::scorer::{for_each, grouped_for_threads};
use crate::search::Hit;
use crate::sketch::{IndexSketch, Sketch};
use crate::{Corpus, Documents, Error, PreparedQuery, Result, TokenMatrix, TokenMatrixBuf};

pub use maxsim_kernels::index::Storage;

/// A corpus rearranged once for scoring many times: each document's rows are stored in blocks
/// of 16, dimension-major, so that one vector register holds one dimension of 16 document rows
/// and the query's values are broadcast. Every query length, from one row up, then fills the
/// lanes (the row-major path fills them with query rows, so a 10-row query leaves 6 of 16 idle).
///
/// The values are stored as [`Storage::F32`], [`Storage::F16`] or [`Storage::Bf16`] (half the
/// bytes), rounded from f32 to nearest, ties to even; f16 overflow (beyond ±65504) becomes ±inf.
/// Scoring widens the stored values to f32 exactly and runs the same fused multiply-add chain as
/// everywhere else, so a score over an index is bit-identical to the scalar reference on the
/// stored values widened to f32 — with f32 storage, to [`PreparedQuery::score`] on the original
/// documents — on every ISA. The layout is the same on every ISA: an index saved on one machine
/// scores on any other ([`Index::save`], [`Index::load`]).
///
/// An `Index` is [`Documents`]: every scoring call takes it (`score_corpus`, `top_k`, query
/// batches, [`crate::Candidates`] of it, [`crate::Scorer`]).
///
/// ```
/// use maxsim::{Corpus, Index, PreparedQuery, Storage, TokenMatrix};
///
/// let tokens: Vec<f32> = (0..50 * 8).map(|i| ((i * 13) % 17) as f32 / 8.0 - 1.0).collect();
/// let corpus = Corpus::from_lengths(&tokens[..], 8, &[20u32, 0, 30])?;
/// let query = PreparedQuery::new(TokenMatrix::new(&tokens[..3 * 8], 8)?)?;
///
/// let exact = Index::from_corpus(&corpus, Storage::F32)?;
/// assert_eq!(query.score_corpus(&exact)?, query.score_corpus(&corpus)?); // the same bits
///
/// let half = Index::from_corpus(&corpus, Storage::Bf16)?; // half the bytes
/// let best = query.top_k(&half, 2)?;
/// assert_eq!(best[0].score, query.score(half.document(best[0].index).unwrap().as_matrix())?);
/// # Ok::<(), maxsim::Error>(())
/// ```
#[derive(Clone)]
pub struct Index {
    storage: Storage,
    dim: usize,
    /// Token rows of each document.
    rows: Vec<usize>,
    /// Where each document's blocks start, in elements of `data` (one more than documents).
    starts: Vec<usize>,
    /// The blocks, as 8-byte words so that any element type is aligned in them, from word
    /// `skip` on (a loaded file keeps its header in front, so the blocks are never moved).
    data: Vec<u64>,
    skip: usize,
    /// The int8 sketch that prunes top-k, if built ([`Sketch::Int8`]).
    sketch: Option<IndexSketch>,
}

impl Index {
    /// Rearranges every document of `corpus` into blocks of `storage` values, with the int8
    /// sketch that prunes top-k ([`Sketch::Int8`]), in parallel.
    ///
    /// # Errors
    ///
    /// [`Error::TooLarge`] if the index would not fit in memory.
    pub fn from_corpus(corpus: &Corpus<'_>, storage: Storage) -> Result<Index> {
        Index::from_corpus_with(corpus, storage, Sketch::Int8)
    }

    /// As [`Index::from_corpus`], with or without the sketch.
    ///
    /// # Errors
    ///
    /// [`Error::TooLarge`] if the index would not fit in memory.
    pub fn from_corpus_with(
        corpus: &Corpus<'_>,
        storage: Storage,
        sketch: Sketch,
    ) -> Result<Index> {
        let dim = corpus.dim();
        let rows: Vec<usize> = corpus.spans().iter().map(|span| span.len()).collect();
        let mut index = Index::empty(storage, dim, rows)?;
        match storage {
            Storage::F32 => index.pack::<f32>(corpus),
            Storage::F16 => index.pack::<f16>(corpus),
            Storage::Bf16 => index.pack::<bf16>(corpus),
        }
        match sketch {
            Sketch::Int8 => index.with_sketch(),
            Sketch::Off => Ok(index),
        }
    }

    /// This index with the int8 sketch that prunes top-k, built from the stored values if it
    /// has none.
    ///
    /// # Errors
    ///
    /// [`Error::TooLarge`] if the sketch would not fit in memory.
    pub fn with_sketch(mut self) -> Result<Index> {
        if self.sketch.is_none() {
            let sketch = IndexSketch::build(&self.rows, self.dim, |doc, out| self.widen(doc, out))?;
            self.sketch = Some(sketch);
        }
        Ok(self)
    }

    /// This index without its sketch: top-k then scores every document.
    #[must_use]
    pub fn without_sketch(mut self) -> Index {
        self.sketch = None;
        self
    }

    /// Whether the index carries the int8 sketch that prunes top-k.
    #[must_use]
    pub fn has_sketch(&self) -> bool {
        self.sketch.is_some()
    }

    /// The interval `(lower, upper)` that the sketch proves to hold `query`'s exact score
    /// against document `doc` (`lower <= score <= upper`, the score as
    /// [`PreparedQuery::score_corpus`] computes it): what pruned top-k ranks documents by
    /// before scoring the few that matter. `None` where no bound is given: the index has no
    /// sketch, `doc` is past the end or empty, the query is empty, or the document or the query
    /// holds a value that cannot be bounded (not finite, or a token norm above `2^50`).
    ///
    /// # Errors
    ///
    /// [`Error::DimMismatch`].
    pub fn score_bounds(&self, query: &PreparedQuery, doc: usize) -> Result<Option<(f64, f64)>> {
        check_dims(query.dim(), self.dim)?;
        if self.sketch.is_none() {
            return Ok(None);
        }
        Ok(crate::prune::score_bounds(query, self, doc))
    }

    /// Checks the sketch against the stored values: it is rebuilt from them and compared.
    /// A loaded index trusts its file's sketch (the checksum guards against corruption, not
    /// against an edited file signed again); a sketch that does not match the blocks could make
    /// pruned top-k miss documents. Costs about what building the sketch costs.
    ///
    /// # Errors
    ///
    /// [`Error::Format`] if the sketch differs from the one the stored values give;
    /// [`Error::TooLarge`] as [`Index::with_sketch`].
    pub fn verify_sketch(&self) -> Result<()> {
        let Some(sketch) = &self.sketch else {
            return Ok(());
        };
        let rebuilt = IndexSketch::build(&self.rows, self.dim, |doc, out| self.widen(doc, out))?;
        if &rebuilt == sketch {
            Ok(())
        } else {
            Err(format_error(
                "index",
                "the sketch does not match the stored values".into(),
            ))
        }
    }

    /// Bytes the sketch occupies (0 without one).
    #[must_use]
    pub fn sketch_bytes(&self) -> usize {
        self.sketch.as_ref().map_or(0, IndexSketch::bytes)
    }

    /// Rearranges token matrices of one dim (see [`Index::from_corpus`]).
    ///
    /// # Errors
    ///
    /// [`Error::ZeroDim`]; [`Error::DimMismatch`] if a document's dim differs from `dim`;
    /// [`Error::TooLarge`].
    pub fn from_documents<'d>(
        documents: impl IntoIterator<Item = TokenMatrix<'d>>,
        dim: usize,
        storage: Storage,
    ) -> Result<Index> {
        Index::from_corpus(&Corpus::from_documents(documents, dim)?, storage)
    }

    /// An index of `rows[i]`-row documents with zeroed blocks.
    fn empty(storage: Storage, dim: usize, rows: Vec<usize>) -> Result<Index> {
        if dim == 0 {
            return Err(Error::ZeroDim);
        }
        let starts = block_starts(&rows, dim)?;
        let elements = *starts.last().unwrap_or(&0);
        let words = elements
            .checked_mul(storage.bytes())
            .map(|bytes| bytes.div_ceil(8))
            .ok_or(Error::TooLarge {
                rows: rows.iter().sum(),
                dim,
            })?;
        let mut data = Vec::new();
        data.try_reserve_exact(words).map_err(|_| Error::TooLarge {
            rows: rows.iter().sum(),
            dim,
        })?;
        data.resize(words, 0);
        Ok(Index {
            storage,
            dim,
            rows,
            starts,
            data,
            skip: 0,
            sketch: None,
        })
    }

    /// The blocks' words.
    fn words(&self) -> &[u64] {
        &self.data[self.skip..]
    }

    fn pack<T: Element + bytemuck::Pod>(&mut self, corpus: &Corpus<'_>) {
        let dim = self.dim;
        let elements = *self.starts.last().unwrap_or(&0);
        let all: &mut [T] =
            &mut bytemuck::cast_slice_mut::<u64, T>(&mut self.data[self.skip..])[..elements];
        // One piece per document, each packed on its own: documents are independent.
        let mut pieces = Vec::with_capacity(self.rows.len());
        let mut rest = all;
        for pair in self.starts.windows(2) {
            let (piece, tail) = std::mem::take(&mut rest).split_at_mut(pair[1] - pair[0]);
            pieces.push(piece);
            rest = tail;
        }
        // Several documents a task: packing is memory-bound and cheap.
        let tasks = grouped_for_threads(pieces.into_iter().enumerate().collect());
        for_each(tasks, |task| {
            for (doc, out) in task {
                layout::pack_document(corpus.document_slice(doc), dim, out);
            }
        });
    }

    /// Number of documents.
    #[must_use]
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether there are no documents.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Token dimension.
    #[must_use]
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The type the values are stored in.
    #[must_use]
    pub fn storage(&self) -> Storage {
        self.storage
    }

    /// Token rows of each document.
    #[must_use]
    pub fn document_rows(&self) -> &[usize] {
        &self.rows
    }

    /// Token rows over all documents.
    #[must_use]
    pub fn total_rows(&self) -> usize {
        self.rows.iter().sum()
    }

    /// Bytes the blocks occupy (padding lanes of each document's last block included).
    #[must_use]
    pub fn data_bytes(&self) -> usize {
        self.starts.last().unwrap_or(&0) * self.storage.bytes()
    }

    /// Document `index` as it is stored, widened to f32, row-major: what a score over this
    /// index is the exact score of. `None` past the end.
    #[must_use]
    pub fn document(&self, index: usize) -> Option<TokenMatrixBuf> {
        let rows = *self.rows.get(index)?;
        let mut values = vec![0.0f32; rows * self.dim];
        self.widen(index, &mut values);
        TokenMatrixBuf::new(values, self.dim).ok()
    }

    /// Document `index`'s stored values widened to f32, row-major, into `out`.
    fn widen(&self, index: usize, out: &mut [f32]) {
        match self.storage {
            Storage::F32 => self.unpack::<f32>(index, out),
            Storage::F16 => self.unpack::<f16>(index, out),
            Storage::Bf16 => self.unpack::<bf16>(index, out),
        }
    }

    fn unpack<T: Element + bytemuck::Pod>(&self, index: usize, out: &mut [f32]) {
        let blocks = self.blocks::<T>(index);
        for (row, values) in out.chunks_exact_mut(self.dim).enumerate() {
            let (block, lane) = (row / INDEX_LANES, row % INDEX_LANES);
            for (k, value) in values.iter_mut().enumerate() {
                *value = blocks[(block * self.dim + k) * INDEX_LANES + lane].to_f32();
            }
        }
    }

    /// The stored blocks of document `index`.
    fn blocks<T: Element + bytemuck::Pod>(&self, index: usize) -> &[T] {
        let all: &[T] = bytemuck::cast_slice(self.words());
        &all[self.starts[index]..self.starts[index + 1]]
    }

    fn score_in<T: Element + bytemuck::Pod>(&self, query: &PreparedQuery, position: usize) -> f32 {
        let (rows, dim) = (query.rows(), query.dim());
        let doc = self.blocks::<T>(position);
        let doc_rows = self.rows[position];
        match query.weights() {
            None => query
                .kernel()
                .index_score(query.row_major(), rows, dim, doc, doc_rows),
            Some(weights) => query.kernel().index_score_weighted(
                query.row_major(),
                rows,
                dim,
                doc,
                doc_rows,
                weights,
            ),
        }
    }

    fn row_maxima_in<T: Element + bytemuck::Pod>(
        &self,
        query: &PreparedQuery,
        position: usize,
        out: &mut [f32],
    ) {
        query.kernel().index_row_maxima(
            query.row_major(),
            query.rows(),
            query.dim(),
            self.blocks::<T>(position),
            self.rows[position],
            out,
        )
    }
}

/// Where each document's blocks start, in elements (one more entry than documents).
fn block_starts(rows: &[usize], dim: usize) -> Result<Vec<usize>> {
    let mut starts = Vec::with_capacity(rows.len() + 1);
    let mut at = 0usize;
    starts.push(at);
    for &doc_rows in rows {
        at = layout::index_len(doc_rows, dim)
            .and_then(|len| at.checked_add(len))
            .ok_or(Error::TooLarge {
                rows: doc_rows,
                dim,
            })?;
        starts.push(at);
    }
    Ok(starts)
}

impl fmt::Debug for Index {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Index")
            .field("storage", &self.storage)
            .field("dim", &self.dim)
            .field("documents", &self.rows.len())
            .field("total_rows", &self.total_rows())
            .field("data_bytes", &self.data_bytes())
            .field("sketch_bytes", &self.sketch_bytes())
            .finish()
    }
}

impl PartialEq for Index {
    /// The same documents stored the same way (bit for bit), with the same sketch.
    fn eq(&self, other: &Index) -> bool {
        self.storage == other.storage
            && self.dim == other.dim
            && self.rows == other.rows
            && self.data_bytes() == other.data_bytes()
            && self.data_as_bytes() == other.data_as_bytes()
            && self.sketch == other.sketch
    }
}

impl Source for Index {
    fn rows(&self, position: usize) -> usize {
        self.rows[position]
    }

    fn check_dim(&self, dim: usize) -> Result<()> {
        check_dims(dim, self.dim)
    }

    fn score(&self, query: &PreparedQuery, position: usize) -> f32 {
        match self.storage {
            Storage::F32 => self.score_in::<f32>(query, position),
            Storage::F16 => self.score_in::<f16>(query, position),
            Storage::Bf16 => self.score_in::<bf16>(query, position),
        }
    }

    fn row_maxima(&self, query: &PreparedQuery, position: usize, out: &mut [f32]) {
        match self.storage {
            Storage::F32 => self.row_maxima_in::<f32>(query, position, out),
            Storage::F16 => self.row_maxima_in::<f16>(query, position, out),
            Storage::Bf16 => self.row_maxima_in::<bf16>(query, position, out),
        }
    }

    fn pruned_top_k(&self, query: &PreparedQuery, k: usize) -> Option<(Vec<Hit>, TopKStats)> {
        self.sketch.as_ref()?;
        pruned_top_k(query, self, k)
    }
}

impl Sketched for Index {
    fn documents(&self) -> usize {
        self.rows.len()
    }

    fn dim(&self) -> usize {
        self.dim
    }

    fn doc_rows(&self, doc: usize) -> usize {
        self.rows[doc]
    }

    fn sketch(&self, doc: usize) -> (&[i8], &[f32], DocumentBound) {
        match &self.sketch {
            Some(sketch) => sketch.document(doc),
            None => (&[], &[], DocumentBound::UNBOUNDED),
        }
    }

    fn exact(&self, query: &PreparedQuery, doc: usize) -> f32 {
        Source::score(self, query, doc)
    }
}

impl Documents for Index {
    fn len(&self) -> usize {
        Index::len(self)
    }
}

// The file format.
//
// | bytes | field |
// |---|---|
// | 8 | magic `MAXSIMIX` |
// | 4 | format version, little-endian u32 (2; version 1, without the sketch word and
// |   | sections, is still read) |
// | 4 | storage: 0 f32, 1 f16, 2 bf16 (u32) |
// | 8 | dim (u64) |
// | 8 | documents `n` (u64) |
// | 8 | total token rows `r` (u64) |
// | 8 | stored elements `e` (u64): the sum over documents of ceil(rows / 16) * 16 * dim |
// | 8 | sketch: 0 none, 1 int8 (u64) |
// | 8 * n | each document's rows (u64) |
// | 0..63 | zeros, so the blocks start at a multiple of 64 bytes |
// | e * bytes | the blocks, little-endian |
// | 0..7 | zeros, to a multiple of 8 bytes |
// | c | with a sketch: each document's packed int8 codes, `c` the sum over documents of
// |   | ceil(rows / 16) * 16 * ceil(dim / 4) * 4 |
// | 0..7 | zeros, to a multiple of 8 bytes |
// | 4 * r | each token's scale (f32) |
// | 0..7 | zeros, to a multiple of 8 bytes |
// | 8 * n | each document's two bound terms (f32 error, f32 sketched norm) |
// | 8 | checksum (u64) of every byte before it |

const MAGIC: &[u8; 8] = b"MAXSIMIX";
const VERSION: u32 = 2;
/// The fixed header of version 1 and of version 2 (which adds the sketch word).
const FIXED_HEADER_V1: usize = 48;
const FIXED_HEADER: usize = 56;
/// Most documents a file may declare before its length is even checked against them.
const MAX_DOCUMENTS: u64 = 1 << 40;

impl Index {
    /// The index in the file format (documented in the README): a header, each document's
    /// rows, the blocks at a 64-byte boundary, and a checksum.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(self.file_len());
        self.write_header(&mut bytes);
        for piece in self.body() {
            bytes.extend_from_slice(&piece);
        }
        let checksum = checksum(&bytes);
        bytes.extend_from_slice(&checksum.to_le_bytes());
        bytes
    }

    fn file_len(&self) -> usize {
        self.header_len() + self.body().iter().map(|piece| piece.len()).sum::<usize>() + 8
    }

    /// What follows the header, in order, each piece padded to a multiple of 8 bytes: the
    /// blocks, then the sketch's codes, scales and bounds.
    fn body(&self) -> Vec<std::borrow::Cow<'_, [u8]>> {
        use std::borrow::Cow;
        let padded = |bytes: &[u8]| -> Vec<u8> {
            let mut out = bytes.to_vec();
            out.resize(bytes.len().next_multiple_of(8), 0);
            out
        };
        let data = self.data_as_bytes();
        let whole = data.len() - data.len() % 8;
        let mut pieces = vec![
            Cow::Borrowed(&data[..whole]),
            Cow::Owned(padded(&data[whole..])),
        ];
        if let Some(sketch) = &self.sketch {
            pieces.push(Cow::Owned(padded(bytemuck::cast_slice(&sketch.codes))));
            pieces.push(Cow::Owned(padded(bytemuck::cast_slice(&sketch.scales))));
            let bounds: Vec<f32> = sketch
                .bounds
                .iter()
                .flat_map(|bound| [bound.error, bound.sketched])
                .collect();
            pieces.push(Cow::Owned(bytemuck::cast_slice(&bounds).to_vec()));
        }
        pieces
    }

    fn header_len(&self) -> usize {
        (FIXED_HEADER + 8 * self.rows.len()).next_multiple_of(64)
    }

    fn write_header(&self, bytes: &mut Vec<u8>) {
        let header_len = self.header_len();
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&VERSION.to_le_bytes());
        bytes.extend_from_slice(&u32::from(self.storage.code()).to_le_bytes());
        for value in [
            self.dim,
            self.rows.len(),
            self.total_rows(),
            *self.starts.last().unwrap_or(&0),
            usize::from(self.sketch.is_some()),
        ]
        .into_iter()
        .chain(self.rows.iter().copied())
        {
            bytes.extend_from_slice(&(value as u64).to_le_bytes());
        }
        bytes.resize(header_len, 0);
    }

    fn data_as_bytes(&self) -> &[u8] {
        &bytemuck::cast_slice::<u64, u8>(self.words())[..self.data_bytes()]
    }

    /// Writes the index to `path` atomically: to a temporary file beside it, flushed to disk,
    /// then renamed over `path`, so a reader never sees a partial index.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] naming the path.
    pub fn save(&self, path: &Path) -> Result<()> {
        let io = |what: &str, e: std::io::Error| Error::Io {
            source: path.display().to_string(),
            message: format!("{what}: {e}"),
        };
        let mut temporary = path.as_os_str().to_owned();
        temporary.push(format!(".tmp-{}", std::process::id()));
        let temporary = Path::new(&temporary);
        let write = || -> std::io::Result<()> {
            let mut file = File::create(temporary)?;
            let mut header = Vec::with_capacity(self.header_len());
            self.write_header(&mut header);
            let mut hasher = Checksum::new();
            hasher.update(&header);
            file.write_all(&header)?;
            for piece in self.body() {
                hasher.update(&piece);
                file.write_all(&piece)?;
            }
            file.write_all(&hasher.finish().to_le_bytes())?;
            file.sync_all()
        };
        if let Err(e) = write() {
            let _ = std::fs::remove_file(temporary);
            return Err(io("cannot write the index", e));
        }
        std::fs::rename(temporary, path).map_err(|e| {
            let _ = std::fs::remove_file(temporary);
            io("cannot move the index into place", e)
        })
    }

    /// Reads an index written by [`Index::save`] with one read into aligned memory; the
    /// blocks are used where they land, with no per-element parsing. Everything is checked
    /// before use: a truncated, corrupted or hostile file is an error, never a panic.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if the file cannot be read; [`Error::Format`] naming the path and what is
    /// wrong.
    pub fn load(path: &Path) -> Result<Index> {
        let source = path.display().to_string();
        let io = |e: std::io::Error| Error::Io {
            source: source.clone(),
            message: e.to_string(),
        };
        let mut file = File::open(path).map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        let len = usize::try_from(len)
            .ok()
            .filter(|len| len.is_multiple_of(8))
            .ok_or_else(|| {
                format_error(
                    &source,
                    format!("{len} bytes is not an index file (its length is not a multiple of 8)"),
                )
            })?;
        let mut words = Vec::new();
        words
            .try_reserve_exact(len / 8)
            .map_err(|_| format_error(&source, format!("{len} bytes do not fit in memory")))?;
        words.resize(len / 8, 0u64);
        file.read_exact(bytemuck::cast_slice_mut(&mut words))
            .map_err(io)?;
        Index::from_words(words, &source)
    }

    /// Reads an index from the bytes of [`Index::to_bytes`] (copied once into aligned memory).
    ///
    /// # Errors
    ///
    /// [`Error::Format`] as [`Index::load`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Index> {
        let source = "index bytes";
        if !bytes.len().is_multiple_of(8) {
            return Err(format_error(
                source,
                format!(
                    "{} bytes is not an index (its length is not a multiple of 8)",
                    bytes.len()
                ),
            ));
        }
        let mut words = vec![0u64; bytes.len() / 8];
        bytemuck::cast_slice_mut::<u64, u8>(&mut words).copy_from_slice(bytes);
        Index::from_words(words, source)
    }

    /// Validates a whole file held as words, and keeps the blocks in place.
    fn from_words(mut words: Vec<u64>, source: &str) -> Result<Index> {
        let fail = |message: String| format_error(source, message);
        if cfg!(target_endian = "big") {
            return Err(fail(
                "index files are little-endian; this machine is big-endian".into(),
            ));
        }
        let bytes: &[u8] = bytemuck::cast_slice(&words);
        if bytes.len() < FIXED_HEADER_V1 + 8 + 8 {
            return Err(fail(format!(
                "{} bytes is too short for an index",
                bytes.len()
            )));
        }
        if &bytes[..8] != MAGIC {
            return Err(fail("not a maxsim index (bad magic bytes)".into()));
        }
        let word = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap_or([0; 8]));
        let version = u32::from_le_bytes(bytes[8..12].try_into().unwrap_or([0; 4]));
        let fixed_header = match version {
            1 => FIXED_HEADER_V1,
            VERSION => FIXED_HEADER,
            _ => {
                return Err(fail(format!(
                    "format version {version}; this build reads versions 1 and {VERSION}"
                )))
            }
        };
        if bytes.len() < fixed_header + 8 + 8 {
            return Err(fail(format!(
                "{} bytes is too short for an index",
                bytes.len()
            )));
        }
        let code = u32::from_le_bytes(bytes[12..16].try_into().unwrap_or([0; 4]));
        let storage = u8::try_from(code)
            .ok()
            .and_then(Storage::from_code)
            .ok_or_else(|| fail(format!("unknown storage type code {code}")))?;
        let (dim, documents, total_rows, elements) = (word(16), word(24), word(32), word(40));
        let sketched = match (fixed_header > FIXED_HEADER_V1).then(|| word(48)) {
            None | Some(0) => false,
            Some(1) => true,
            Some(other) => return Err(fail(format!("unknown sketch code {other}"))),
        };
        if dim == 0 || dim > u64::from(u32::MAX) {
            return Err(fail(format!("dim {dim} is out of range")));
        }
        if documents > MAX_DOCUMENTS {
            return Err(fail(format!("{documents} documents is out of range")));
        }
        let (dim, documents) = (dim as usize, documents as usize);
        let header_len = documents
            .checked_mul(8)
            .and_then(|n| n.checked_add(fixed_header))
            .map(|n| n.next_multiple_of(64))
            .filter(|&n| n + 8 <= bytes.len())
            .ok_or_else(|| {
                fail(format!(
                    "{} bytes cannot hold the rows of {documents} documents",
                    bytes.len()
                ))
            })?;
        let rows: Vec<usize> = (0..documents)
            .map(|i| usize::try_from(word(fixed_header + 8 * i)).unwrap_or(usize::MAX))
            .collect();
        let starts = block_starts(&rows, dim)
            .map_err(|_| fail("the documents' rows overflow the address space".into()))?;
        let summed = rows.iter().try_fold(0usize, |sum, &r| sum.checked_add(r));
        if summed != usize::try_from(total_rows).ok() {
            return Err(fail(format!(
                "the documents' rows add up to {summed:?}, but the header says {total_rows}"
            )));
        }
        let total_rows = summed.unwrap_or(0);
        let stored = *starts.last().unwrap_or(&0);
        if usize::try_from(elements).ok() != Some(stored) {
            return Err(fail(format!(
                "the header says {elements} stored values; {documents} documents of dim {dim} need {stored}"
            )));
        }
        let overflow = || fail("the documents' sizes overflow the address space".into());
        let data_end = stored
            .checked_mul(storage.bytes())
            .map(|data| data.next_multiple_of(8))
            .and_then(|data| data.checked_add(header_len))
            .ok_or_else(overflow)?;
        // The sketch's sections, each a range of bytes (empty without a sketch).
        let mut sections = [data_end..data_end, data_end..data_end, data_end..data_end];
        if sketched {
            let codes = crate::sketch::code_starts(&rows, dim)
                .map(|starts| *starts.last().unwrap_or(&0))
                .ok_or_else(overflow)?;
            let mut at = data_end;
            for (section, len) in sections.iter_mut().zip([
                Some(codes),
                total_rows.checked_mul(4),
                documents.checked_mul(8),
            ]) {
                let len = len.ok_or_else(overflow)?;
                let end = at.checked_add(len).ok_or_else(overflow)?;
                *section = at..end;
                at = end.checked_next_multiple_of(8).ok_or_else(overflow)?;
            }
        }
        let body_end = sections[2].end.next_multiple_of(8);
        if body_end.checked_add(8) != Some(bytes.len()) {
            return Err(fail(format!(
                "{} bytes, but {documents} documents of these rows need {}: truncated or trailing data",
                bytes.len(),
                body_end.saturating_add(8)
            )));
        }
        if bytes[fixed_header + 8 * documents..header_len]
            .iter()
            .any(|&b| b != 0)
        {
            return Err(fail("the header's padding is not zero".into()));
        }
        let body = bytes.len() - 8;
        if checksum(&bytes[..body]) != word(body) {
            return Err(fail("checksum mismatch: the file is corrupted".into()));
        }
        let sketch = if sketched {
            let codes: Vec<i8> = bytemuck::cast_slice(&bytes[sections[0].clone()]).to_vec();
            let scales: Vec<f32> = bytemuck::try_cast_slice(&bytes[sections[1].clone()])
                .map_err(|_| fail("the sketch's scales are misaligned".into()))?
                .to_vec();
            let bounds: Vec<DocumentBound> =
                bytemuck::try_cast_slice::<u8, f32>(&bytes[sections[2].clone()])
                    .map_err(|_| fail("the sketch's bounds are misaligned".into()))?
                    .chunks_exact(2)
                    .map(|pair| DocumentBound {
                        error: pair[0],
                        sketched: pair[1],
                    })
                    .collect();
            Some(
                IndexSketch::from_parts(&rows, dim, codes, scales, bounds)
                    .map_err(|message| fail(format!("bad sketch: {message}")))?,
            )
        } else {
            None
        };
        // The blocks stay where the read put them: the header's words are skipped, and the
        // sketch's (copied out above) dropped.
        words.truncate(data_end / 8);
        words.shrink_to_fit();
        Ok(Index {
            storage,
            dim,
            rows,
            starts,
            data: words,
            skip: header_len / 8,
            sketch,
        })
    }
}

fn format_error(source: &str, message: String) -> Error {
    Error::Format {
        source: source.to_string(),
        message,
    }
}

/// A fast 64-bit checksum of bytes (8 at a time, multiply-xorshift mixing): it detects
/// corruption, not tampering.
fn checksum(bytes: &[u8]) -> u64 {
    let mut hasher = Checksum::new();
    hasher.update(bytes);
    hasher.finish()
}

/// [`checksum`] computed piece by piece. Pieces must be whole words, except the last.
struct Checksum {
    lanes: [u64; 4],
    words: u64,
    tail: Vec<u8>,
}

impl Checksum {
    const MULTIPLIER: u64 = 0x9E37_79B9_7F4A_7C15;

    fn new() -> Self {
        Checksum {
            lanes: [1, 2, 3, 4],
            words: 0,
            tail: Vec::new(),
        }
    }

    fn update(&mut self, bytes: &[u8]) {
        let mut bytes = bytes;
        if !self.tail.is_empty() {
            let need = 8 - self.tail.len();
            let take = need.min(bytes.len());
            self.tail.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.tail.len() == 8 {
                let word = u64::from_le_bytes(self.tail[..].try_into().unwrap_or([0; 8]));
                self.tail.clear();
                self.mix(word);
            }
        }
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.mix(u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8])));
        }
        self.tail.extend_from_slice(chunks.remainder());
    }

    #[inline]
    fn mix(&mut self, word: u64) {
        let lane = &mut self.lanes[(self.words % 4) as usize];
        *lane = (*lane ^ word)
            .wrapping_mul(Self::MULTIPLIER)
            .rotate_left(29);
        self.words += 1;
    }

    fn finish(mut self) -> u64 {
        let mut last = [0u8; 8];
        last[..self.tail.len()].copy_from_slice(&self.tail);
        let tail_len = self.tail.len() as u64;
        self.mix(u64::from_le_bytes(last) ^ (tail_len << 56));
        let mut hash = self.words;
        for lane in self.lanes {
            hash = (hash ^ lane).wrapping_mul(Self::MULTIPLIER);
            hash ^= hash >> 31;
        }
        hash
    }
}
