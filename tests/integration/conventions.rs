//! The conventions of a command-line tool, through the real binary:
//! completion scripts that the shells accept and that complete, a man page
//! that `man` (and mandoc's lint) accepts, `--version` with the commit, and
//! the last of a flag given twice winning.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::support::bin;

fn stdout_of(args: &[&str]) -> String {
    let out = bin().args(args).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{args:?}: {out:?}");
    assert!(out.stderr.is_empty(), "{args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

fn script(shell: &str) -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), stdout_of(&["completions", shell])).unwrap();
    file
}

/// Runs `program args…` and returns its stdout; fails on a non-zero exit.
fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e} (install it to run this test)"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_bash_script_parses() {
    let file = script("bash");
    run("bash", &["-n", &file.path().to_string_lossy()]);
}

/// What bash offers for a command line (the words so far, the last one
/// being completed), as pressing Tab would: the script's own function
/// called the way `complete -F` calls it.
fn bash_completes(file: &Path, words: &[&str]) -> Vec<String> {
    let words: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let program = format!(
        r#"source '{}'
spec="$(complete -p smtp-workbench)" || exit 7
fn="${{spec##*-F }}"; fn="${{fn%% *}}"
COMP_WORDS=({})
COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
COMP_LINE="${{COMP_WORDS[*]}}"; COMP_POINT=${{#COMP_LINE}}
"$fn" smtp-workbench "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}" 2>/dev/null
printf '%s\n' "${{COMPREPLY[@]}}""#,
        file.display(),
        words.join(" ")
    );
    run("bash", &["--norc", "--noprofile", "-c", &program])
        .lines()
        .map(String::from)
        .collect()
}

#[test]
fn bash_completes_commands_flags_and_values() {
    let file = script("bash");
    let cases: &[(&[&str], &[&str])] = &[
        (&["smtp-workbench", "se"], &["send", "serve"]),
        (&["smtp-workbench", "--ti"], &["--timeout"]),
        (&["smtp-workbench", "send", "--quit-a"], &["--quit-after"]),
        (&["smtp-workbench", "send", "--rc"], &["--rcpt"]),
        (
            &["smtp-workbench", "send", "--quit-after", ""],
            &["connect", "greeting", "ehlo", "rcpt", "data"],
        ),
        (&["smtp-workbench", "send", "--tls", "s"], &["starttls"]),
        (
            &["smtp-workbench", "serve", "--max-c"],
            &["--max-connections"],
        ),
        (&["smtp-workbench", "serve", "--vrfy", "r"], &["refuse"]),
        (&["smtp-workbench", "dkim-record", "--se"], &["--selector"]),
        (
            &["smtp-workbench", "completions", ""],
            &["bash", "zsh", "fish", "elvish", "powershell"],
        ),
    ];
    for (words, want) in cases {
        let got = bash_completes(file.path(), words);
        for w in *want {
            assert!(got.iter().any(|g| g == w), "{words:?}: {w} not in {got:?}");
        }
    }
    // A file flag completes file names.
    let dir = tempfile::tempdir().unwrap();
    let msg = dir.path().join("complaint.eml");
    std::fs::write(&msg, "Subject: x\r\n\r\nbody\r\n").unwrap();
    let partial = format!("{}/compl", dir.path().display());
    let got = bash_completes(file.path(), &["smtp-workbench", "send", "--data", &partial]);
    assert_eq!(got, [msg.display().to_string()]);
}

#[test]
fn every_shell_gets_a_script_that_names_send_and_serve() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let s = stdout_of(&["completions", shell]);
        assert!(s.lines().count() > 50, "{shell}: {s}");
        for name in ["send", "serve", "dkim-record", "completions"] {
            assert!(s.contains(name), "{shell}: {name}");
        }
    }
    bin()
        .args(["completions", "tcsh"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("possible values: bash, elvish"));
}

/// zsh and fish themselves (Debian's zsh and fish; `.ci/run` installs them).
#[test]
#[ignore = "needs zsh and fish (apt-get install zsh fish)"]
fn zsh_and_fish_accept_their_scripts_and_fish_completes() {
    let zsh = script("zsh");
    run("zsh", &["-n", &zsh.path().to_string_lossy()]);
    let fish = script("fish");
    let path = fish.path().to_string_lossy().into_owned();
    run("fish", &["--no-execute", &path]);
    let got = run(
        "fish",
        &[
            "--no-config",
            "-c",
            &format!(
                "source '{path}'; complete -C 'smtp-workbench se'; \
                 complete -C 'smtp-workbench send --quit-a'; \
                 complete -C 'smtp-workbench send --tls '"
            ),
        ],
    );
    for want in ["send\t", "serve\t", "--quit-after\t", "starttls\t"] {
        assert!(got.contains(want), "{want}: {got}");
    }
}

/// zsh itself, in a terminal, pressing Tab: values complete after a
/// subcommand (the workbench's SERVER once swallowed the command's name).
#[test]
#[ignore = "needs zsh (apt-get install zsh)"]
fn zsh_completes_after_a_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("_smtp-workbench"),
        stdout_of(&["completions", "zsh"]),
    )
    .unwrap();
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_smtp-workbench"))
        .parent()
        .unwrap()
        .to_path_buf();
    let mut pty = crate::pty::Pty::spawn_program("zsh", &["-f"]);
    pty.keys(&format!(
        "PATH='{}':$PATH; fpath=('{}' $fpath); autoload -U compinit; compinit -u -D\r",
        bin_dir.display(),
        dir.path().display()
    ));
    let cases = [
        ("smtp-workbench send --quit-after \t", "greeting"),
        ("smtp-workbench serve --vrfy \t", "252: cannot verify"),
        ("smtp-workbench send --format \t", "json"),
        ("smtp-workbench se\t", "Run the built-in demo server"),
    ];
    for (typed, shown) in cases {
        pty.keys(typed);
        pty.wait_for_within(shown, std::time::Duration::from_secs(5));
        pty.keys("\x03");
        pty.keys("clear\r");
    }
    pty.keys("exit\r");
}

fn man_page() -> tempfile::NamedTempFile {
    let file = tempfile::Builder::new().suffix(".1").tempfile().unwrap();
    std::fs::write(file.path(), stdout_of(&["man"])).unwrap();
    file
}

/// man-db (in the machine's image; `.ci/run` installs it where missing)
/// renders the page with groff's warnings on, and says nothing.
#[test]
fn man_renders_the_page_without_a_warning() {
    let page = man_page();
    let out = Command::new("man")
        .args(["--warnings", "-E", "UTF-8", "-l"])
        .arg(page.path())
        .env("MANPAGER", "cat")
        .env("MANWIDTH", "100")
        .env("MAN_KEEP_FORMATTING", "")
        .stdin(Stdio::null())
        .output()
        .expect("man (apt-get install man-db)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.trim().is_empty(), "{stderr}");
    let text = String::from_utf8_lossy(&out.stdout);
    for want in [
        "NAME",
        "smtp-workbench send",
        "smtp-workbench serve",
        "EXIT STATUS",
        "--mail-from",
        "--max-connections",
        "completions",
    ] {
        assert!(text.contains(want), "{want}:\n{text}");
    }
}

/// mandoc's lint finds nothing at the level of a warning or worse (its
/// style remarks, such as long source lines, are allowed).
#[test]
#[ignore = "needs mandoc (apt-get install mandoc)"]
fn mandoc_lint_finds_no_warning() {
    let page = man_page();
    let path = page.path().to_string_lossy().into_owned();
    let out = run("mandoc", &["-Tlint", "-Wwarning", &path]);
    assert!(out.trim().is_empty(), "{out}");
}

/// `--version`: the version and, built from a git checkout as here, the
/// commit (`-dirty` when a source differs from it).
#[test]
fn version_names_the_commit() {
    let version = stdout_of(&["--version"]);
    assert_eq!(stdout_of(&["-V"]), version);
    let rest = version
        .strip_prefix(&format!("smtp-workbench {}", env!("CARGO_PKG_VERSION")))
        .unwrap_or_else(|| panic!("{version}"));
    let dir = env!("CARGO_MANIFEST_DIR");
    let head = Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(dir)
        .output()
        .ok()
        .filter(|o| o.status.success() && Path::new(dir).join(".git").exists());
    match head {
        Some(h) => {
            let h = String::from_utf8_lossy(&h.stdout).trim().to_string();
            assert!(
                rest == format!(" ({h})\n") || rest == format!(" ({h}-dirty)\n"),
                "{version}"
            );
        }
        None => assert_eq!(rest, "\n", "no checkout, no commit"),
    }
}

/// Through `send` itself: a later --ehlo, --format and --count replace
/// the earlier ones.
#[test]
fn the_last_ehlo_format_and_count_win() {
    let out = stdout_of(&[
        "send",
        "--ehlo",
        "first.example",
        "--ehlo",
        "last.example",
        "--format",
        "json",
        "--format",
        "text",
    ]);
    assert!(out.contains("-> EHLO last.example"), "{out}");
    assert!(!out.contains("first.example"), "{out}");
    let out = stdout_of(&["send", "--count", "9", "--count", "3", "--format", "json"]);
    let last: serde_json::Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    assert!(last.to_string().contains("load: 3 messages"), "{out}");
}
