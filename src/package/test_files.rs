//! Helpers for the unit tests of the package modules.

use std::io::Cursor;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use super::parts::Package;

/// Writes `text` at `path` (making its directories) with permission bits `mode`.
pub fn write(path: &Path, text: &str, mode: u32) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A temporary directory holding `files`: (path, text, permission bits) each.
pub fn tree(files: &[(&str, &str, u32)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, text, mode) in files {
        write(&dir.path().join(path), text, *mode);
    }
    dir
}

/// Each entry's name and permission bits, in zip order.
pub fn modes(package: &Package) -> Vec<(String, u32)> {
    let mut archive = zip::ZipArchive::new(Cursor::new(&package.bytes)).unwrap();
    (0..archive.len())
        .map(|i| {
            let f = archive.by_index(i).unwrap();
            (f.name().to_string(), f.unix_mode().unwrap() & 0o777)
        })
        .collect()
}
