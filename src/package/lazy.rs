//! A package whose zip is built only when its bytes are needed: whether it is deployed already is
//! answered from the local record of its inputs ([`super::record`]) when it has them, so a no-op
//! reads and hashes what changed instead of compressing the whole project.

use std::path::PathBuf;
use std::sync::OnceLock;

use anyhow::Result;

use super::archive::build_zip;
use super::imported;
use super::parts::{CodeIdentity, Entry, Limits, Package};
use super::record::Records;

#[derive(Debug)]
pub struct LazyPackage {
    entries: Vec<Entry>,
    limits: Limits,
    /// Where the record lives; `None`: no record (always build).
    project_dir: Option<PathBuf>,
    /// What `init --from-function` recorded about the deployed zip, if anything.
    imported: Option<imported::Record>,
    digest: OnceLock<String>,
    built: OnceLock<Package>,
}

impl LazyPackage {
    pub fn new(
        entries: Vec<Entry>,
        limits: Limits,
        project_dir: Option<PathBuf>,
        imported: Option<imported::Record>,
    ) -> Self {
        LazyPackage {
            entries,
            limits,
            project_dir,
            imported,
            digest: OnceLock::new(),
            built: OnceLock::new(),
        }
    }

    /// Which code this is: from the record when these inputs zipped before (and fit the limits),
    /// else by building the zip.
    pub fn identity(&self) -> Result<CodeIdentity> {
        if let Some(package) = self.built.get() {
            return Ok(package.identity());
        }
        if let Some(project_dir) = &self.project_dir {
            let mut records = Records::load(project_dir);
            let digest = records.inputs_digest(&self.entries)?;
            let known = records
                .package(&digest)
                .filter(|record| record.fits(self.limits))
                .map(|record| record.code_sha256.clone());
            records.save();
            let _ = self.digest.set(digest);
            if let Some(code_sha256) = known {
                tracing::debug!(
                    "CodeSha256 {code_sha256} from the local record of these {} files: not zipped",
                    self.entries.len()
                );
                let deployed_as = self.deployed_as(&code_sha256);
                return Ok(CodeIdentity {
                    code_sha256,
                    deployed_as,
                });
            }
        }
        Ok(self.package()?.identity())
    }

    /// The zip, built once, and recorded.
    pub fn package(&self) -> Result<&Package> {
        if let Some(package) = self.built.get() {
            return Ok(package);
        }
        let mut package = build_zip(self.entries.clone(), self.limits)?;
        tracing::debug!(
            "zipped {} files: CodeSha256 {}",
            self.entries.len(),
            package.code_sha256
        );
        package.deployed_as = self.deployed_as(&package.code_sha256);
        if let Some(project_dir) = &self.project_dir {
            let mut records = Records::load(project_dir);
            let digest = match self.digest.get() {
                Some(digest) => digest.clone(),
                None => records.inputs_digest(&self.entries)?,
            };
            records.remember(digest, &package);
            records.save();
        }
        Ok(self.built.get_or_init(|| package))
    }

    /// The CodeSha256 Lambda reports for this code when another tool zipped the same files.
    fn deployed_as(&self, code_sha256: &str) -> Option<String> {
        self.imported
            .as_ref()
            .filter(|record| record.package_sha256 == code_sha256)
            .map(|record| record.code_sha256.clone())
    }
}
