//! The element types documents may be stored in.

use std::cell::RefCell;
use std::fmt;

use half::{bf16, f16};
use maxsim_kernels::index::{Element, Storage};

/// An element type of token matrices and indexes: `f32`, [`half::f16`] or [`half::bf16`].
///
/// f16 and bf16 values are widened to f32 exactly before any arithmetic, so a score over them
/// is the reference's score on the widened values. (Queries are always f32.)
pub trait Value: Element + bytemuck::Pod + fmt::Debug + PartialEq + Send + Sync {}

impl Value for f32 {}
impl Value for f16 {}
impl Value for bf16 {}

/// Runs `work` on `values` as f32: borrowed as they are for f32, widened exactly into this
/// thread's scratch buffer (reused from call to call, so no allocation once it has grown)
/// for f16 and bf16.
pub(crate) fn with_f32<T: Value, R>(values: &[T], work: impl FnOnce(&[f32]) -> R) -> R {
    if T::STORAGE == Storage::F32 {
        // `Value` is sealed: the only type stored as F32 is f32 itself.
        return work(bytemuck::cast_slice(values));
    }
    thread_local! {
        static SCRATCH: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
    }
    let mut widened = SCRATCH.with(RefCell::take);
    widened.clear();
    widened.extend(values.iter().map(|&x| x.to_f32()));
    let result = work(&widened);
    SCRATCH.with(|scratch| scratch.replace(widened));
    result
}
