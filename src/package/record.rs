//! What makes a no-op cost what changed, not what the project weighs: a local record, in the
//! project's `.lambda-rt/packages.json`, of the CodeSha256 each set of package inputs zipped to.
//!
//! The inputs of a package are its entries — zip name, mode, and the SHA-256 of each file's
//! content — and lambda-rt's zip format; their digest keys the record. A file's content hash is
//! kept with its device, inode, size, modification and change times, and reused while all of them
//! are the same: a write changes the change time (ctime), which no user can set back, so an edit
//! that keeps the size and the modification time is hashed again, and a `touch` is hashed again
//! and found unchanged. A file changed within [`RACY`] of being hashed may change again within the
//! same timestamp tick, so its hash is not kept (git's "racily clean" rule).
//!
//! The record is only a shortcut: a missing, unreadable or foreign record means building the zip,
//! as before; and a CodeSha256 from the record that differs from Lambda's is checked by building
//! the zip before anything is uploaded (`FunctionCode::package`).

use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::parts::{Entry, Limits, Package};

/// Where the record lives in a project (outside `function/` and `runtime/`, so never packaged).
pub const RECORD_PATH: &str = ".lambda-rt/packages.json";
/// What the zip bytes depend on besides the inputs: a record made by another version of
/// lambda-rt is not trusted.
const FORMAT: &str = concat!("lambda-rt ", env!("CARGO_PKG_VERSION"), ", zip format 1");
/// How recent a change may be for a file's hash to be kept.
const RACY: Duration = Duration::from_secs(2);
/// Packages remembered (the newest): the function zip with and without the runtime, the layer,
/// and a few edits back.
const KEEP_PACKAGES: usize = 32;

#[derive(Debug, Default, Serialize, Deserialize)]
struct Stored {
    format: String,
    /// By absolute path.
    files: BTreeMap<PathBuf, FileRecord>,
    /// By inputs digest.
    packages: BTreeMap<String, PackageRecord>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct FileRecord {
    dev: u64,
    ino: u64,
    size: u64,
    mtime_ns: i128,
    ctime_ns: i128,
    sha256: String,
}

/// What a set of inputs zipped to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageRecord {
    pub code_sha256: String,
    pub zipped_size: u64,
    pub unzipped_size: u64,
    /// When it was last used (seconds since the epoch), to keep the newest.
    used: u64,
}

impl PackageRecord {
    /// Whether a zip of this size may be deployed within `limits`.
    pub fn fits(&self, limits: Limits) -> bool {
        self.zipped_size <= limits.zipped && self.unzipped_size <= limits.unzipped
    }
}

/// The record of one project, read once, written back when something new was learnt.
#[derive(Debug)]
pub struct Records {
    path: PathBuf,
    stored: Stored,
    changed: bool,
    /// [`RACY`], shorter in tests.
    racy: Duration,
}

impl Records {
    /// The project's record; an empty one when there is none or it cannot be used.
    pub fn load(project_dir: &Path) -> Records {
        let path = project_dir.join(RECORD_PATH);
        let stored = std::fs::read(&path)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Stored>(&bytes).ok())
            .filter(|stored| stored.format == FORMAT)
            .unwrap_or_else(|| Stored {
                format: FORMAT.to_string(),
                ..Stored::default()
            });
        Records {
            path,
            stored,
            changed: false,
            racy: RACY,
        }
    }

    /// The digest of a package's inputs: each entry's name, mode and content hash, in name order.
    pub fn inputs_digest(&mut self, entries: &[Entry]) -> Result<String> {
        let mut sorted: Vec<&Entry> = entries.iter().collect();
        sorted.sort_by(|a, b| a.name.cmp(&b.name));
        let mut digest = Sha256::new();
        digest.update(FORMAT.as_bytes());
        for entry in sorted {
            let content = self.content_sha256(&entry.source)?;
            digest.update(format!("\n{}\0{:o}\0{content}", entry.name, entry.mode).as_bytes());
        }
        Ok(hex(&digest.finalize()))
    }

    /// What the inputs with `digest` zipped to, if recorded.
    pub fn package(&self, digest: &str) -> Option<&PackageRecord> {
        self.stored.packages.get(digest)
    }

    /// Records that the inputs with `digest` zipped to `package`.
    pub fn remember(&mut self, digest: String, package: &Package) {
        let record = PackageRecord {
            code_sha256: package.code_sha256.clone(),
            zipped_size: package.bytes.len() as u64,
            unzipped_size: package.unzipped_size,
            used: now_seconds(),
        };
        if self.stored.packages.get(&digest) != Some(&record) {
            self.stored.packages.insert(digest, record);
            self.changed = true;
        }
    }

    /// Writes the record back if it changed (best effort: it is only a shortcut, and a project
    /// directory may be read-only). Written whole to a temporary file and renamed, so that a
    /// concurrent run reads either record, never half of one.
    pub fn save(mut self) {
        if !self.changed {
            return;
        }
        if self.stored.packages.len() > KEEP_PACKAGES {
            let mut by_use: Vec<(u64, String)> = self
                .stored
                .packages
                .iter()
                .map(|(digest, record)| (record.used, digest.clone()))
                .collect();
            by_use.sort();
            for (_, digest) in &by_use[..by_use.len() - KEEP_PACKAGES] {
                self.stored.packages.remove(digest);
            }
        }
        if let Err(error) = self.write() {
            tracing::debug!("the package record was not saved: {error:#}");
        }
    }

    fn write(&self) -> Result<()> {
        let dir = self.path.parent().context("the record has a directory")?;
        std::fs::create_dir_all(dir)?;
        let mut file = tempfile::NamedTempFile::new_in(dir)?;
        serde_json::to_writer(&mut file, &self.stored)?;
        file.persist(&self.path)?;
        Ok(())
    }

    /// The SHA-256 of the file at `path`, from the record while the file's metadata is the same.
    fn content_sha256(&mut self, path: &Path) -> Result<String> {
        let metadata = std::fs::metadata(path)
            .with_context(|| format!("failed to read `{}`", path.display()))?;
        let stat = |sha256: String| FileRecord {
            dev: metadata.dev(),
            ino: metadata.ino(),
            size: metadata.len(),
            mtime_ns: metadata.mtime() as i128 * 1_000_000_000 + metadata.mtime_nsec() as i128,
            ctime_ns: metadata.ctime() as i128 * 1_000_000_000 + metadata.ctime_nsec() as i128,
            sha256,
        };
        let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        if let Some(known) = self.stored.files.get(&absolute) {
            if *known == stat(known.sha256.clone()) {
                return Ok(known.sha256.clone());
            }
        }
        let sha256 = hash_file(path)?;
        let record = stat(sha256.clone());
        // Any write moves the change time forward (and it is never before the modification time).
        let settled = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|now| now.as_nanos() as i128 - record.ctime_ns)
            .is_ok_and(|age| age > self.racy.as_nanos() as i128);
        if settled {
            self.stored.files.insert(absolute, record);
            self.changed = true;
        } else if self.stored.files.remove(&absolute).is_some() {
            self.changed = true;
        }
        Ok(sha256)
    }
}

fn hash_file(path: &Path) -> Result<String> {
    let mut file = std::fs::File::open(path)
        .with_context(|| format!("failed to read `{}`", path.display()))?;
    let mut digest = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let n = file
            .read(&mut buffer)
            .with_context(|| format!("failed to read `{}`", path.display()))?;
        if n == 0 {
            break;
        }
        digest.update(&buffer[..n]);
    }
    Ok(hex(&digest.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn now_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::package::test_files::*;

    fn entry(dir: &Path, name: &str) -> Entry {
        Entry {
            name: name.to_string(),
            source: dir.join(name),
            mode: 0o644,
        }
    }

    #[test]
    fn the_digest_follows_contents_names_and_modes() {
        let dir = tree(&[("a", "one", 0o644), ("b", "two", 0o644)]);
        let mut records = Records::load(dir.path());
        let both = [entry(dir.path(), "a"), entry(dir.path(), "b")];
        let digest = records.inputs_digest(&both).unwrap();
        // Order does not matter; a name, a mode or a content does.
        let reversed = [entry(dir.path(), "b"), entry(dir.path(), "a")];
        assert_eq!(records.inputs_digest(&reversed).unwrap(), digest);
        let mut renamed = both.clone();
        renamed[0].name = "c".into();
        assert_ne!(records.inputs_digest(&renamed).unwrap(), digest);
        let mut executable = both.clone();
        executable[0].mode = 0o755;
        assert_ne!(records.inputs_digest(&executable).unwrap(), digest);
        write(&dir.path().join("a"), "uno", 0o644);
        assert_ne!(records.inputs_digest(&both).unwrap(), digest);
    }

    #[test]
    fn a_hash_is_kept_only_for_files_that_settled() {
        let dir = tree(&[("a", "just written", 0o644)]);
        let mut records = Records::load(dir.path());
        records.inputs_digest(&[entry(dir.path(), "a")]).unwrap();
        assert!(
            records.stored.files.is_empty(),
            "a file changed just now is hashed again"
        );
        records.racy = Duration::ZERO;
        let digest = records.inputs_digest(&[entry(dir.path(), "a")]).unwrap();
        assert_eq!(records.stored.files.len(), 1);
        // Kept, it is used while the metadata is the same, and dropped when a write changes it.
        assert_eq!(
            records.inputs_digest(&[entry(dir.path(), "a")]).unwrap(),
            digest
        );
        write(&dir.path().join("a"), "just written", 0o644);
        records.racy = RACY;
        assert_eq!(
            records.inputs_digest(&[entry(dir.path(), "a")]).unwrap(),
            digest
        );
        assert!(records.stored.files.is_empty());
    }

    #[test]
    fn the_record_survives_a_save_and_a_foreign_one_is_ignored() {
        let dir = tree(&[("a", "one", 0o644)]);
        let package =
            crate::package::archive::build_zip(vec![entry(dir.path(), "a")], Limits::default())
                .unwrap();
        let mut records = Records::load(dir.path());
        records.remember("digest".into(), &package);
        records.save();
        let again = Records::load(dir.path());
        assert_eq!(
            again.package("digest").map(|r| r.code_sha256.as_str()),
            Some(package.code_sha256.as_str())
        );
        let path = dir.path().join(RECORD_PATH);
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replace(FORMAT, "lambda-rt 0.0.0, zip format 0")).unwrap();
        assert_eq!(Records::load(dir.path()).package("digest"), None);
        std::fs::write(&path, "not json").unwrap();
        assert_eq!(Records::load(dir.path()).package("digest"), None);
    }
}
