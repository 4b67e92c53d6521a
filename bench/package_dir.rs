//! Zips a directory with lambda-rt's own packager (the code `create` uses), for the packaging
//! benchmark: `bench-package DIR OUT.zip`. Lambda's size limits are lifted so large synthetic
//! directories can be measured.

use lambda_rt::package::{build_zip, collect_dir, Limits};

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(dir), Some(out)) = (args.next(), args.next()) else {
        eprintln!("usage: bench-package DIR OUT.zip");
        std::process::exit(2);
    };
    let dir = std::path::PathBuf::from(dir);
    let entries = collect_dir(&dir, &dir).expect("failed to list the directory");
    let limits = Limits {
        zipped: u64::MAX,
        unzipped: u64::MAX,
    };
    let package = build_zip(entries, limits).expect("failed to zip");
    std::fs::write(&out, &package.bytes).expect("failed to write the zip");
    println!("{} {}", package.bytes.len(), package.code_sha256);
}
