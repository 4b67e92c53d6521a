//! What a Linux binary needs from the system it runs on: the newest glibc symbol version it links
//! against (`GLIBC_2.36`) and the shared libraries it names. A binary built on a newer
//! distribution than Lambda's deploys fine and then fails every cold start with "version
//! `GLIBC_2.36' not found" — the obstacle the Deno custom-runtime guide opens with — so the
//! package's ELF files are checked against the runtime's glibc before anything is sent.
//!
//! The glibc of each runtime: provided.al2023 is Amazon Linux 2023, whose glibc is 2.34
//! (aws/aws-lambda-rust-runtime#932: "AL2023 goes up to GLIBC 2.34"; its packages are
//! glibc-2.34-*.amzn2023, aws/graph-explorer#1749); provided.al2 is Amazon Linux 2, glibc 2.26
//! (binaries needing GLIBC_2.28 fail there, aws/aws-lambda-rust-runtime#874).

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
    let mut needs = Needs::default();
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
                if entry.d_tag(endian) as u32 == object::elf::DT_NEEDED {
                    if let Ok(name) = strings.get(entry.d_val(endian) as u32) {
                        needs
                            .libraries
                            .push(String::from_utf8_lossy(name).into_owned());
                    }
                }
            }
        }
    }
    Some(needs)
}

/// Refuses (exit 2, before anything is sent) an ELF file among `entries` that needs a newer glibc
/// than `runtime` has, naming the file, both versions and the fix. Runtimes whose glibc lambda-rt
/// does not know are not checked.
pub fn check_glibc(
    entries: &[crate::package::Entry],
    project_dir: &Path,
    runtime: &str,
) -> anyhow::Result<()> {
    let Some(has) = runtime_glibc(runtime) else {
        return Ok(());
    };
    for entry in entries {
        let Some(needs) = needs_of(&entry.source) else {
            continue;
        };
        if let Some(wanted) = needs.glibc.filter(|wanted| *wanted > has) {
            let shown = entry
                .source
                .strip_prefix(project_dir)
                .unwrap_or(&entry.source)
                .display()
                .to_string();
            return Err(crate::error::UsageError(format!(
                "`{shown}` needs GLIBC_{}.{} and {runtime} has glibc {}.{}: Lambda would fail \
                 every cold start with \"version `GLIBC_{}.{}' not found\". Use a build made for \
                 an older glibc (e.g. built in the amazonlinux container of that runtime, or a \
                 static build)",
                wanted.0, wanted.1, has.0, has.1, wanted.0, wanted.1
            ))
            .into());
        }
    }
    Ok(())
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
