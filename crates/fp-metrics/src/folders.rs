//! Scores any folder of processed prints against a folder of clean originals,
//! whatever made them: a restoration model, classical enhancement, or the
//! degraded prints themselves.
//!
//! The originals folder is a dataset root (its `dataset.toml` gives each
//! subset's resolution and the naming that says which prints are one finger's
//! impressions). A candidate belongs to the original whose path relative to
//! the originals folder, without extension, ends the candidate's relative path:
//! `noise/0.6/DB1_B/101_1.png` is a candidate for `DB1_B/101_1.tif`, in group
//! `noise/0.6`. Each group gets the pixel measures and the identity measures of
//! [`crate::identity`] (the same keys as `fpae evaluate --json`), with every
//! original as the matcher's gallery.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use fp_data::ImageSource;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::gallery::{Detector, GalleryError, TemplateCache, gallery_prints};
use crate::identity::{IdentitySummary, ImageIdentity, Probe, assess};
use crate::minutiae::Tolerance;
use crate::{GroupScore, Quality};

/// What can go wrong while scoring folders; every variant names the file or folder.
#[derive(Debug, thiserror::Error)]
pub enum FolderError {
    /// A folder could not be listed.
    #[error("cannot list {path}")]
    Io {
        /// The folder.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A folder holds no images.
    #[error("{path}: no images in this folder")]
    Empty {
        /// The folder.
        path: PathBuf,
    },
    /// A candidate has no original of its name.
    #[error(
        "{candidate}: no original under {originals} is named like it (expected a file whose path, without \
         extension, ends this one's, e.g. DB1_B/101_1.tif for noise/0.6/DB1_B/101_1.png){more}"
    )]
    NoOriginal {
        /// The candidate.
        candidate: PathBuf,
        /// The originals folder.
        originals: PathBuf,
        /// How many more candidates have none, when there are others.
        more: String,
    },
    /// A candidate's size differs from its original's.
    #[error("{candidate} is {}x{}, its original {original} is {}x{}", found.0, found.1, expected.0, expected.1)]
    SizeMismatch {
        /// The candidate.
        candidate: PathBuf,
        /// Its original.
        original: PathBuf,
        /// The candidate's width and height.
        found: (u32, u32),
        /// The original's.
        expected: (u32, u32),
    },
    /// An image could not be read or measured.
    #[error(transparent)]
    Gallery(#[from] GalleryError),
}

/// The scores of one candidate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CandidateScore {
    /// The candidate, relative to the candidates folder.
    pub file: String,
    /// Its original, relative to the originals folder.
    pub original: String,
    /// Its group: the folders above the original's path (`noise/0.6`), or `""`.
    pub group: String,
    /// The original's database (sensor).
    pub database: String,
    /// Pixel measures against the original (data range 1).
    #[serde(flatten)]
    pub quality: Quality,
    /// Minutiae and matcher scores.
    pub identity: ImageIdentity,
}

/// The scores of a folder of candidates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FolderScores {
    /// The originals folder.
    pub originals: PathBuf,
    /// The candidates folder.
    pub candidates: PathBuf,
    /// Over every candidate.
    pub all: GroupScore,
    /// Per group, by name (a single `""` group when the candidates mirror the originals).
    pub groups: BTreeMap<String, GroupScore>,
    /// Per database (sensor) of the originals, over every candidate of it.
    pub databases: BTreeMap<String, GroupScore>,
    /// Originals without any candidate (they still serve as the matcher's gallery).
    pub originals_without_candidate: usize,
    /// Every candidate, sorted by path.
    pub per_image: Vec<CandidateScore>,
}

/// Scores the images under `candidates` against their originals under
/// `originals`. `progress` hears the number of prints whose minutiae are to be
/// found, then each one done.
pub fn score_folders(
    originals: &Path,
    candidates: &Path,
    cache: Option<&TemplateCache>,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<FolderScores, FolderError> {
    score_folders_where(originals, candidates, &|_| true, cache, progress)
}

/// Like [`score_folders`], for the candidates whose relative path (`/`-separated)
/// `keep` accepts.
pub fn score_folders_where(
    originals: &Path,
    candidates: &Path,
    keep: &dyn Fn(&str) -> bool,
    cache: Option<&TemplateCache>,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<FolderScores, FolderError> {
    let sources = fp_data::discover(originals).map_err(GalleryError::from)?;
    if sources.is_empty() {
        return Err(FolderError::Empty { path: originals.to_owned() });
    }
    if !candidates.is_dir() {
        return Err(FolderError::Io {
            path: candidates.to_owned(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "not a folder"),
        });
    }
    let mut files = fp_data::list_images(candidates).map_err(GalleryError::from)?;
    files.retain(|f| keep(f));
    if files.is_empty() {
        return Err(FolderError::Empty { path: candidates.to_owned() });
    }
    let pairs = pair_up(&sources, &files, originals, candidates)?;
    progress(Progress::Total(sources.len() + pairs.len()));
    let done = || progress(Progress::Done);

    let detector = Detector::default();
    let gallery = gallery_prints(&sources, cache, &detector, &done)?;
    let measured: Vec<(Quality, Probe)> = pairs
        .par_iter()
        .map(|pair| {
            let source = &sources[pair.original];
            let path = candidates.join(&pair.file);
            let candidate = fp_data::decode_gray(&path).map_err(GalleryError::from)?;
            let original = fp_data::decode_gray(&source.path).map_err(GalleryError::from)?;
            if candidate.dimensions() != original.dimensions() {
                return Err(FolderError::SizeMismatch {
                    candidate: path,
                    original: source.path.clone(),
                    found: candidate.dimensions(),
                    expected: original.dimensions(),
                });
            }
            let (w, h) = original.dimensions();
            let unit = |pixels: &[u8]| pixels.iter().map(|&p| f32::from(p) / 255.0).collect::<Vec<f32>>();
            let quality = Quality::measure(&unit(original.as_raw()), &unit(candidate.as_raw()), w as usize, h as usize)
                .map_err(|e| GalleryError::Metrics { file: path.clone(), source: e })?;
            let candidate_source = ImageSource { path, ..source.clone() };
            let template = detector.detect(candidate.as_raw(), (w, h), &candidate_source, &done)?;
            let probe = Probe {
                original: pair.original,
                reconstruction: template,
                round_trip: gallery[pair.original].template.clone(),
            };
            Ok((quality, probe))
        })
        .collect::<Result<_, FolderError>>()?;
    detector.warn_too_small();
    let (qualities, probes): (Vec<Quality>, Vec<Probe>) = measured.into_iter().unzip();
    let report = assess(&gallery, &probes, Tolerance::default());
    let zero_fm = report.summary.zero_fm_threshold;

    let per_image: Vec<CandidateScore> = pairs
        .iter()
        .zip(&qualities)
        .zip(report.per_image)
        .map(|((pair, q), identity)| {
            let source = &sources[pair.original];
            CandidateScore {
                file: pair.file.clone(),
                original: source.relative.clone(),
                group: pair.group.clone(),
                database: source.database(),
                quality: *q,
                identity,
            }
        })
        .collect();
    let summarise = |members: &[usize]| -> GroupScore {
        let mut group = GroupScore::of(members.iter().map(|&k| &qualities[k])).expect("groups are not empty");
        group.identity = Some(IdentitySummary::of(members.iter().map(|&k| &per_image[k].identity), zero_fm));
        group
    };
    let mut members: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut databases: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (k, (pair, scored)) in pairs.iter().zip(&per_image).enumerate() {
        members.entry(pair.group.clone()).or_default().push(k);
        databases.entry(scored.database.clone()).or_default().push(k);
    }
    let all: Vec<usize> = (0..pairs.len()).collect();
    let used: std::collections::HashSet<usize> = pairs.iter().map(|p| p.original).collect();
    Ok(FolderScores {
        originals: originals.to_owned(),
        candidates: candidates.to_owned(),
        all: summarise(&all),
        groups: members.iter().map(|(name, m)| (name.clone(), summarise(m))).collect(),
        databases: databases.iter().map(|(name, m)| (name.clone(), summarise(m))).collect(),
        originals_without_candidate: sources.len() - used.len(),
        per_image,
    })
}

/// What [`score_folders`] reports as it goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// How many prints' minutiae will be found (originals and candidates).
    Total(usize),
    /// One more print done.
    Done,
}

/// A candidate and the original it is scored against.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pair {
    /// Relative to the candidates folder, `/`-separated.
    file: String,
    /// Index into the originals.
    original: usize,
    /// The folders above the original's relative path.
    group: String,
}

/// Matches each candidate (relative path) to the original whose relative path
/// without extension is the longest tail of the candidate's.
fn pair_up(
    sources: &[ImageSource],
    files: &[String],
    originals: &Path,
    candidates: &Path,
) -> Result<Vec<Pair>, FolderError> {
    let by_name: HashMap<String, usize> =
        sources.iter().enumerate().map(|(i, s)| (fp_data::without_extension(&s.relative).to_owned(), i)).collect();
    let mut pairs = Vec::with_capacity(files.len());
    let mut unmatched = Vec::new();
    for file in files {
        let name = fp_data::without_extension(file);
        let parts: Vec<&str> = name.split('/').collect();
        let found = (0..parts.len()).find_map(|k| {
            by_name.get(&parts[k..].join("/")).map(|&i| Pair {
                file: file.clone(),
                original: i,
                group: parts[..k].join("/"),
            })
        });
        match found {
            Some(pair) => pairs.push(pair),
            None => unmatched.push(file),
        }
    }
    if let Some(first) = unmatched.first() {
        let more = match unmatched.len() - 1 {
            0 => String::new(),
            n => format!("; {n} more candidates have no original either"),
        };
        return Err(FolderError::NoOriginal {
            candidate: candidates.join(first),
            originals: originals.to_owned(),
            more,
        });
    }
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(relative: &str) -> ImageSource {
        let manifest = fp_data::DatasetManifest::new("fvc2002");
        ImageSource::new(Path::new("/originals"), relative, &manifest)
    }

    #[test]
    fn candidates_pair_with_the_longest_matching_tail() {
        let sources = [source("DB1_B/101_1.tif"), source("DB1_B/101_2.tif"), source("DB2_B/101_1.tif")];
        let files: Vec<String> =
            ["DB1_B/101_2.png", "noise/0.6/DB1_B/101_1.png", "noise/0.6/DB2_B/101_1.png"].map(String::from).into();
        let pairs = pair_up(&sources, &files, Path::new("o"), Path::new("c")).unwrap();
        let got: Vec<(usize, &str)> = pairs.iter().map(|p| (p.original, p.group.as_str())).collect();
        assert_eq!(got, [(1, ""), (0, "noise/0.6"), (2, "noise/0.6")]);
    }

    #[test]
    fn a_candidate_without_original_is_named() {
        let sources = [source("DB1_B/101_1.tif")];
        let files: Vec<String> = ["DB1_B/101_1.png", "x/DB1_B/102_1.png", "y.png"].map(String::from).into();
        let err = pair_up(&sources, &files, Path::new("orig"), Path::new("cand")).unwrap_err().to_string();
        assert!(err.starts_with("cand/x/DB1_B/102_1.png: no original under orig"), "{err}");
        assert!(err.ends_with("1 more candidates have no original either"), "{err}");
    }
}
