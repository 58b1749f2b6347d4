//! The .npy reader on malformed and hostile input: a clear error, never a panic. These are
//! the regression tests of what the fuzzers found (this suite runs with overflow checks on).

mod common;

use common::{npy_bytes, npy_f32};
use maxsim::{npy, Error};

fn format_message<T: std::fmt::Debug>(result: maxsim::Result<T>) -> String {
    match result {
        Err(Error::Format { source, message }) => {
            assert_eq!(source, "input");
            message
        }
        other => panic!("expected a format error, got {other:?}"),
    }
}

#[test]
fn shapes_whose_size_overflows_are_errors_not_panics() {
    // Found by the `npy` fuzz target: npyz multiplied this shape unchecked and panicked.
    let huge = npy_bytes("<f4", &[1 << 40, 1 << 40], &[]);
    assert!(format_message(npy::read_f32(&huge[..], "input")).contains("does not fit"));
    // A zero dimension makes the count 0, but npyz's strides still multiply the others.
    let zero = npy_bytes("<f4", &[0, 1 << 40, 1 << 40], &[]);
    assert!(format_message(npy::read_f32(&zero[..], "input")).contains("does not fit"));
    let lengths = npy_bytes("<i8", &[usize::MAX], &[]);
    assert!(format_message(npy::read_lengths(&lengths[..], "input")).contains("truncated"));
}

#[test]
fn headers_are_bounded_and_checked() {
    let mut long = b"\x93NUMPY\x02\x00".to_vec();
    long.extend_from_slice(&u32::MAX.to_le_bytes());
    assert!(format_message(npy::read_f32(&long[..], "input")).contains("larger than"));
    assert!(format_message(npy::read_f32(&b"\x93NUMPY\x01"[..], "input")).contains("truncated"));
    assert!(format_message(npy::read_f32(&b"PK\x03\x04 zip"[..], "input")).contains("\\x93NUMPY"));
    let valid = npy_f32(&[2, 2], &[1.0, 2.0, 3.0, 4.0]);
    assert!(format_message(npy::read_f32(&valid[..40], "input")).contains("truncated"));
    let garbage_dict = {
        let mut bytes = valid.clone();
        bytes[10] = b'[';
        bytes
    };
    assert!(format_message(npy::read_f32(&garbage_dict[..], "input")).contains("not a valid"));
}

#[test]
fn valid_files_read_back() {
    let valid = npy_f32(&[2, 2], &[1.0, 2.0, 3.0, 4.0]);
    let array = npy::read_f32(&valid[..], "input").unwrap();
    assert_eq!(
        (array.shape, array.data),
        (vec![2, 2], vec![1.0, 2.0, 3.0, 4.0])
    );
    let big_endian = npy_bytes(">f4", &[2], &[0x3f, 0x80, 0, 0, 0x40, 0, 0, 0]);
    assert_eq!(
        npy::read_f32(&big_endian[..], "input").unwrap().data,
        vec![1.0, 2.0]
    );
    let lengths = npy_bytes("<i4", &[3], bytemuck::cast_slice(&[3i32, 0, 1]));
    assert_eq!(
        npy::read_lengths(&lengths[..], "input").unwrap(),
        vec![3, 0, 1]
    );
}

#[test]
fn blocks_of_empty_documents_are_bounded() {
    // Found by the `npy` fuzz target: a header declaring 2^40 documents of 0 rows holds no data
    // but asked for one range per document, and the run stalled allocating them.
    let empty_docs = npy_bytes("<f4", &[1 << 40, 0, 4], &[]);
    let array = npy::read_f32(&empty_docs[..], "input").unwrap();
    assert!(format_message(npy::corpus(array, None, "input")).contains("hold no data"));
    // A modest number of empty documents is fine: each scores -inf.
    let few = npy_bytes("<f4", &[3, 0, 4], &[]);
    let corpus = npy::corpus(npy::read_f32(&few[..], "input").unwrap(), None, "input").unwrap();
    assert_eq!(corpus.len(), 3);
}

#[test]
fn deeply_nested_headers_are_refused_before_parsing() {
    // Found by the `npy` fuzz target: npyz's parser takes time exponential in bracket
    // nesting, so this 100-byte header stalled the reader for minutes.
    let mut header = b"{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), ".to_vec();
    header.extend(std::iter::repeat_n(b'{', 40));
    header.push(b'}');
    while !(10 + header.len() + 1).is_multiple_of(64) {
        header.push(b' ');
    }
    header.push(b'\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(&header);
    bytes.extend_from_slice(&[0; 16]);
    let started = std::time::Instant::now();
    assert!(format_message(npy::read_f32(&bytes[..], "input")).contains("nests brackets"));
    assert!(started.elapsed().as_secs() < 5);
}

#[test]
fn shapes_must_be_plain_whole_numbers_in_every_shape_key() {
    // Found by the `npy` fuzz target in CI: npyz evaluates `5+16099127776` in a shape, which
    // slipped past a check that only read plain numbers, and then overflowed.
    let header = |dict: &str| {
        let mut text = dict.to_string();
        while !(10 + text.len() + 1).is_multiple_of(64) {
            text.push(' ');
        }
        text.push('\n');
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        bytes.extend_from_slice(&(text.len() as u16).to_le_bytes());
        bytes.extend_from_slice(text.as_bytes());
        bytes
    };
    let sum = header(
        "{'descr': '<f4', 'fortran_order': False, 'shape': (5+16099127776, 1099511627776), }",
    );
    assert!(format_message(npy::read_f32(&sum[..], "input")).contains("whole numbers"));
    // A duplicate key: npyz keeps the last one, so the last one is checked too.
    let duplicate = header("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'shape': (1099511627776, 1099511627776), }");
    assert!(format_message(npy::read_f32(&duplicate[..], "input")).contains("does not fit"));
    let list = header("{'descr': '<f4', 'fortran_order': False, 'shape': [2, 2], }");
    assert!(format_message(npy::read_f32(&list[..], "input")).contains("not a tuple"));
}

#[test]
fn float16_arrays_widen_exactly_with_the_same_checks() {
    use half::f16;
    // Every float16 bit pattern (under Miri, every 251st), in both byte orders: each widens to
    // its exact f32 value.
    let step = if cfg!(miri) { 251 } else { 1 };
    let all: Vec<f16> = (0..=u16::MAX).step_by(step).map(f16::from_bits).collect();
    for (descr, little) in [("<f2", true), (">f2", false)] {
        let bytes: Vec<u8> = all
            .iter()
            .flat_map(|v| {
                if little {
                    v.to_bits().to_le_bytes()
                } else {
                    v.to_bits().to_be_bytes()
                }
            })
            .collect();
        let file = npy_bytes(descr, &[all.len()], &bytes);
        for array in [
            npy::read_f16(&file[..], "input").unwrap(),
            npy::read_floats(&file[..], "input").unwrap(),
        ] {
            assert_eq!(array.shape, vec![all.len()]);
            for (got, half) in array.data.iter().zip(&all) {
                let want = half.to_f32();
                assert!(
                    got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan()),
                    "{half:?}: {got:?} vs {want:?}"
                );
                if !half.is_nan() {
                    assert_eq!(f16::from_f32(*got).to_bits(), half.to_bits());
                }
            }
        }
        // Each reader takes only its own types.
        assert!(format_message(npy::read_f32(&file[..], "input")).contains("is not float32"));
        // The same hardening as float32: truncation, trailing bytes, huge shapes.
        assert!(
            format_message(npy::read_floats(&file[..file.len() - 1], "input"))
                .contains("truncated")
        );
        let mut long = file.clone();
        long.push(0);
        assert!(
            format_message(npy::read_f16(&long[..], "input")).contains("1 bytes of data follow")
        );
    }
    let f32_file = npy_f32(&[2], &[1.0, -2.5]);
    assert_eq!(
        npy::read_floats(&f32_file[..], "input").unwrap().data,
        [1.0, -2.5]
    );
    assert!(format_message(npy::read_f16(&f32_file[..], "input")).contains("is not float16"));
    let f64_file = npy_bytes("<f8", &[1], &[0; 8]);
    assert!(format_message(npy::read_floats(&f64_file[..], "input"))
        .contains("is not float32 or float16"));
    let huge = npy_bytes("<f2", &[1 << 40, 1 << 40], &[]);
    assert!(format_message(npy::read_floats(&huge[..], "input")).contains("does not fit"));
}
