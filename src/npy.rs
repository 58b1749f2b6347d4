//! Reading NumPy `.npy` files of token embeddings and document lengths.
//!
//! The header is parsed by the `npyz` crate; the data is read straight into an aligned
//! `Vec<f32>` (or integer vector) in one pass, with no per-element decoding, and checked for
//! truncation and trailing bytes. Only C-order arrays are accepted. `float16` arrays are read
//! the same way and widened to f32 exactly.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

use bytemuck::Pod;
use half::f16;
use half::slice::HalfFloatSliceExt;
use npyz::{DType, NpyHeader, Order};

use crate::{Corpus, Error, Result};

/// An `f32` array read from a `.npy` file: its shape and its values in C order.
#[derive(Clone, Debug, PartialEq)]
pub struct NpyF32 {
    /// The array's shape.
    pub shape: Vec<usize>,
    /// The values, last axis fastest.
    pub data: Vec<f32>,
}

/// Reads a C-order `float32` array (`<f4` or `>f4`).
///
/// # Errors
///
/// [`Error::Format`] naming `source` if the bytes are not such an array, are truncated, or have
/// bytes after the array; [`Error::Io`] if reading fails.
pub fn read_f32(reader: impl Read, source: &str) -> Result<NpyF32> {
    read_float(reader, source, &[Float::F32])
}

/// Reads a C-order `float16` array (`<f2` or `>f2`), every value widened to f32 exactly
/// (infinities, NaNs and subnormals included), so storing the result as f16 again gives back
/// the same values.
///
/// # Errors
///
/// As [`read_f32`].
pub fn read_f16(reader: impl Read, source: &str) -> Result<NpyF32> {
    read_float(reader, source, &[Float::F16])
}

/// Reads a C-order `float32` or `float16` array (either byte order); `float16` values are
/// widened to f32 exactly, as by [`read_f16`].
///
/// # Errors
///
/// As [`read_f32`].
pub fn read_floats(reader: impl Read, source: &str) -> Result<NpyF32> {
    read_float(reader, source, &[Float::F32, Float::F16])
}

/// A floating-point element type of a `.npy` file.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Float {
    F32,
    F16,
}

impl Float {
    /// The type and whether its bytes must be swapped on this machine, for a dtype `descr`.
    fn of_descr(descr: &str) -> Option<(Float, bool)> {
        let float = match descr.get(1..) {
            Some("f4") => Float::F32,
            Some("f2") => Float::F16,
            _ => return None,
        };
        let swap = match descr.as_bytes().first() {
            Some(b'<') => cfg!(target_endian = "big"),
            Some(b'>') => cfg!(target_endian = "little"),
            _ => return None,
        };
        Some((float, swap))
    }

    fn name(self) -> &'static str {
        match self {
            Float::F32 => "float32",
            Float::F16 => "float16",
        }
    }
}

/// Reads a C-order array of one of the `accepted` float types, as f32.
fn read_float(reader: impl Read, source: &str, accepted: &[Float]) -> Result<NpyF32> {
    let mut reader = reader;
    let (shape, descr) = read_header(&mut reader, source)?;
    let Some((float, swap)) = Float::of_descr(&descr).filter(|(float, _)| accepted.contains(float))
    else {
        let names: Vec<&str> = accepted.iter().map(|float| float.name()).collect();
        let hint = if accepted == [Float::F16] {
            "np.float16"
        } else {
            "np.float32"
        };
        return Err(format_error(
            source,
            format!(
                "dtype {descr} is not {}; save with .astype({hint})",
                names.join(" or ")
            ),
        ));
    };
    let count = element_count(&shape, source)?;
    let data = match float {
        Float::F32 => {
            let mut data: Vec<f32> = read_elements(&mut reader, count, source)?;
            if swap {
                data.iter_mut()
                    .for_each(|x| *x = f32::from_bits(x.to_bits().swap_bytes()));
            }
            data
        }
        Float::F16 => {
            let mut raw: Vec<f16> = read_elements(&mut reader, count, source)?;
            if swap {
                raw.iter_mut()
                    .for_each(|x| *x = f16::from_bits(x.to_bits().swap_bytes()));
            }
            let mut data = vec![0.0f32; raw.len()];
            raw.convert_to_f32_slice(&mut data);
            data
        }
    };
    Ok(NpyF32 { shape, data })
}

/// Reads a 1-D array of document lengths: `int32` or `int64`, each at least 0.
///
/// # Errors
///
/// [`Error::Format`] if the array is not 1-D, not such an integer type, holds a negative
/// length, or is malformed as for [`read_f32`]; [`Error::Io`] if reading fails.
pub fn read_lengths(reader: impl Read, source: &str) -> Result<Vec<usize>> {
    let mut reader = reader;
    let (shape, descr) = read_header(&mut reader, source)?;
    if shape.len() != 1 {
        return Err(format_error(
            source,
            format!("lengths must be 1-D, got shape {shape:?}"),
        ));
    }
    let count = shape[0];
    let swap = |little: bool| little != cfg!(target_endian = "little");
    let values: Vec<i64> = match descr.as_str() {
        "<i4" | ">i4" => {
            let swap = swap(descr.starts_with('<'));
            let raw: Vec<i32> = read_elements(&mut reader, count, source)?;
            raw.into_iter()
                .map(|v| i64::from(if swap { v.swap_bytes() } else { v }))
                .collect()
        }
        "<i8" | ">i8" => {
            let swap = swap(descr.starts_with('<'));
            let raw: Vec<i64> = read_elements(&mut reader, count, source)?;
            raw.into_iter()
                .map(|v| if swap { v.swap_bytes() } else { v })
                .collect()
        }
        other => {
            return Err(format_error(
                source,
                format!("dtype {other} is not int32 or int64"),
            ))
        }
    };
    values
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            usize::try_from(v).map_err(|_| {
                format_error(source, format!("length {i} is {v}; lengths must be >= 0"))
            })
        })
        .collect()
}

/// [`read_f32`] on a file.
///
/// # Errors
///
/// As [`read_f32`], and [`Error::Io`] if the file cannot be opened.
pub fn read_f32_file(path: &Path) -> Result<NpyF32> {
    read_f32(open(path)?, &path.display().to_string())
}

/// [`read_floats`] on a file.
///
/// # Errors
///
/// As [`read_floats`], and [`Error::Io`] if the file cannot be opened.
pub fn read_floats_file(path: &Path) -> Result<NpyF32> {
    read_floats(open(path)?, &path.display().to_string())
}

/// [`read_lengths`] on a file.
///
/// # Errors
///
/// As [`read_lengths`], and [`Error::Io`] if the file cannot be opened.
pub fn read_lengths_file(path: &Path) -> Result<Vec<usize>> {
    read_lengths(open(path)?, &path.display().to_string())
}

/// Most documents accepted from a `.npy` block that holds no data (`(n, 0, dim)` or
/// `(n, rows, 0)`): such a header costs a few bytes but one range per document in memory.
pub const MAX_EMPTY_DOCUMENTS: usize = 1 << 24;

/// Makes a corpus of an array of document tokens read from a `.npy` file:
///
/// - `(total_rows, dim)` with `lengths`: consecutive documents of those lengths, which must add
///   up to `total_rows` ([`Corpus::from_lengths`]);
/// - `(num_docs, rows, dim)`, padded: document `i` is its first `lengths[i]` rows (all `rows`
///   without `lengths`); padding rows are never scored ([`Corpus::from_padded_lengths`]).
///
/// # Errors
///
/// [`Error::Format`] naming `source` when the shape, the lengths and the data disagree.
pub fn corpus(docs: NpyF32, lengths: Option<&[usize]>, source: &str) -> Result<Corpus<'static>> {
    let in_source = |error: Error| match error {
        Error::CorpusLayout { message } => format_error(source, message),
        Error::ZeroDim => format_error(source, "token dim must be at least 1".into()),
        other => format_error(source, other.to_string()),
    };
    if element_count(&docs.shape, source)? != docs.data.len() {
        return Err(format_error(
            source,
            format!(
                "shape {:?} does not match {} values",
                docs.shape,
                docs.data.len()
            ),
        ));
    }
    match (docs.shape.as_slice(), lengths) {
        (&[_, dim], Some(lengths)) => {
            Corpus::from_lengths(docs.data, dim, lengths).map_err(in_source)
        }
        (&[_, _], None) => Err(format_error(
            source,
            "a 2-D (total_rows, dim) array needs --lengths to split it into documents".into(),
        )),
        (&[num_docs, padded, _], None)
            if docs.data.is_empty() && num_docs > MAX_EMPTY_DOCUMENTS =>
        {
            Err(format_error(
                source,
                format!(
                    "{num_docs} documents of {padded} rows hold no data; more than {MAX_EMPTY_DOCUMENTS} such documents are refused"
                ),
            ))
        }
        (&[num_docs, padded, dim], None) => {
            Corpus::from_padded(docs.data, (num_docs, padded, dim)).map_err(in_source)
        }
        (&[num_docs, padded, dim], Some(lengths)) => {
            Corpus::from_padded_lengths(docs.data, (num_docs, padded, dim), lengths)
                .map_err(in_source)
        }
        (shape, _) => Err(format_error(
            source,
            format!(
                "documents must be 2-D (total_rows, dim) or 3-D (num_docs, rows, dim), got shape {shape:?}"
            ),
        )),
    }
}

fn open(path: &Path) -> Result<BufReader<File>> {
    File::open(path).map(BufReader::new).map_err(|e| Error::Io {
        source: path.display().to_string(),
        message: e.to_string(),
    })
}

fn format_error(source: &str, message: String) -> Error {
    Error::Format {
        source: source.to_string(),
        message,
    }
}

/// Largest header accepted. NumPy writes well under 1 KiB for the plain arrays read here; the
/// cap keeps a hostile length field from costing memory or parse time.
const MAX_HEADER_BYTES: usize = 1 << 14;

fn read_header(reader: &mut impl Read, source: &str) -> Result<(Vec<usize>, String)> {
    let raw = read_raw_header(reader, source)?;
    check_nesting(&raw, source)?;
    check_shape_product(&raw, source)?;
    let header = NpyHeader::from_reader(raw.as_slice()).map_err(|e| {
        let message = match e.kind() {
            io::ErrorKind::UnexpectedEof => "truncated .npy header".to_string(),
            // npyz quotes the whole header in its message: keep the first line, bounded.
            io::ErrorKind::InvalidData => {
                let text = e.to_string();
                let first_line: String = text
                    .lines()
                    .next()
                    .unwrap_or("")
                    .chars()
                    .take(200)
                    .collect();
                format!("not a valid .npy file: {}", first_line.trim_end())
            }
            _ => e.to_string(),
        };
        format_error(source, message)
    })?;
    if header.order() != Order::C {
        return Err(format_error(
            source,
            "Fortran-order arrays are not supported; save with np.ascontiguousarray".into(),
        ));
    }
    let descr = match header.dtype() {
        DType::Plain(ty) => ty.to_string(),
        other => {
            return Err(format_error(
                source,
                format!("dtype {} is not a plain number type", other.descr()),
            ))
        }
    };
    let shape = header
        .shape()
        .iter()
        .map(|&n| usize::try_from(n))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| format_error(source, "shape does not fit in memory".into()))?;
    Ok((shape, descr))
}

/// The magic, version, length field and header text, read and bounded before `npyz` sees
/// them.
fn read_raw_header(reader: &mut impl Read, source: &str) -> Result<Vec<u8>> {
    let truncated = |e: io::Error| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            format_error(source, "truncated .npy header".into())
        } else {
            Error::Io {
                source: source.to_string(),
                message: e.to_string(),
            }
        }
    };
    let mut raw = vec![0u8; 8];
    reader.read_exact(&mut raw).map_err(truncated)?;
    if &raw[..6] != b"\x93NUMPY" {
        return Err(format_error(
            source,
            "not a valid .npy file: it does not start with \\x93NUMPY".into(),
        ));
    }
    let length_bytes = if raw[6] == 1 { 2 } else { 4 };
    let mut length = [0u8; 4];
    reader
        .read_exact(&mut length[..length_bytes])
        .map_err(truncated)?;
    raw.extend_from_slice(&length[..length_bytes]);
    let length = u32::from_le_bytes(length) as usize;
    if length > MAX_HEADER_BYTES {
        return Err(format_error(
            source,
            format!("header of {length} bytes is larger than the {MAX_HEADER_BYTES} accepted"),
        ));
    }
    let start = raw.len();
    raw.resize(start + length, 0);
    reader.read_exact(&mut raw[start..]).map_err(truncated)?;
    Ok(raw)
}

/// Deepest bracket nesting accepted in a header: a plain array's header nests 2 deep (the
/// dict and the shape tuple), a structured dtype's about 4.
const MAX_HEADER_NESTING: usize = 6;

/// Rejects headers nested deeper than [`MAX_HEADER_NESTING`]: `npyz`'s header parser takes
/// time exponential in the nesting depth (about 2.7 times longer per level: 20 s at 14 levels
/// on this project's machine), so a 100-byte file could stall a reader.
fn check_nesting(raw: &[u8], source: &str) -> Result<()> {
    let mut depth = 0usize;
    for &byte in raw {
        match byte {
            b'(' | b'[' | b'{' => {
                depth += 1;
                if depth > MAX_HEADER_NESTING {
                    return Err(format_error(
                        source,
                        format!("header nests brackets more than {MAX_HEADER_NESTING} deep"),
                    ));
                }
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// Rejects a shape whose nonzero dimensions multiply past 64 bits: `npyz` multiplies them
/// unchecked, for the element count and for every stride (a panic in builds with overflow
/// checks, even when another dimension is zero). Only the numbers of the `shape` tuple are
/// read here; `npyz` parses and validates the header itself.
fn check_shape_product(raw: &[u8], source: &str) -> Result<()> {
    let text = String::from_utf8_lossy(raw);
    let bad_shape = |what: &str| format_error(source, format!("shape {what}"));
    // Every `shape` key: npyz keeps the last of duplicate keys, so all of them are checked.
    for key in ["'shape'", "\"shape\""] {
        for (at, _) in text.match_indices(key) {
            let Some(value) = text[at + key.len()..].trim_start().strip_prefix(':') else {
                continue; // the word inside some other string, not a key
            };
            let Some(tuple) = value
                .trim_start()
                .strip_prefix('(')
                .and_then(|rest| rest.split_once(')'))
                .map(|(tuple, _)| tuple)
            else {
                return Err(bad_shape("is not a tuple"));
            };
            let mut count = 1u64;
            for dim in tuple.split(',').map(str::trim).filter(|d| !d.is_empty()) {
                // NumPy writes plain integers; npyz would also evaluate sums such as `5+1`.
                let dim = dim
                    .strip_suffix('L')
                    .unwrap_or(dim)
                    .parse::<u64>()
                    .map_err(|_| {
                        bad_shape(&format!("({tuple}) is not a tuple of whole numbers"))
                    })?;
                count = count
                    .checked_mul(dim.max(1))
                    .ok_or_else(|| bad_shape(&format!("({tuple}) does not fit in memory")))?;
            }
        }
    }
    Ok(())
}

fn element_count(shape: &[usize], source: &str) -> Result<usize> {
    shape
        .iter()
        .try_fold(1usize, |count, &n| count.checked_mul(n))
        .ok_or_else(|| format_error(source, format!("shape {shape:?} does not fit in memory")))
}

/// Reads exactly `count` elements, then insists the input ends.
///
/// The buffer grows as data arrives, so a header that claims more data than the input holds
/// costs no more memory than the input.
fn read_elements<T: Pod>(reader: &mut impl Read, count: usize, source: &str) -> Result<Vec<T>> {
    const CHUNK_BYTES: usize = 1 << 22;
    let size = std::mem::size_of::<T>();
    let chunk = (CHUNK_BYTES / size).max(1);
    let mut data: Vec<T> = Vec::new();
    while data.len() < count {
        let start = data.len();
        let end = start + chunk.min(count - start);
        data.resize(end, T::zeroed());
        let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut data[start..]);
        if let Err(e) = reader.read_exact(bytes) {
            return Err(if e.kind() == io::ErrorKind::UnexpectedEof {
                format_error(
                    source,
                    format!(
                        "truncated: the header declares {count} values ({} bytes) but the data ends before value {end}",
                        count.saturating_mul(size)
                    ),
                )
            } else {
                Error::Io {
                    source: source.to_string(),
                    message: e.to_string(),
                }
            });
        }
    }
    let mut extra = [0u8; 1];
    match reader.read(&mut extra) {
        Ok(0) => Ok(data),
        Ok(_) => Err(format_error(
            source,
            format!(
                "{} bytes of data follow the {count} values the header declares",
                { 1 + io::copy(reader, &mut io::sink()).unwrap_or(0) }
            ),
        )),
        Err(e) => Err(Error::Io {
            source: source.to_string(),
            message: e.to_string(),
        }),
    }
}
