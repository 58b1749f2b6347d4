//! Standard output the way a Unix tool writes it: a reader that goes away (`maxsim score ... |
//! head`) ends the program quietly with exit status 0, instead of the panic `println!` gives,
//! and a line never tears the progress bar on standard error.

use std::fmt;
use std::io::{self, BufWriter, Stdout, Write};

use super::{progress, Failure};

/// `outln!(out, "format", args...)`: one line to an [`Out`]; `?` passes a closed standard
/// output up as [`Failure::Closed`].
macro_rules! outln {
    ($out:expr) => {
        $out.line(format_args!(""))
    };
    ($out:expr, $($arg:tt)*) => {
        $out.line(format_args!($($arg)*))
    };
}
pub(crate) use outln;

pub struct Out {
    writer: BufWriter<Stdout>,
    /// Flush after every line, so a report that comes out over seconds shows as it goes.
    eager: bool,
}

impl Out {
    /// For reports whose lines come out over time: each line is written at once.
    pub fn eager() -> Out {
        Out {
            writer: BufWriter::new(io::stdout()),
            eager: true,
        }
    }

    /// For listings of any length: written in large blocks. Call [`Out::finish`] at the end.
    pub fn buffered() -> Out {
        Out {
            writer: BufWriter::with_capacity(1 << 16, io::stdout()),
            eager: false,
        }
    }

    pub fn line(&mut self, line: fmt::Arguments<'_>) -> Result<(), Failure> {
        let Out { writer, eager } = self;
        progress::suspend(|| {
            writer.write_fmt(line)?;
            writer.write_all(b"\n")?;
            if *eager {
                writer.flush()?;
            }
            Ok(())
        })
        .map_err(output_failure)
    }

    /// Writes what is still buffered.
    pub fn finish(mut self) -> Result<(), Failure> {
        progress::suspend(|| self.writer.flush()).map_err(output_failure)
    }
}

/// One line to standard output, for code that cannot pass a [`Failure`] up: a closed standard
/// output ends the program here and now, quietly and with exit status 0; any other write error
/// ends it with the usual error line and exit status 1.
pub fn print_line_or_exit(line: fmt::Arguments<'_>) {
    let result = progress::suspend(|| writeln!(io::stdout().lock(), "{line}"));
    match result.map_err(output_failure) {
        Ok(()) => {}
        Err(failure) => {
            progress::clear();
            std::process::exit(i32::from(super::report(failure)));
        }
    }
}

/// A reader that stopped reading is no error: the program just stops.
fn output_failure(error: io::Error) -> Failure {
    if error.kind() == io::ErrorKind::BrokenPipe {
        Failure::Closed
    } else {
        Failure::Error(format!("cannot write to standard output: {error}").into())
    }
}
