//! The commit `--version` names: read by the build script (`build.rs`
//! includes this file) from git, when the source is a git checkout of its
//! own; nothing when it is not (a tarball from `cargo install`, a crate
//! unpacked inside some other repository), and no error either way.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The files the binary is built from: a change to one of them, committed
/// or not, makes the build "dirty". Edits elsewhere (tests, docs) do not.
pub const SOURCES: [&str; 5] = ["src", "assets", "Cargo.toml", "Cargo.lock", "build.rs"];

/// Where the source came from, as git tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    /// `git rev-parse --short HEAD`.
    pub commit: String,
    /// One of [`SOURCES`] differs from the commit (or is new and untracked).
    pub dirty: bool,
    /// The commit's date, YYYY-MM-DD (the man page's date).
    pub date: String,
    /// Files whose change means HEAD, a branch or the index moved: the
    /// build script is run again when one changes.
    pub watch: Vec<PathBuf>,
}

/// The stamp of the checkout at `dir`, or `None` when `dir` is not the top
/// of a git work tree or git cannot be run.
pub fn stamp(dir: &Path) -> Option<Stamp> {
    let top = git(dir, &["rev-parse", "--show-toplevel"])?;
    if !same_dir(Path::new(&top), dir) {
        return None;
    }
    let commit = git(dir, &["rev-parse", "--short", "HEAD"])?;
    let mut status = vec![
        "--no-optional-locks",
        "status",
        "--porcelain",
        "--untracked-files=normal",
        "--",
    ];
    status.extend(SOURCES);
    // --no-optional-locks: a plain `git status` may rewrite the index,
    // which is watched, and the build would never settle.
    let dirty = !git(dir, &status)?.is_empty();
    let date = git(dir, &["log", "-1", "--format=%cs", "HEAD"]).unwrap_or_default();
    let mut watch = Vec::new();
    if let Some(git_dir) = git(dir, &["rev-parse", "--absolute-git-dir"]) {
        let git_dir = PathBuf::from(git_dir);
        watch.push(git_dir.join("HEAD"));
        watch.push(git_dir.join("index"));
        let common = git(dir, &["rev-parse", "--git-common-dir"])
            .map(|c| dir.join(c))
            .unwrap_or(git_dir);
        watch.push(common.join("packed-refs"));
        if let Some(head_ref) = git(dir, &["symbolic-ref", "-q", "HEAD"]) {
            watch.push(common.join(head_ref));
        }
    }
    Some(Stamp {
        commit,
        dirty,
        date,
        watch,
    })
}

/// What `--version` prints after the program's name: `0.1.0 (abc1234)`,
/// `0.1.0 (abc1234-dirty)`, or `0.1.0` without a commit.
pub fn version_line(version: &str, commit: Option<&str>, dirty: bool) -> String {
    match commit {
        Some(c) if dirty => format!("{version} ({c}-dirty)"),
        Some(c) => format!("{version} ({c})"),
        None => version.to_string(),
    }
}

/// The date (YYYY-MM-DD, UTC) of a `SOURCE_DATE_EPOCH` (seconds since
/// 1970), the reproducible-builds convention for a build with no git: the
/// man page's date. `None` for anything but a whole number.
pub fn epoch_date(epoch: &str) -> Option<String> {
    let secs: i64 = epoch.trim().parse().ok()?;
    // Days to a civil date (H. Hinnant's algorithm, proleptic Gregorian).
    let z = secs.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    Some(format!("{year:04}-{month:02}-{day:02}"))
}

/// Runs git in `dir`; its trimmed output when it succeeds.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .current_dir(dir)
        .args(args)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    Some(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn same_dir(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(dir: &Path, args: &[&str]) {
        let ok = Command::new("git")
            .current_dir(dir)
            .args(args)
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE")
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        assert!(ok, "git {args:?} failed in {}", dir.display());
    }

    /// A fresh repository with one commit of `src/main.rs`.
    fn repo() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        run(d, &["init", "-q"]);
        run(d, &["config", "user.email", "t@example.test"]);
        run(d, &["config", "user.name", "t"]);
        std::fs::create_dir(d.join("src")).unwrap();
        std::fs::write(d.join("src/main.rs"), "fn main() {}\n").unwrap();
        run(d, &["add", "."]);
        run(d, &["commit", "-q", "-m", "one"]);
        dir
    }

    #[test]
    fn the_version_line_names_the_commit_and_a_dirty_tree() {
        let cases = [
            (None, false, "0.1.0"),
            (None, true, "0.1.0"),
            (Some("abc1234"), false, "0.1.0 (abc1234)"),
            (Some("abc1234"), true, "0.1.0 (abc1234-dirty)"),
        ];
        for (commit, dirty, want) in cases {
            assert_eq!(version_line("0.1.0", commit, dirty), want);
        }
    }

    #[test]
    fn source_date_epoch_gives_the_utc_date() {
        let cases = [
            ("0", Some("1970-01-01")),
            ("86399", Some("1970-01-01")),
            ("86400", Some("1970-01-02")),
            ("951782400", Some("2000-02-29")),
            ("1709164800", Some("2024-02-29")),
            ("1735689599", Some("2024-12-31")),
            ("1735689600", Some("2025-01-01")),
            (" 1735689600\n", Some("2025-01-01")),
            ("-86400", Some("1969-12-31")),
            ("", None),
            ("yesterday", None),
            ("1.5", None),
        ];
        for (epoch, want) in cases {
            assert_eq!(epoch_date(epoch).as_deref(), want, "{epoch:?}");
        }
    }

    #[test]
    fn a_plain_directory_has_no_stamp() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Cargo.toml"), "").unwrap();
        assert_eq!(stamp(dir.path()), None);
    }

    #[test]
    fn a_crate_unpacked_inside_another_repository_has_no_stamp() {
        let dir = repo();
        let inner = dir.path().join("vendor/some-crate");
        std::fs::create_dir_all(&inner).unwrap();
        assert_eq!(stamp(&inner), None);
    }

    #[test]
    fn a_checkout_is_stamped_and_a_changed_source_marks_it_dirty() {
        let dir = repo();
        let d = dir.path();
        let clean = stamp(d).unwrap();
        let head = git(d, &["rev-parse", "--short", "HEAD"]).unwrap();
        assert_eq!(clean.commit, head);
        assert!(!clean.dirty);
        assert_eq!(clean.date.len(), "2026-01-01".len(), "{}", clean.date);
        assert!(clean.watch.iter().any(|p| p.ends_with("HEAD")));
        // A file outside the sources does not count.
        std::fs::write(d.join("NOTES.md"), "notes\n").unwrap();
        assert!(!stamp(d).unwrap().dirty);
        // An edited source does, and so does a new one.
        std::fs::write(d.join("src/main.rs"), "fn main() { }\n").unwrap();
        assert!(stamp(d).unwrap().dirty);
        run(d, &["checkout", "-q", "--", "src/main.rs"]);
        assert!(!stamp(d).unwrap().dirty);
        std::fs::write(d.join("src/new.rs"), "\n").unwrap();
        assert!(stamp(d).unwrap().dirty);
    }
}
