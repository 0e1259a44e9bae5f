//! Targets `fetch_manifest` and `fetch_archive`: what `cargo xtask fetch-data`
//! does with what it is given, the SHA-256 manifest and the zip archives
//! (downloaded, or from `--from`). The code is xtask's own
//! `xtask/src/fetch/import.rs`, compiled in here because xtask is no library and
//! depends on no workspace crate.

use std::path::Path;

#[path = "../../../../xtask/src/fetch/import.rs"]
// Some of xtask's helpers are not called by the targets.
#[allow(dead_code)]
mod import;

use import::Manifest;

/// `fetch_manifest`: the input is a manifest (`<sha256>  DBn_B/<file>` lines);
/// it is read, then checked against a folder holding two files, one of them
/// named like a manifest entry.
pub fn read_manifest(input: &[u8]) {
    let dir = crate::scratch::folder();
    let path = dir.path().join("fuzz.sha256");
    crate::scratch::write(&path, input);
    let Ok(manifest) = Manifest::read(&path) else { return };
    let data = dir.path().join("data");
    let db = data.join("DB1_B");
    std::fs::create_dir_all(&db).expect("the scratch folder is writable");
    crate::scratch::write(&db.join("1_1.tif"), b"not really a print");
    let _ = manifest.verify_dir(&data);
}

/// `fetch_archive`: the input is a manifest's text, a NUL byte, then a zip
/// archive of one database (no NUL: the whole input is the archive, under a
/// manifest of one entry). The archive is extracted into a staging folder as
/// `DB1_B/` and verified against the manifest, as a fetch does before it
/// installs anything.
pub fn import_archive(input: &[u8]) {
    let (manifest_text, archive) = match super::split_at_nul(input) {
        (text, Some(archive)) => (text, archive),
        (archive, None) => {
            (&b"0000000000000000000000000000000000000000000000000000000000000000  DB1_B/1_1.tif\n"[..], archive)
        }
    };
    let dir = crate::scratch::folder();
    let manifest_path = dir.path().join("fuzz.sha256");
    crate::scratch::write(&manifest_path, manifest_text);
    let archive_path = dir.path().join("DB1_B.zip");
    crate::scratch::write(&archive_path, archive);
    let staging = dir.path().join("staging");
    let Ok(_skipped) = import::extract_zip(&archive_path, &staging.join("DB1_B")) else { return };
    assert_extracted_inside(&staging);
    if let Ok(manifest) = Manifest::read(&manifest_path) {
        let _ = manifest.verify_dir(&staging);
    }
}

/// Every file an extraction wrote lies in `staging/DB1_B`, as a plain file:
/// nothing escaped, nothing nested, no links.
fn assert_extracted_inside(staging: &Path) {
    for entry in std::fs::read_dir(staging).expect("the staging folder exists") {
        let entry = entry.expect("the staging folder is readable");
        assert_eq!(entry.file_name(), "DB1_B", "extraction wrote outside its database folder");
        for file in std::fs::read_dir(entry.path()).expect("the database folder is readable") {
            let file = file.expect("the database folder is readable");
            let kind = file.file_type().expect("a file type");
            assert!(kind.is_file(), "extraction made {:?}, not a plain file", file.path());
        }
    }
}
