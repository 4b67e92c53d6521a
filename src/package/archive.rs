//! Deterministic zips and their CodeSha256: entries sorted by name, the zip epoch (1980-01-01) as
//! every entry's time, explicit modes, compressed on every core with bytes that do not depend on
//! the number of cores; and extraction for local runs.

use std::io::{Cursor, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use anyhow::{bail, Context, Result};
use base64::Engine;
use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

use super::parts::{Entry, Limits, Package};
use crate::error::UsageError;
use crate::output::{exact_size, human_size};

/// Zips `entries` deterministically (sorted by name) and checks the size limits.
pub fn build_zip(mut entries: Vec<Entry>, limits: Limits) -> Result<Package> {
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    if let Some(pair) = entries.windows(2).find(|w| w[0].name == w[1].name) {
        bail!(
            "two files would both be stored as `{}` in the zip",
            pair[0].name
        );
    }

    let mut sizes = Vec::with_capacity(entries.len());
    for entry in &entries {
        sizes.push(
            std::fs::metadata(&entry.source)
                .with_context(|| format!("failed to read `{}`", entry.source.display()))?
                .len(),
        );
    }
    let unzipped_size = sizes.iter().sum();
    check_limit("unzipped", unzipped_size, limits.unzipped)?;

    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let bytes = zip_entries(&entries, &sizes, cores)?;
    check_limit("zipped", bytes.len() as u64, limits.zipped)?;

    Ok(Package {
        code_sha256: code_sha256(&bytes),
        bytes,
        unzipped_size,
        entry_names: entries.into_iter().map(|e| e.name).collect(),
        deployed_as: None,
    })
}

/// Compresses the entries on every core, each into a one-entry zip of its own, and merges those
/// in name order into the final zip. Merging copies the compressed entries as they are, so the
/// bytes do not depend on the number of cores (a unit test checks it).
fn zip_entries(entries: &[Entry], sizes: &[u64], threads: usize) -> Result<Vec<u8>> {
    let threads = threads.min(entries.len()).max(1);
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        let (sender, receiver) = std::sync::mpsc::sync_channel(threads * 4);
        for _ in 0..threads {
            let (sender, next) = (sender.clone(), &next);
            scope.spawn(move || loop {
                let index = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let Some(entry) = entries.get(index) else {
                    break;
                };
                if sender.send((index, compress_entry(entry))).is_err() {
                    break;
                }
            });
        }
        drop(sender);
        // Reserved at the largest size the zip can take: pages are only touched as they are
        // written, and the growing zip is never copied into a buffer twice its size.
        let headers: usize = entries.iter().map(|e| 2 * e.name.len() + 128).sum();
        let most = sizes.iter().sum::<u64>() as usize + headers + 64;
        let mut writer = ZipWriter::new(Cursor::new(Vec::with_capacity(most)));
        let mut ready = std::collections::BTreeMap::new();
        let mut wanted = 0;
        for (index, single) in receiver {
            ready.insert(index, single?);
            while let Some(single) = ready.remove(&wanted) {
                writer.merge_archive(single).with_context(|| {
                    format!("failed to add `{}` to the zip", entries[wanted].name)
                })?;
                wanted += 1;
            }
        }
        Ok(writer
            .finish()
            .context("failed to finish the zip")?
            .into_inner())
    })
}

/// One entry as a one-entry zip: deflated, or stored like zip(1) does when deflate cannot shrink
/// it (already-compressed or random data), since deflating that only adds bytes.
fn compress_entry(entry: &Entry) -> Result<zip::ZipArchive<Cursor<Vec<u8>>>> {
    let contents = std::fs::read(&entry.source)
        .with_context(|| format!("failed to read `{}`", entry.source.display()))?;
    let mut single = single_entry_zip(entry, &contents, CompressionMethod::Deflated)?;
    if single.by_index_raw(0)?.compressed_size() >= contents.len() as u64 {
        single = single_entry_zip(entry, &contents, CompressionMethod::Stored)?;
    }
    Ok(single)
}

/// A zip holding just `entry` with `contents`, compressed with `method`.
fn single_entry_zip(
    entry: &Entry,
    contents: &[u8],
    method: CompressionMethod,
) -> Result<zip::ZipArchive<Cursor<Vec<u8>>>> {
    let mut writer = ZipWriter::new(Cursor::new(Vec::with_capacity(
        contents.len() + 2 * entry.name.len() + 192,
    )));
    let level = (method == CompressionMethod::Deflated).then_some(6);
    let options = SimpleFileOptions::default()
        .compression_method(method)
        .compression_level(level)
        .last_modified_time(DateTime::default())
        .unix_permissions(entry.mode);
    writer
        .start_file(entry.name.as_str(), options)
        .and_then(|()| writer.write_all(contents).map_err(Into::into))
        .and_then(|()| writer.finish())
        .map_err(anyhow::Error::from)
        .and_then(|cursor| Ok(zip::ZipArchive::new(Cursor::new(cursor.into_inner()))?))
        .with_context(|| format!("failed to compress `{}`", entry.name))
}

fn check_limit(what: &str, size: u64, limit: u64) -> Result<()> {
    if size > limit {
        let remedy = if what == "zipped" {
            "stage the zip in S3 with --s3-bucket (Lambda takes larger zips from there), or leave \
             large files out with a .lambdaignore file"
        } else {
            "leave large files out with a .lambdaignore file in function/ or runtime/"
        };
        return Err(UsageError(format!(
            "the package is {} {what}, over Lambda's {} {what} limit by {}: {remedy}",
            exact_size(size),
            human_size(limit),
            exact_size(size - limit)
        ))
        .into());
    }
    Ok(())
}

/// `base64(sha256(bytes))`, as Lambda reports CodeSha256.
pub fn code_sha256(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(bytes))
}

/// Extracts a zip into `dir`, restoring the stored permission bits (as Lambda does for /var/task and
/// /opt) but never setuid, setgid or sticky bits, whatever the zip says.
pub fn extract(bytes: &[u8], dir: &Path) -> Result<()> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).context("failed to read the zip")?;
    for index in 0..archive.len() {
        let mut file = archive.by_index(index)?;
        let Some(relative) = file.enclosed_name() else {
            bail!(
                "zip entry `{}` would escape the extraction directory",
                file.name()
            );
        };
        let path = dir.join(relative);
        if file.is_dir() {
            std::fs::create_dir_all(&path)?;
            continue;
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let mut out = std::fs::File::create(&path)
            .with_context(|| format!("failed to create `{}`", path.display()))?;
        std::io::copy(&mut file, &mut out)?;
        if let Some(mode) = file.unix_mode() {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode & 0o777))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::package::collect::collect_dir;
    use crate::package::test_files::*;
    use std::io::Read;

    #[test]
    fn same_input_gives_same_bytes_modes_order_and_sha() {
        let dir = tree(&[
            ("function/z.sh", "echo z", 0o600),
            ("function/a/b.txt", "b", 0o664),
            ("function/tool", "#!/bin/sh", 0o700),
            ("runtime/bootstrap", "#!/bin/bash", 0o600),
        ]);
        let f = dir.path().join("function");
        let entries = || {
            let mut e = collect_dir(&f, dir.path()).unwrap();
            e.push(Entry {
                name: "bootstrap".into(),
                source: dir.path().join("runtime/bootstrap"),
                mode: 0o755,
            });
            e
        };
        let one = build_zip(entries(), Limits::default()).unwrap();
        // Touch every file: a new mtime must not change the bytes.
        std::thread::sleep(std::time::Duration::from_millis(1100));
        write(&f.join("z.sh"), "echo z", 0o600);
        let two = build_zip(entries(), Limits::default()).unwrap();
        assert_eq!(one.bytes, two.bytes);
        assert_eq!(one.code_sha256, code_sha256(&two.bytes));
        assert_eq!(
            one.code_sha256,
            base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&one.bytes))
        );
        assert_eq!(
            modes(&one),
            vec![
                ("a/b.txt".to_string(), 0o644),
                ("bootstrap".to_string(), 0o755),
                ("tool".to_string(), 0o755),
                ("z.sh".to_string(), 0o644),
            ]
        );
        let mut archive = zip::ZipArchive::new(Cursor::new(&one.bytes)).unwrap();
        let stamp = archive.by_index(0).unwrap().last_modified().unwrap();
        assert_eq!((stamp.year(), stamp.month(), stamp.day()), (1980, 1, 1));
    }

    #[test]
    fn limits_name_the_limit_and_the_excess() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big");
        std::fs::write(&path, vec![b'a'; 2000]).unwrap();
        let entry = Entry {
            name: "big".into(),
            source: path,
            mode: 0o644,
        };
        let err = build_zip(
            vec![entry.clone()],
            Limits {
                zipped: u64::MAX,
                unzipped: 1000,
            },
        )
        .unwrap_err();
        assert!(
            format!("{err:#}").contains("unzipped limit by 1000 bytes"),
            "{err:#}"
        );
        let err = build_zip(
            vec![entry],
            Limits {
                zipped: 10,
                unzipped: u64::MAX,
            },
        )
        .unwrap_err();
        assert!(format!("{err:#}").contains("zipped limit by"), "{err:#}");
    }

    #[test]
    fn extract_restores_modes() {
        let dir = tempfile::tempdir().unwrap();
        write(&dir.path().join("src/bootstrap"), "#!/bin/bash", 0o600);
        let entry = Entry {
            name: "bootstrap".into(),
            source: dir.path().join("src/bootstrap"),
            mode: 0o755,
        };
        let package = build_zip(vec![entry], Limits::default()).unwrap();
        let out = dir.path().join("out");
        extract(&package.bytes, &out).unwrap();
        let mode = std::fs::metadata(out.join("bootstrap"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o755);
    }

    #[test]
    fn bytes_do_not_depend_on_the_number_of_threads() {
        let dir = tempfile::tempdir().unwrap();
        let mut entries = Vec::new();
        for i in 0..40 {
            let path = dir.path().join(format!("f{i:02}"));
            write(&path, &"data ".repeat(i * 100 + 1), 0o644);
            entries.push(Entry {
                name: format!("f{i:02}"),
                source: path,
                mode: 0o644,
            });
        }
        let sizes: Vec<u64> = entries
            .iter()
            .map(|e| std::fs::metadata(&e.source).unwrap().len())
            .collect();
        let one = zip_entries(&entries, &sizes, 1).unwrap();
        for threads in [2, 3, 8] {
            assert_eq!(one, zip_entries(&entries, &sizes, threads).unwrap());
        }
        // And the merged zip reads back entry by entry.
        let mut archive = zip::ZipArchive::new(Cursor::new(&one)).unwrap();
        let mut text = String::new();
        archive
            .by_name("f39")
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, "data ".repeat(3901));
    }

    #[test]
    fn incompressible_files_are_stored() {
        let dir = tempfile::tempdir().unwrap();
        // A byte sequence deflate cannot shrink (an LCG's high bytes), and plain text.
        let mut state = 12345u32;
        let noise: Vec<u8> = (0..20_000)
            .map(|_| {
                state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
                (state >> 24) as u8
            })
            .collect();
        std::fs::write(dir.path().join("noise.bin"), &noise).unwrap();
        write(&dir.path().join("text.txt"), &"words ".repeat(4000), 0o644);
        let entries = collect_dir(dir.path(), dir.path()).unwrap();
        let package = build_zip(entries, Limits::default()).unwrap();
        let mut archive = zip::ZipArchive::new(Cursor::new(&package.bytes)).unwrap();
        let noise_entry = archive.by_name("noise.bin").unwrap();
        assert_eq!(noise_entry.compression(), CompressionMethod::Stored);
        assert_eq!(noise_entry.compressed_size(), 20_000);
        drop(noise_entry);
        assert_eq!(
            archive.by_name("text.txt").unwrap().compression(),
            CompressionMethod::Deflated
        );
    }
}
