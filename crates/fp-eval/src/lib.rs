//! What fpae does with a trained model once it exists: benchmarks of
//! restoration (their spec, the seeds of their damage, making them, and
//! evaluating a model on one), applying a model to image files, scoring folders
//! of processed prints, and the results as tables, figures and a report page.
//!
//! The `fpae` commands parse their flags and call this crate; it never prints.
//! Long jobs report through a [`Progress`] the caller chooses (fp-cli draws
//! bars with it; [`Silent`] shows nothing), and failures are [`EvalError`]s.

#![warn(missing_docs)]
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod apply;
pub mod benchmark;
pub mod environment;
mod error;
pub mod evaluate;
pub mod grid;
pub mod images;
pub mod plot;
mod progress;
pub mod report;
pub mod score;
pub mod tables;
pub mod templates;

pub use error::{EvalError, Result, error_chain};
pub use progress::{Bar, Progress, Silent};
