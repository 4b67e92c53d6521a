//! The shared libraries each Lambda runtime's image has, as data: `data/runtime-libraries/*.txt`,
//! one soname a line, each file citing where its list comes from. A binary that names a library
//! outside this list (and outside the package) fails every cold start with "error while loading
//! shared libraries", so [`super::preflight`] refuses it before anything is sent.

const PROVIDED_AL2023: &str = include_str!("../../data/runtime-libraries/provided.al2023.txt");
const PROVIDED_AL2: &str = include_str!("../../data/runtime-libraries/provided.al2.txt");

/// The sonames of `runtime`'s image, or `None` for a runtime lambda-rt has no list for.
pub fn of(runtime: &str) -> Option<Vec<&'static str>> {
    let text = match runtime {
        "provided.al2023" => PROVIDED_AL2023,
        "provided.al2" => PROVIDED_AL2,
        _ => return None,
    };
    Some(
        text.lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_runtimes_have_glibc_and_neither_has_jq() {
        for runtime in ["provided.al2023", "provided.al2"] {
            let libraries = of(runtime).unwrap();
            for soname in [
                "libc.so.6",
                "libm.so.6",
                "ld-linux-x86-64.so.2",
                "libgcc_s.so.1",
            ] {
                assert!(libraries.contains(&soname), "{runtime}: {soname}");
            }
            assert!(!libraries.contains(&"libjq.so.1"), "{runtime}");
            assert!(!libraries.contains(&"libonig.so.5"), "{runtime}");
            assert!(libraries.iter().all(|l| !l.contains(' ')), "{runtime}");
        }
        // OpenSSL 3 on AL2023, 1.0 on AL2: the kind of difference a list per runtime is for.
        assert!(of("provided.al2023").unwrap().contains(&"libssl.so.3"));
        assert!(of("provided.al2").unwrap().contains(&"libssl.so.10"));
        assert_eq!(of("python3.12"), None);
    }
}
