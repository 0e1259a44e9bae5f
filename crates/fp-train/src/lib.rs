//! Training loop, configuration, run directories and history.
#![warn(missing_docs)]
