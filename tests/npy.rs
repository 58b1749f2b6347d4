//! The .npy reader on malformed and hostile input: a clear error, never a panic. These are
//! the regression tests of what the fuzzers found (this suite runs with overflow checks on).

mod common;

use common::{npy_bytes, npy_f32};
use maxsim::{npy, Error};

fn format_message(result: maxsim::Result<impl std::fmt::Debug>) -> String {
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
