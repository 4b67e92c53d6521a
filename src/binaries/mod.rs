//! What a Linux binary needs from the system it runs on: the newest glibc symbol version it links
//! against (`GLIBC_2.36`) and the shared libraries it names. A binary built on a newer
//! distribution than Lambda's deploys fine and then fails every cold start with "version
//! `GLIBC_2.36' not found" — the obstacle the Deno custom-runtime guide opens with — so the
//! package's ELF files are checked against the runtime's glibc before anything is sent.
//!
//! [`preflight`] checks a package's files against the runtime: glibc, shared libraries (whose
//! lists per runtime are in [`runtime_libraries`]) and architecture.
//!
//! The glibc of each runtime: provided.al2023 is Amazon Linux 2023, whose glibc is 2.34
//! (aws/aws-lambda-rust-runtime#932: "AL2023 goes up to GLIBC 2.34"; its packages are
//! glibc-2.34-*.amzn2023, aws/graph-explorer#1749); provided.al2 is Amazon Linux 2, glibc 2.26
//! (binaries needing GLIBC_2.28 fail there, aws/aws-lambda-rust-runtime#874).

pub mod preflight;
pub mod runtime_libraries;

use std::path::Path;

use object::read::elf::{Dyn, ElfFile64};
use object::read::{ReadCache, ReadRef};
use object::Endianness;

/// A glibc version, `(major, minor)`.
pub type GlibcVersion = (u32, u32);

/// The glibc of a Lambda runtime, when lambda-rt knows it.
pub fn runtime_glibc(runtime: &str) -> Option<GlibcVersion> {
    match runtime {
        "provided.al2023" => Some((2, 34)),
        "provided.al2" => Some((2, 26)),
        _ => None,
    }
}

/// What an ELF file needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Needs {
    /// The newest `GLIBC_x.y` symbol version it references.
    pub glibc: Option<GlibcVersion>,
    /// The shared libraries it names (DT_NEEDED), e.g. `libjq.so.1`.
    pub libraries: Vec<String>,
    /// Where it asks the loader to look first (DT_RUNPATH or DT_RPATH), e.g. `$ORIGIN/../lib`.
    pub search_paths: Vec<String>,
    /// Its `e_machine` (62 x86_64, 183 aarch64).
    pub machine: u16,
}

/// What the file at `path` needs, or `None` when it is not a 64-bit ELF file (or cannot be
/// parsed as one: then Lambda's own error will tell). Only the headers and the few sections read
/// are loaded, not the whole file (a Deno binary is about 100 MB).
pub fn needs_of(path: &Path) -> Option<Needs> {
    let head = crate::elf::read_head(path, 4).ok()?;
    if head != b"\x7fELF" {
        return None;
    }
    let cache = ReadCache::new(std::fs::File::open(path).ok()?);
    needs_in(&cache)
}

/// [`needs_of`] on the file's bytes (or a cache of them).
pub fn needs_in<'data, R: ReadRef<'data>>(data: R) -> Option<Needs> {
    let file = ElfFile64::<Endianness, R>::parse(data).ok()?;
    let endian = file.endian();
    let sections = file.elf_section_table();
    let mut needs = Needs {
        machine: file.elf_header().e_machine.get(endian),
        ..Needs::default()
    };
    if let Ok(Some((mut versions, link))) = sections.gnu_verneed(endian, data) {
        let strings = sections.strings(endian, data, link).ok()?;
        while let Ok(Some((_, mut auxiliaries))) = versions.next() {
            while let Ok(Some(auxiliary)) = auxiliaries.next() {
                let Ok(name) = auxiliary.name(endian, strings) else {
                    continue;
                };
                if let Some(version) = glibc_version(&String::from_utf8_lossy(name)) {
                    needs.glibc = needs.glibc.max(Some(version));
                }
            }
        }
    }
    if let Ok(Some((dynamic, link))) = sections.dynamic(endian, data) {
        if let Ok(strings) = sections.strings(endian, data, link) {
            for entry in dynamic {
                let tag = entry.d_tag(endian) as u32;
                let Ok(value) = strings.get(entry.d_val(endian) as u32) else {
                    continue;
                };
                let value = String::from_utf8_lossy(value).into_owned();
                match tag {
                    object::elf::DT_NEEDED => needs.libraries.push(value),
                    object::elf::DT_RUNPATH | object::elf::DT_RPATH => needs
                        .search_paths
                        .extend(value.split(':').map(str::to_string)),
                    _ => {}
                }
            }
        }
    }
    Some(needs)
}

/// `GLIBC_2.36` → `(2, 36)`; other version names (`GLIBC_PRIVATE`, `GCC_3.0`) → `None`.
fn glibc_version(name: &str) -> Option<GlibcVersion> {
    let mut parts = name.strip_prefix("GLIBC_")?.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next().map_or(Some(0), |m| m.parse().ok())?;
    Some((major, minor))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glibc_version_names_are_read() {
        assert_eq!(glibc_version("GLIBC_2.36"), Some((2, 36)));
        assert_eq!(glibc_version("GLIBC_2.2.5"), Some((2, 2)));
        assert_eq!(glibc_version("GLIBC_PRIVATE"), None);
        assert_eq!(glibc_version("GCC_3.0"), None);
    }

    #[test]
    fn this_machines_shell_needs_a_glibc_and_libc() {
        let needs = needs_of(Path::new("/bin/sh")).expect("/bin/sh is an ELF file here");
        assert!(needs.glibc.is_some_and(|v| v >= (2, 2)), "{needs:?}");
        assert!(
            needs.libraries.iter().any(|l| l == "libc.so.6"),
            "{needs:?}"
        );
        assert_eq!(needs_of(Path::new("/etc/hostname")), None);
    }
}
