//! Stamps the version `--version` prints with the git commit the binary is
//! built from (`src/cli/build_version.rs`), and gives the man page its date
//! (the commit's, else `SOURCE_DATE_EPOCH`'s, else none).
//! `SMTP_WORKBENCH_COMMIT` set at build time names the commit instead, for a
//! build from a tarball whose commit is known.

#[path = "src/cli/build_version.rs"]
mod build_version;

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=SMTP_WORKBENCH_COMMIT");
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    let dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let stamp = build_version::stamp(&dir);
    if let Some(s) = &stamp {
        for source in build_version::SOURCES {
            println!("cargo:rerun-if-changed={source}");
        }
        // Only files that exist: cargo runs the script again on every build
        // for one that does not (packed-refs before the first `git gc`).
        for path in s.watch.iter().filter(|p| p.exists()) {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
    let given = std::env::var("SMTP_WORKBENCH_COMMIT")
        .ok()
        .filter(|c| !c.trim().is_empty());
    let line = match (&given, &stamp) {
        (Some(c), _) => build_version::version_line(&version, Some(c.trim()), false),
        (None, Some(s)) => build_version::version_line(&version, Some(&s.commit), s.dirty),
        (None, None) => build_version::version_line(&version, None, false),
    };
    // The commit's date; else SOURCE_DATE_EPOCH's (reproducible builds).
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
    let date = stamp
        .map(|s| s.date)
        .filter(|d| !d.is_empty())
        .or_else(|| {
            let epoch = std::env::var("SOURCE_DATE_EPOCH").ok()?;
            build_version::epoch_date(&epoch)
        })
        .unwrap_or_default();
    println!("cargo:rustc-env=SMTP_WORKBENCH_VERSION={line}");
    println!("cargo:rustc-env=SMTP_WORKBENCH_DATE={date}");
}
