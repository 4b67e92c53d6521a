//! Zips a directory with lambda-rt's own packager (the code `create` uses), for the packaging
//! benchmark: `bench-package DIR OUT.zip`. Lambda's size limits are lifted so large synthetic
//! directories can be measured.
//!
//! `bench-package --floor DIR` measures the compression floor instead: the same files, already
//! in memory, deflated at the packager's level on every core into one-entry zips, with no reading,
//! no merging and no writing; it prints the milliseconds that took. The packager cannot be faster
//! than that on this machine.

use std::io::Write;
use std::time::Instant;

use lambda_rt::package::{build_zip, collect_dir, Limits};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["--floor", dir] => floor(dir),
        [dir, out] => package(dir, out),
        _ => {
            eprintln!("usage: bench-package DIR OUT.zip | bench-package --floor DIR");
            std::process::exit(2);
        }
    }
}

fn package(dir: &str, out: &str) {
    let dir = std::path::PathBuf::from(dir);
    let entries = collect_dir(&dir, &dir).expect("failed to list the directory");
    let limits = Limits {
        zipped: u64::MAX,
        unzipped: u64::MAX,
    };
    let package = build_zip(entries, limits).expect("failed to zip");
    std::fs::write(out, &package.bytes).expect("failed to write the zip");
    println!("{} {}", package.bytes.len(), package.code_sha256);
}

fn floor(dir: &str) {
    let dir = std::path::PathBuf::from(dir);
    let entries = collect_dir(&dir, &dir).expect("failed to list the directory");
    let contents: Vec<Vec<u8>> = entries
        .iter()
        .map(|e| std::fs::read(&e.source).expect("failed to read a file"))
        .collect();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let next = std::sync::atomic::AtomicUsize::new(0);
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..cores {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(bytes) = contents.get(i) else {
                    return;
                };
                let mut zip = ZipWriter::new(std::io::Cursor::new(Vec::new()));
                let options = SimpleFileOptions::default()
                    .compression_method(CompressionMethod::Deflated)
                    .compression_level(Some(6));
                zip.start_file("f", options).unwrap();
                zip.write_all(bytes).unwrap();
                std::hint::black_box(zip.finish().unwrap());
            });
        }
    });
    println!("{:.1}", started.elapsed().as_secs_f64() * 1000.0);
}
