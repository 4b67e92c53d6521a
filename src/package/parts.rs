//! What a package is made of: the entries that go in a zip, the built zip, and Lambda's size
//! limits. A leaf of `package/`: collecting and archiving both speak of these.

use std::path::PathBuf;

use crate::settings::Settings;

/// Files named like this in `function/` (in any directory) list patterns to leave out of the zip.
pub const IGNORE_FILE: &str = ".lambdaignore";

/// Lambda's direct-upload limit for a zip (50 MB).
pub const MAX_ZIPPED_BYTES: u64 = 50 * 1024 * 1024;
/// Lambda's limit on unzipped code, layers included (250 MB).
pub const MAX_UNZIPPED_BYTES: u64 = 250 * 1024 * 1024;

/// Size limits a package must respect.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub zipped: u64,
    pub unzipped: u64,
}

impl Limits {
    /// Lambda's limits for how the project deploys: through S3 a zip may be larger than 50 MB
    /// (the 250 MB unzipped limit still holds).
    pub fn for_settings(settings: &Settings) -> Self {
        Limits {
            zipped: if settings.s3.is_some() {
                u64::MAX
            } else {
                MAX_ZIPPED_BYTES
            },
            unzipped: MAX_UNZIPPED_BYTES,
        }
    }
}

impl Limits {
    /// For running locally: no zip limit (nothing is uploaded), Lambda's unzipped limit still (the
    /// same code has to fit when it is deployed).
    pub fn local() -> Self {
        Limits {
            zipped: u64::MAX,
            unzipped: MAX_UNZIPPED_BYTES,
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            zipped: MAX_ZIPPED_BYTES,
            unzipped: MAX_UNZIPPED_BYTES,
        }
    }
}

/// One file to put in a zip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Name inside the zip, `/`-separated, relative to the zip root.
    pub name: String,
    /// Where the bytes come from.
    pub source: PathBuf,
    /// Unix mode bits stored in the zip.
    pub mode: u32,
}

/// A built zip.
#[derive(Debug, Clone)]
pub struct Package {
    pub bytes: Vec<u8>,
    /// base64(sha256(bytes)), the form Lambda reports as CodeSha256.
    pub code_sha256: String,
    pub unzipped_size: u64,
    pub entry_names: Vec<String>,
    /// The CodeSha256 Lambda reports for these very files as another tool zipped them, when
    /// `init --from-function` recorded it ([`super::imported`]): the same code, other zip bytes.
    pub deployed_as: Option<String>,
}

impl Package {
    /// Whether Lambda's CodeSha256 `remote` is this code.
    pub fn is_deployed_as(&self, remote: Option<&str>) -> bool {
        self.identity().is_deployed_as(remote)
    }

    pub fn identity(&self) -> CodeIdentity {
        CodeIdentity {
            code_sha256: self.code_sha256.clone(),
            deployed_as: self.deployed_as.clone(),
        }
    }
}

/// Which code a package is, without its bytes: all that decides whether it is deployed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeIdentity {
    /// base64(sha256(zip)), as Lambda reports CodeSha256.
    pub code_sha256: String,
    /// See [`Package::deployed_as`].
    pub deployed_as: Option<String>,
}

impl CodeIdentity {
    /// Whether Lambda's CodeSha256 `remote` is this code.
    pub fn is_deployed_as(&self, remote: Option<&str>) -> bool {
        remote
            .is_some_and(|sha| sha == self.code_sha256 || Some(sha) == self.deployed_as.as_deref())
    }
}
