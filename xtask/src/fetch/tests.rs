//! Fetch tests against a local HTTP server on 127.0.0.1 serving zips built here.

use std::collections::HashMap;
use std::io::{Cursor, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use zip::write::SimpleFileOptions;

use super::import::{safe_relative_path, sha256_reader};
use super::*;

const DBS: [&str; 2] = ["DB1_B", "DB2_B"];

/// Small synthetic "images": distinct bytes per file.
fn files() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for (d, db) in DBS.iter().enumerate() {
        for finger in 101..103 {
            for imp in 1..3 {
                let bytes: Vec<u8> = (0..600).map(|i| ((i * 7 + d * 31 + finger + imp * 13) % 251) as u8).collect();
                out.push((format!("{db}/{finger}_{imp}.tif"), bytes));
            }
        }
    }
    out
}

fn manifest_text(files: &[(String, Vec<u8>)]) -> String {
    files.iter().map(|(name, bytes)| format!("{}  {name}\n", sha256_reader(&mut bytes.as_slice()).unwrap())).collect()
}

/// A zip of one database's files, at the archive root.
fn zip_of(db: &str, files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, bytes) in files.iter().filter(|(n, _)| n.starts_with(db)) {
        zip.start_file(name.rsplit('/').next().unwrap(), SimpleFileOptions::default()).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

struct Server {
    url: String,
    requests: Arc<AtomicUsize>,
    server: Arc<tiny_http::Server>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Serves `routes` (path -> (status, body)); anything else is a 404.
    fn start(routes: HashMap<String, (u16, Vec<u8>)>) -> Self {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
        let url = format!("http://{}", server.server_addr().to_ip().unwrap());
        let requests = Arc::new(AtomicUsize::new(0));
        let routes = Arc::new(Mutex::new(routes));
        let thread = {
            let server = Arc::clone(&server);
            let requests = Arc::clone(&requests);
            std::thread::spawn(move || {
                for request in server.incoming_requests() {
                    requests.fetch_add(1, Ordering::SeqCst);
                    let (status, body) =
                        routes.lock().unwrap().get(request.url()).cloned().unwrap_or((404, b"not found".to_vec()));
                    let _ = request.respond(tiny_http::Response::from_data(body).with_status_code(status));
                }
            })
        };
        Self { url, requests, server, thread: Some(thread) }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct Fixture {
    dir: tempfile::TempDir,
    files: Vec<(String, Vec<u8>)>,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let files = files();
        fs::write(dir.path().join("manifest.sha256"), manifest_text(&files)).unwrap();
        Self { dir, files }
    }

    fn good_routes(&self) -> HashMap<String, (u16, Vec<u8>)> {
        DBS.iter().map(|db| (format!("/{db}.zip"), (200, zip_of(db, &self.files)))).collect()
    }

    fn dest(&self) -> PathBuf {
        self.dir.path().join("data").join("fvc2002")
    }

    fn options(&self, url: &str) -> FetchOptions {
        FetchOptions {
            dest: self.dest(),
            manifest: self.dir.path().join("manifest.sha256"),
            description: None,
            from: None,
            url: url.to_owned(),
            databases: DBS.iter().map(|s| s.to_string()).collect(),
            force: false,
            attempts: 1,
            timeout: Duration::from_secs(5),
        }
    }

    /// The data folder holds only the destination: no staging or old copies left.
    fn assert_no_leftovers(&self) {
        let names: Vec<_> = fs::read_dir(self.dir.path().join("data"))
            .map(|rd| rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        assert!(names.iter().all(|n| n == "fvc2002"), "leftovers: {names:?}");
    }
}

fn err_text(result: Result<Outcome>) -> String {
    format!("{:#}", result.expect_err("fetch should fail"))
}

#[test]
fn downloads_verifies_and_installs() {
    let fx = Fixture::new();
    let server = Server::start(fx.good_routes());
    assert_eq!(fetch(&fx.options(&server.url)).unwrap(), Outcome::Installed(8));
    for (name, bytes) in &fx.files {
        assert_eq!(&fs::read(fx.dest().join(name)).unwrap(), bytes, "{name}");
    }
    fx.assert_no_leftovers();
}

#[test]
fn the_dataset_description_is_installed_and_kept_current() {
    let fx = Fixture::new();
    let server = Server::start(fx.good_routes());
    let description = fx.dir.path().join("described.toml");
    fs::write(&description, "name = \"tiny\"\n").unwrap();
    let options = FetchOptions { description: Some(description.clone()), ..fx.options(&server.url) };
    assert_eq!(fetch(&options).unwrap(), Outcome::Installed(8));
    assert_eq!(fs::read_to_string(fx.dest().join(DESCRIPTION_FILE)).unwrap(), "name = \"tiny\"\n");
    // A newer description reaches an installed copy without fetching the images again.
    fs::write(&description, "name = \"tiny\"\ndefault_ppi = 569\n").unwrap();
    let requests = server.requests.load(Ordering::SeqCst);
    assert_eq!(fetch(&options).unwrap(), Outcome::UpToDate);
    assert_eq!(server.requests.load(Ordering::SeqCst), requests);
    assert!(fs::read_to_string(fx.dest().join(DESCRIPTION_FILE)).unwrap().contains("569"));
    fx.assert_no_leftovers();
}

#[test]
fn second_fetch_is_up_to_date_and_downloads_nothing() {
    let fx = Fixture::new();
    let server = Server::start(fx.good_routes());
    fetch(&fx.options(&server.url)).unwrap();
    let after_first = server.requests.load(Ordering::SeqCst);
    assert_eq!(after_first, 2);
    assert_eq!(fetch(&fx.options(&server.url)).unwrap(), Outcome::UpToDate);
    assert_eq!(server.requests.load(Ordering::SeqCst), after_first);
    // --force downloads again.
    let forced = FetchOptions { force: true, ..fx.options(&server.url) };
    assert_eq!(fetch(&forced).unwrap(), Outcome::Installed(8));
    assert_eq!(server.requests.load(Ordering::SeqCst), after_first + 2);
}

#[test]
fn archive_at_single_top_level_folder_is_accepted() {
    let fx = Fixture::new();
    let mut routes = HashMap::new();
    for db in DBS {
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        zip.add_directory(db, SimpleFileOptions::default()).unwrap();
        for (name, bytes) in fx.files.iter().filter(|(n, _)| n.starts_with(db)) {
            zip.start_file(name.as_str(), SimpleFileOptions::default()).unwrap();
            zip.write_all(bytes).unwrap();
        }
        routes.insert(format!("/{db}.zip"), (200, zip.finish().unwrap().into_inner()));
    }
    let server = Server::start(routes);
    assert_eq!(fetch(&fx.options(&server.url)).unwrap(), Outcome::Installed(8));
}

#[test]
fn hash_mismatch_names_the_file_and_keeps_the_good_copy() {
    let fx = Fixture::new();
    let good = Server::start(fx.good_routes());
    fetch(&fx.options(&good.url)).unwrap();

    let mut bad_files = fx.files.clone();
    bad_files[5].1[10] ^= 0xff; // DB2_B/101_2.tif
    let bad = Server::start(DBS.iter().map(|db| (format!("/{db}.zip"), (200, zip_of(db, &bad_files)))).collect());
    let forced = FetchOptions { force: true, ..fx.options(&bad.url) };
    let err = err_text(fetch(&forced));
    assert!(err.contains("DB2_B/101_2.tif: SHA-256 mismatch"), "{err}");
    // The earlier good copy is intact and nothing half-written is left.
    assert_eq!(fetch(&fx.options(&good.url)).unwrap(), Outcome::UpToDate);
    fx.assert_no_leftovers();
}

#[test]
fn unknown_and_missing_files_are_errors() {
    let fx = Fixture::new();
    let mut extra = fx.files.clone();
    extra.push(("DB1_B/999_1.tif".into(), vec![1, 2, 3]));
    let server = Server::start(DBS.iter().map(|db| (format!("/{db}.zip"), (200, zip_of(db, &extra)))).collect());
    let err = err_text(fetch(&fx.options(&server.url)));
    assert!(err.contains("unknown file DB1_B/999_1.tif"), "{err}");

    let fewer: Vec<_> = fx.files.iter().filter(|(n, _)| n != "DB1_B/102_2.tif").cloned().collect();
    let server = Server::start(DBS.iter().map(|db| (format!("/{db}.zip"), (200, zip_of(db, &fewer)))).collect());
    let err = err_text(fetch(&fx.options(&server.url)));
    assert!(err.contains("wrong file count: 7 of 8") && err.contains("DB1_B/102_2.tif"), "{err}");
    assert!(!fx.dest().exists());
    fx.assert_no_leftovers();
}

#[test]
fn truncated_zip_is_a_clear_error() {
    let fx = Fixture::new();
    let mut routes = fx.good_routes();
    let zip = routes.get_mut("/DB2_B.zip").unwrap();
    zip.1.truncate(zip.1.len() / 2);
    let server = Server::start(routes);
    let err = err_text(fetch(&fx.options(&server.url)));
    assert!(err.contains("DB2_B.zip: not a readable zip archive"), "{err}");
    assert!(!fx.dest().exists());
    fx.assert_no_leftovers();
}

#[test]
fn zip_slip_entries_are_refused() {
    for evil in ["../evil.tif", "/abs/evil.tif", "DB1_B/../../evil.tif", "link"] {
        let fx = Fixture::new();
        let mut routes = fx.good_routes();
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        if evil == "link" {
            zip.add_symlink("101_9.tif", "/etc/passwd", SimpleFileOptions::default()).unwrap();
        } else {
            zip.start_file(evil, SimpleFileOptions::default()).unwrap();
            zip.write_all(b"pwned").unwrap();
        }
        routes.insert("/DB1_B.zip".into(), (200, zip.finish().unwrap().into_inner()));
        let server = Server::start(routes);
        let err = err_text(fetch(&fx.options(&server.url)));
        let expected = if evil == "link" { "is a symbolic link" } else { "escapes the target folder" };
        assert!(err.contains(expected), "{evil}: {err}");
        assert!(!fx.dir.path().join("evil.tif").exists());
        assert!(!fx.dir.path().join("data").join("evil.tif").exists());
        fx.assert_no_leftovers();
    }
}

#[test]
fn http_404_is_reported_without_retrying() {
    let fx = Fixture::new();
    let mut routes = fx.good_routes();
    routes.remove("/DB2_B.zip");
    let server = Server::start(routes);
    let options = FetchOptions { attempts: 3, ..fx.options(&server.url) };
    let err = err_text(fetch(&options));
    assert!(err.contains("DB2_B.zip: HTTP 404"), "{err}");
    assert_eq!(server.requests.load(Ordering::SeqCst), 2, "404 must not be retried");
    fx.assert_no_leftovers();
}

#[test]
fn connection_refused_explains_from() {
    let fx = Fixture::new();
    // Bind then drop a listener: nothing listens on that port any more.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let err = err_text(fetch(&fx.options(&format!("http://127.0.0.1:{port}"))));
    assert!(err.contains("cannot download") && err.contains("--from PATH"), "{err}");
    fx.assert_no_leftovers();
}

#[test]
fn from_a_folder_of_zips() {
    let fx = Fixture::new();
    let zips = fx.dir.path().join("zips");
    fs::create_dir_all(&zips).unwrap();
    for db in DBS {
        fs::write(zips.join(format!("{db}.zip")), zip_of(db, &fx.files)).unwrap();
    }
    let options = FetchOptions { from: Some(zips), ..fx.options("http://127.0.0.1:9") };
    assert_eq!(fetch(&options).unwrap(), Outcome::Installed(8));
}

#[test]
fn from_a_folder_missing_a_database() {
    let fx = Fixture::new();
    let src = fx.dir.path().join("src");
    fs::create_dir_all(src.join("DB1_B")).unwrap();
    let options = FetchOptions { from: Some(src), ..fx.options("http://127.0.0.1:9") };
    let err = err_text(fetch(&options));
    assert!(err.contains("neither DB2_B/ nor DB2_B.zip found"), "{err}");
}

#[test]
fn manifest_errors_name_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.sha256");
    fs::write(&path, "zz  DB1_B/101_1.tif\n").unwrap();
    let err = format!("{:#}", Manifest::read(&path).unwrap_err());
    assert!(err.contains("m.sha256:1: expected"), "{err}");
}

#[test]
fn safe_relative_path_rejects_escapes() {
    assert_eq!(safe_relative_path("a/b.tif"), Some(PathBuf::from("a/b.tif")));
    assert_eq!(safe_relative_path("./b.tif"), Some(PathBuf::from("b.tif")));
    for bad in ["../b.tif", "/b.tif", "a/../../b.tif", "a\\..\\b.tif", ""] {
        assert_eq!(safe_relative_path(bad), None, "{bad}");
    }
}

/// Imports a real dataset from `../shared/data/<name>` (a test without it fails
/// unless `FPAE_SKIP=data`), through the same options `cargo xtask fetch-data
/// <name>` uses, into a temporary folder.
fn imports_real_dataset_from_shared(dataset: Dataset) -> Option<String> {
    let shared = fp_testkit::dataset(dataset.name())?;
    let dir = tempfile::tempdir().unwrap();
    let options = FetchOptions {
        dest: dir.path().join(dataset.name()),
        manifest: dataset.manifest(),
        description: Some(dataset.description()),
        from: Some(shared),
        url: dataset.official_url().to_owned(),
        databases: DATABASES.iter().map(|s| s.to_string()).collect(),
        force: false,
        attempts: 1,
        timeout: Duration::from_secs(5),
    };
    assert_eq!(fetch(&options).unwrap(), Outcome::Installed(320));
    assert_eq!(fetch(&options).unwrap(), Outcome::UpToDate);
    Some(fs::read_to_string(dir.path().join(dataset.name()).join(DESCRIPTION_FILE)).unwrap())
}

#[test]
fn imports_real_fvc2002_from_shared() {
    if let Some(description) = imports_real_dataset_from_shared(Dataset::Fvc2002) {
        assert!(description.contains("name = \"fvc2002\""), "{description}");
        assert!(description.contains("[subsets.DB2_B]\nppi = 569"), "{description}");
    }
}

#[test]
fn imports_real_fvc2000_from_shared() {
    if let Some(description) = imports_real_dataset_from_shared(Dataset::Fvc2000) {
        assert!(description.contains("name = \"fvc2000\""), "{description}");
        // Unlike FVC2002's DB2 (569 ppi), FVC2000's DB2 is a 500 ppi sensor.
        assert!(description.contains("[subsets.DB2_B]\nppi = 500"), "{description}");
    }
}

#[test]
fn every_dataset_has_its_committed_manifest_and_description() {
    for dataset in [Dataset::Fvc2002, Dataset::Fvc2000] {
        let manifest = Manifest::read(&dataset.manifest()).unwrap();
        assert_eq!(manifest.entries.len(), 320, "{}", dataset.name());
        assert!(manifest.entries.keys().all(|k| DATABASES.iter().any(|db| k.starts_with(&format!("{db}/")))));
        assert!(dataset.description().is_file(), "{}", dataset.description().display());
        assert!(dataset.official_url().contains(dataset.name()));
    }
}

/// The id of a process that has ended, as a killed `fetch-data` has.
fn dead_pid() -> u32 {
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

/// Writes the first `count` of the fixture's files into `dir`, as a fetch
/// lays them out; with `cut`, the last of them is cut in half, as a kill leaves it.
fn write_files(fx: &Fixture, dir: &Path, count: usize, cut: bool) {
    for (k, (name, bytes)) in fx.files.iter().take(count).enumerate() {
        let path = dir.join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        let end = if cut && k + 1 == count { bytes.len() / 2 } else { bytes.len() };
        fs::write(path, &bytes[..end]).unwrap();
    }
}

#[test]
fn a_fetch_killed_while_filling_its_staging_folder_is_tidied_and_done_again() {
    let fx = Fixture::new();
    let server = Server::start(fx.good_routes());
    let staging = fx.dir.path().join(format!("data/.fvc2002.partial-{}", dead_pid()));
    write_files(&fx, &staging, 3, true);
    assert_eq!(fetch(&fx.options(&server.url)).unwrap(), Outcome::Installed(8));
    Manifest::read(&fx.options(&server.url).manifest).unwrap().verify_dir(&fx.dest()).unwrap();
    fx.assert_no_leftovers();
}

#[test]
fn a_fetch_killed_between_its_renames_puts_the_old_copy_back_without_downloading() {
    let fx = Fixture::new();
    // Nothing can be downloaded: the copy that was moved aside must be enough.
    let server = Server::start(HashMap::new());
    let pid = dead_pid();
    write_files(&fx, &fx.dir.path().join(format!("data/.fvc2002.old-{pid}")), 8, false);
    write_files(&fx, &fx.dir.path().join(format!("data/.fvc2002.partial-{pid}")), 8, false);
    assert!(!fx.dest().exists());
    assert_eq!(fetch(&fx.options(&server.url)).unwrap(), Outcome::UpToDate);
    assert_eq!(server.requests.load(Ordering::SeqCst), 0);
    for (name, bytes) in &fx.files {
        assert_eq!(&fs::read(fx.dest().join(name)).unwrap(), bytes, "{name}");
    }
    fx.assert_no_leftovers();
}

#[test]
fn a_fetch_killed_after_installing_or_while_writing_the_description_leaves_nothing_behind() {
    let fx = Fixture::new();
    let server = Server::start(HashMap::new());
    let pid = dead_pid();
    write_files(&fx, &fx.dest(), 8, false);
    write_files(&fx, &fx.dir.path().join(format!("data/.fvc2002.old-{pid}")), 5, false);
    let half_written = fx.dest().join(format!(".{DESCRIPTION_FILE}.tmp-{pid}"));
    fs::write(&half_written, "name = ").unwrap();
    assert_eq!(fetch(&fx.options(&server.url)).unwrap(), Outcome::UpToDate);
    assert_eq!(server.requests.load(Ordering::SeqCst), 0);
    assert!(!half_written.exists());
    fx.assert_no_leftovers();
}

#[cfg(target_os = "linux")]
#[test]
fn the_staging_folder_of_a_fetch_that_still_runs_is_left_alone() {
    let fx = Fixture::new();
    let server = Server::start(fx.good_routes());
    // Process 1 always runs.
    let running = fx.dir.path().join("data/.fvc2002.partial-1");
    write_files(&fx, &running, 2, false);
    assert_eq!(fetch(&fx.options(&server.url)).unwrap(), Outcome::Installed(8));
    assert!(running.join(&fx.files[1].0).is_file());
}
