//! Progress on standard error for work that takes seconds. indicatif draws the bar only when
//! standard error is a terminal (and `TERM` is not `dumb`); otherwise nothing extra is printed.
//! Lines written through [`crate::out`] hide the bar while they are written, so the two never
//! tear each other on a terminal.

use std::borrow::Cow;
use std::sync::{Mutex, MutexGuard, PoisonError};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// The bar on screen, if any, for [`suspend`].
static SHOWN: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// A progress bar on standard error, cleared when dropped.
pub struct Progress(ProgressBar);

impl Progress {
    /// A bar for `steps` steps, labelled `message`.
    pub fn new(steps: u64, message: impl Into<Cow<'static, str>>) -> Progress {
        let bar = ProgressBar::with_draw_target(Some(steps), ProgressDrawTarget::stderr());
        if !bar.is_hidden() {
            // No steady tick: a thread redrawing the bar would disturb what bench measures.
            // The bar is redrawn as steps complete and as its message changes.
            let style = ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({elapsed})")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ");
            bar.set_style(style);
            bar.set_message(message);
            *shown() = Some(bar.clone());
        }
        Progress(bar)
    }

    pub fn inc(&self, steps: u64) {
        self.0.inc(steps);
    }

    pub fn set_message(&self, message: impl Into<Cow<'static, str>>) {
        self.0.set_message(message);
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.0.finish_and_clear();
        shown().take();
    }
}

/// Runs `write` with the bar on screen (if any) hidden, then draws it again below.
pub fn suspend<R>(write: impl FnOnce() -> R) -> R {
    let bar = shown().clone();
    match bar {
        Some(bar) => bar.suspend(write),
        None => write(),
    }
}

/// Takes the bar on screen (if any) off, for a program that is about to exit.
pub fn clear() {
    if let Some(bar) = shown().take() {
        bar.finish_and_clear();
    }
}

fn shown() -> MutexGuard<'static, Option<ProgressBar>> {
    SHOWN.lock().unwrap_or_else(PoisonError::into_inner)
}
