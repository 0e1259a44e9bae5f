//! `cargo xtask fetch-data [fvc2002|fvc2000]`: download, verify and install the
//! FVC2002 or FVC2000 B sets.
//!
//! Every image is checked against the SHA-256 manifest committed in
//! `data/<dataset>.sha256`. Everything is extracted into a staging directory beside
//! the destination, verified there, and renamed into place only when all of it
//! verified, so a failed run never damages a good copy.

mod import;

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};

use crate::project_root;
use import::is_image_name;
pub use import::{DESCRIPTION_FILE, Manifest};

/// The four free B sets of each competition.
pub const DATABASES: [&str; 4] = ["DB1_B", "DB2_B", "DB3_B", "DB4_B"];

/// The datasets `fetch-data` knows: each has a committed SHA-256 manifest
/// (`data/<name>.sha256`) and description (`data/<name>.dataset.toml`), and is
/// installed into `data/<name>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Dataset {
    /// FVC2002 B sets (the tutorial's data; 388x374, 296x560, 300x300, 288x384).
    Fvc2002,
    /// FVC2000 B sets (300x300, 256x364, 448x478, 240x320; all about 500 ppi).
    Fvc2000,
}

impl Dataset {
    /// The folder and file-name stem: `fvc2002`, `fvc2000`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Fvc2002 => "fvc2002",
            Self::Fvc2000 => "fvc2000",
        }
    }

    /// The competition's download directory (`<URL>/DB1_B.zip` ...).
    pub fn official_url(self) -> &'static str {
        match self {
            Self::Fvc2002 => "http://bias.csr.unibo.it/fvc2002/Downloads",
            Self::Fvc2000 => "http://bias.csr.unibo.it/fvc2000/Downloads",
        }
    }

    /// Where the dataset is installed: `<repo>/data/<name>`.
    pub fn data_dir(self) -> PathBuf {
        project_root().join("data").join(self.name())
    }

    /// The committed SHA-256 manifest of its images.
    pub fn manifest(self) -> PathBuf {
        project_root().join("data").join(format!("{}.sha256", self.name()))
    }

    /// The committed description (name, sensors, resolutions).
    pub fn description(self) -> PathBuf {
        project_root().join("data").join(format!("{}.dataset.toml", self.name()))
    }
}

#[derive(Debug, clap::Args)]
pub struct FetchArgs {
    /// Which dataset to install into data/<DATASET>.
    #[arg(value_enum, default_value = "fvc2002")]
    dataset: Dataset,
    /// Import from a local folder instead of downloading: either a folder laid out
    /// like `DB1_B/*.tif ... DB4_B/*.tif` or a folder holding `DB1_B.zip ... DB4_B.zip`.
    #[arg(long, value_name = "PATH")]
    from: Option<PathBuf>,
    /// Fetch again even if the installed copy already verifies.
    #[arg(long)]
    force: bool,
    /// Base URL of the archives (`<URL>/DB1_B.zip` ...) [default: the competition's site].
    #[arg(long, value_name = "URL", hide = true)]
    url: Option<String>,
}

impl FetchArgs {
    /// Fetch arguments for a plain fetch of `dataset`, optionally from a local folder.
    pub fn new(dataset: Dataset, from: Option<PathBuf>) -> Self {
        Self { dataset, from, force: false, url: None }
    }
}

/// What to fetch, from where, into where.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// Final directory, e.g. `data/fvc2002`.
    pub dest: PathBuf,
    /// SHA-256 manifest: `<hex>  DBn_B/<file>` lines.
    pub manifest: PathBuf,
    /// The dataset's description (name, each subset's resolution), installed
    /// into the destination as `dataset.toml`.
    pub description: Option<PathBuf>,
    /// Local source instead of the network.
    pub from: Option<PathBuf>,
    /// Base URL of `DBn_B.zip`.
    pub url: String,
    /// Database names to fetch (one archive each).
    pub databases: Vec<String>,
    /// Re-fetch even when the destination verifies.
    pub force: bool,
    /// Network attempts per archive (transient failures only).
    pub attempts: u32,
    /// Connect and read timeout.
    pub timeout: Duration,
}

/// What a successful fetch did.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The destination already verified; nothing was touched.
    UpToDate,
    /// The destination was (re)installed with this many verified files.
    Installed(usize),
}

pub fn run(args: &FetchArgs) -> Result<()> {
    let dataset = args.dataset;
    let options = FetchOptions {
        dest: dataset.data_dir(),
        manifest: dataset.manifest(),
        description: Some(dataset.description()),
        from: args.from.clone(),
        url: args.url.clone().unwrap_or_else(|| dataset.official_url().to_owned()),
        databases: DATABASES.iter().map(|s| s.to_string()).collect(),
        force: args.force,
        attempts: 3,
        timeout: Duration::from_secs(30),
    };
    match fetch(&options)? {
        Outcome::UpToDate => println!("{} is up to date (all files verified)", options.dest.display()),
        Outcome::Installed(n) => println!("{n} images verified and installed in {}", options.dest.display()),
    }
    Ok(())
}

/// Fetches, verifies and installs the data set described by `options`.
pub fn fetch(options: &FetchOptions) -> Result<Outcome> {
    let manifest = Manifest::read(&options.manifest)?;
    recover_interrupted(&options.dest)?;
    if !options.force && options.dest.is_dir() && manifest.verify_dir(&options.dest).is_ok() {
        // The images are right; the description may be missing or older.
        install_description(options, &options.dest)?;
        return Ok(Outcome::UpToDate);
    }
    let parent = options.dest.parent().context("destination has no parent")?;
    fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
    let name = options.dest.file_name().context("destination has no name")?.to_string_lossy();
    let staging = parent.join(format!(".{name}.partial-{}", std::process::id()));
    let _ = fs::remove_dir_all(&staging);
    fs::create_dir_all(&staging)?;
    let result = fill_staging(options, &staging)
        .and_then(|()| manifest.verify_dir(&staging))
        .and_then(|()| install_description(options, &staging));
    if let Err(err) = result {
        let _ = fs::remove_dir_all(&staging);
        return Err(err);
    }
    replace_dir(&staging, &options.dest)?;
    Ok(Outcome::Installed(manifest.entries.len()))
}

/// Copies the dataset's description into `dir` as `dataset.toml` when it is
/// missing or differs, through a temporary file and a rename.
fn install_description(options: &FetchOptions, dir: &Path) -> Result<()> {
    let Some(source) = &options.description else { return Ok(()) };
    let text = fs::read(source).with_context(|| format!("cannot read {}", source.display()))?;
    let dest = dir.join(DESCRIPTION_FILE);
    if fs::read(&dest).is_ok_and(|old| old == text) {
        return Ok(());
    }
    let tmp = dir.join(format!(".{DESCRIPTION_FILE}.tmp-{}", std::process::id()));
    fs::write(&tmp, &text).and_then(|()| fs::rename(&tmp, &dest)).with_context(|| {
        let _ = fs::remove_file(&tmp);
        format!("cannot write {}", dest.display())
    })
}

fn fill_staging(options: &FetchOptions, staging: &Path) -> Result<()> {
    match &options.from {
        Some(from) => import_local(from, &options.databases, staging),
        None => {
            let agent = http_agent(options.timeout);
            for db in &options.databases {
                let url = format!("{}/{db}.zip", options.url.trim_end_matches('/'));
                let zip_path = staging.join(format!(".{db}.zip"));
                download(&agent, &url, &zip_path, options.attempts)?;
                extract_images(&zip_path, &staging.join(db))?;
                fs::remove_file(&zip_path)?;
            }
            Ok(())
        }
    }
}

/// Copies `DBn_B/*` folders, or extracts `DBn_B.zip` archives, from a local folder.
fn import_local(from: &Path, databases: &[String], staging: &Path) -> Result<()> {
    if !from.is_dir() {
        bail!("--from {}: not a folder", from.display());
    }
    for db in databases {
        let folder = from.join(db);
        let archive = from.join(format!("{db}.zip"));
        if folder.is_dir() {
            let target = staging.join(db);
            fs::create_dir_all(&target)?;
            for entry in fs::read_dir(&folder).with_context(|| format!("cannot read {}", folder.display()))? {
                let entry = entry?;
                if entry.file_type()?.is_file() && is_image_name(&entry.file_name().to_string_lossy()) {
                    fs::copy(entry.path(), target.join(entry.file_name()))
                        .with_context(|| format!("cannot copy {}", entry.path().display()))?;
                }
            }
        } else if archive.is_file() {
            extract_images(&archive, &staging.join(db))?;
        } else {
            bail!(
                "--from {}: neither {db}/ nor {db}.zip found there; expected a folder laid out like \
                 DB1_B/*.tif ... DB4_B/*.tif or one holding DB1_B.zip ... DB4_B.zip",
                from.display()
            );
        }
    }
    Ok(())
}

fn http_agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_connect(Some(timeout))
        .timeout_recv_response(Some(timeout))
        .timeout_recv_body(Some(timeout * 20))
        .http_status_as_error(false)
        .build()
        .into()
}

/// Downloads `url` to `dest` with retries on transient failures (connection
/// problems, timeouts, HTTP 5xx); HTTP 4xx fails at once.
fn download(agent: &ureq::Agent, url: &str, dest: &Path, attempts: u32) -> Result<()> {
    let mut last_error = None;
    for attempt in 1..=attempts.max(1) {
        if attempt > 1 {
            std::thread::sleep(Duration::from_secs(2u64.pow(attempt - 1)));
            eprintln!("retrying {url} (attempt {attempt} of {attempts})");
        }
        match download_once(agent, url, dest) {
            Ok(()) => return Ok(()),
            Err(DownloadError::Permanent(e)) => return Err(e),
            Err(DownloadError::Transient(e)) => last_error = Some(e),
        }
    }
    Err(last_error.expect("at least one attempt").context(format!(
        "cannot download {url}; on a machine without access to it, get the archives elsewhere and run \
         `cargo xtask fetch-data <DATASET> --from PATH` with PATH a folder of DB1_B.zip ... DB4_B.zip \
         or of DB1_B/ ... DB4_B/ image folders"
    )))
}

enum DownloadError {
    Transient(anyhow::Error),
    Permanent(anyhow::Error),
}

fn download_once(agent: &ureq::Agent, url: &str, dest: &Path) -> Result<(), DownloadError> {
    let mut response = agent
        .get(url)
        .call()
        .map_err(|e| DownloadError::Transient(anyhow::Error::new(e).context(format!("GET {url}"))))?;
    let status = response.status();
    if !status.is_success() {
        let err = anyhow::anyhow!("GET {url}: HTTP {status}");
        return Err(if status.is_server_error() {
            DownloadError::Transient(err)
        } else {
            DownloadError::Permanent(err)
        });
    }
    let length = response.body().content_length();
    let bar = match length {
        Some(n) => ProgressBar::new(n).with_style(
            ProgressStyle::with_template("{msg:>10} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
                .expect("valid template")
                .progress_chars("=> "),
        ),
        None => ProgressBar::new_spinner(),
    };
    bar.set_message(url.rsplit('/').next().unwrap_or(url).to_owned());
    let mut write = || -> Result<u64> {
        let mut file = File::create(dest).with_context(|| format!("cannot create {}", dest.display()))?;
        let mut reader = bar.wrap_read(response.body_mut().as_reader());
        let n = io::copy(&mut reader, &mut file).with_context(|| format!("GET {url}: reading the body"))?;
        file.flush()?;
        Ok(n)
    };
    let written = write().map_err(DownloadError::Transient)?;
    bar.finish_and_clear();
    if let Some(expected) = length
        && written != expected
    {
        return Err(DownloadError::Transient(anyhow::anyhow!("GET {url}: got {written} of {expected} bytes")));
    }
    Ok(())
}

/// Extracts the images of `archive` into `target`, saying which entries it skipped.
fn extract_images(archive: &Path, target: &Path) -> Result<()> {
    for name in import::extract_zip(archive, target)? {
        eprintln!("{}: skipping {name:?} (not an image)", archive.display());
    }
    Ok(())
}

/// Moves the verified `staging` folder to `dest`, keeping the old copy until the
/// new one is in place.
fn replace_dir(staging: &Path, dest: &Path) -> Result<()> {
    if dest.exists() {
        let name = dest.file_name().expect("checked").to_string_lossy();
        let old = dest.with_file_name(format!(".{name}.old-{}", std::process::id()));
        let _ = fs::remove_dir_all(&old);
        fs::rename(dest, &old).with_context(|| format!("cannot move {} aside", dest.display()))?;
        if let Err(e) = fs::rename(staging, dest) {
            let _ = fs::rename(&old, dest);
            return Err(e).with_context(|| format!("cannot move {} into place", staging.display()));
        }
        fs::remove_dir_all(&old).with_context(|| format!("cannot remove {}", old.display()))?;
    } else {
        fs::rename(staging, dest)
            .with_context(|| format!("cannot move {} to {}", staging.display(), dest.display()))?;
    }
    Ok(())
}

/// What a `fetch-data` killed part-way leaves beside the destination, named
/// after the process that made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Leftover {
    /// `.<name>.partial-<pid>`: the staging folder, whole or not, never verified
    /// as a whole.
    Staging,
    /// `.<name>.old-<pid>`: the installed copy, moved aside while the new one
    /// took its place; it verified when it was installed.
    OldCopy,
}

/// Tidies what earlier `fetch-data` runs that were killed left around `dest`:
/// a copy moved aside while the destination was being replaced goes back when
/// the destination is missing (the kill came between the two renames), every
/// other staging folder and old copy is removed, and so is a half-written
/// description inside the destination. Each is said on stderr. Leftovers of a
/// process that still runs are left alone. The destination itself is only
/// ever whole or missing, so what follows (verify, else fetch) is safe.
fn recover_interrupted(dest: &Path) -> Result<()> {
    let (Some(parent), Some(name)) = (dest.parent(), dest.file_name()) else { return Ok(()) };
    let name = name.to_string_lossy();
    let Ok(entries) = fs::read_dir(parent) else { return Ok(()) };
    let mut leftovers = Vec::new();
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot list {}", parent.display()))?;
        let file = entry.file_name().to_string_lossy().into_owned();
        let found = [(Leftover::Staging, "partial"), (Leftover::OldCopy, "old")].into_iter().find_map(|(kind, tag)| {
            let pid = file.strip_prefix(&format!(".{name}.{tag}-"))?.parse::<u32>().ok()?;
            Some((kind, pid))
        });
        if let Some((kind, pid)) = found
            && pid != std::process::id()
            && !process_alive(pid)
        {
            leftovers.push((kind, entry.path(), pid));
        }
    }
    leftovers.sort();
    if !dest.exists()
        && let Some((_, old, pid)) = leftovers.iter().find(|(kind, ..)| *kind == Leftover::OldCopy)
    {
        fs::rename(old, dest).with_context(|| format!("cannot move {} back to {}", old.display(), dest.display()))?;
        eprintln!(
            "moved {} back to {}: fetch-data (process {pid}) was interrupted while replacing it",
            old.display(),
            dest.display()
        );
    }
    for (_, path, pid) in leftovers.iter().filter(|(_, path, _)| path.exists()) {
        let removed = if path.is_dir() { fs::remove_dir_all(path) } else { fs::remove_file(path) };
        removed.with_context(|| format!("cannot remove {}", path.display()))?;
        eprintln!("removed {}, left by an interrupted fetch-data (process {pid})", path.display());
    }
    if let Ok(entries) = fs::read_dir(dest) {
        for entry in entries.flatten() {
            let file = entry.file_name().to_string_lossy().into_owned();
            if file.starts_with(&format!(".{DESCRIPTION_FILE}.tmp-")) {
                fs::remove_file(entry.path()).with_context(|| format!("cannot remove {}", entry.path().display()))?;
                eprintln!("removed {}, left by an interrupted fetch-data", entry.path().display());
            }
        }
    }
    Ok(())
}

/// Whether process `pid` runs (known on Linux, through /proc; elsewhere every
/// leftover counts as stale).
fn process_alive(pid: u32) -> bool {
    Path::new("/proc/self").exists() && Path::new("/proc").join(pid.to_string()).exists()
}

#[cfg(test)]
mod tests;
