//! Fingerprint dataset discovery, decoding, preprocessing, caching and splits.
#![warn(missing_docs)]
