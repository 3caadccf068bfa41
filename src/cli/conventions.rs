//! What a command-line tool is expected to carry: shell completions
//! (`completions SHELL`, clap_complete) and a manual page (`man`,
//! clap_mangen). Both are made from the parser's own clap types, so neither
//! can miss a flag or a subcommand.

use std::io::Write;

use clap::{Arg, Command, CommandFactory, ValueHint};
use clap_complete::Shell;
use clap_mangen::roff::{bold, roman, Roff};
use clap_mangen::Man;

use super::args::Cli;

/// Completion hints by value name, for every flag of every face: one table,
/// so a flag added later with one of these names gets its hint too. A shell
/// completes a file name, a directory or a host name there; the enumerated
/// values (`--tls`, `--format`, …) come from the parser's own names.
const HINTS: &[(&str, ValueHint)] = &[
    ("FILE", ValueHint::FilePath),
    ("NAME|FILE", ValueHint::FilePath),
    ("FILE.eml", ValueHint::FilePath),
    ("DIR", ValueHint::DirPath),
    ("PATH", ValueHint::AnyPath),
    ("SERVER", ValueHint::Hostname),
    ("HOST[:PORT]", ValueHint::Hostname),
    ("HOST[:PORT]|unix:PATH", ValueHint::Hostname),
    ("DOMAIN[:PORT]", ValueHint::Hostname),
    ("ADDR [PARAM...]", ValueHint::EmailAddress),
    ("MAILBOX", ValueHint::EmailAddress),
    ("USER", ValueHint::Username),
];

/// The command line as clap knows it, with the completion hints set.
pub fn command() -> Command {
    with_hints(Cli::command())
}

fn with_hints(cmd: Command) -> Command {
    cmd.mut_args(hint).mut_subcommands(with_hints)
}

fn hint(arg: Arg) -> Arg {
    let name = arg
        .get_value_names()
        .and_then(|names| names.first())
        .map(|n| n.as_str().to_string())
        .unwrap_or_else(|| arg.get_id().as_str().to_ascii_uppercase());
    match HINTS.iter().find(|(n, _)| *n == name) {
        Some((_, h)) => arg.value_hint(*h),
        None => arg,
    }
}

const BIN: &str = "smtp-workbench";

/// The completion script for `shell`, with two faults of clap_complete
/// 4.6 mended (each a no-op once it is fixed upstream).
pub fn completion_script(shell: Shell) -> Vec<u8> {
    let mut cmd = command();
    if shell == Shell::Zsh {
        // zsh's _arguments splits a spec at each colon, and clap_complete
        // writes value names as they are: `--dns=[…]:HOST[:PORT]:_hosts`
        // would give the message "HOST[" and the action "PORT]:_hosts".
        cmd = escape_colons(cmd);
    }
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, BIN, &mut out);
    if shell == Shell::Zsh {
        out = zsh_first_word(&String::from_utf8_lossy(&out)).into_bytes();
    }
    if shell == Shell::Bash {
        // With a hyphen in the program's name, the loop that finds the
        // subcommand spells its state `smtp__workbench__subcmd__send` and the
        // arms that complete it `smtp__subcmd__workbench__subcmd__send`, so
        // nothing after a subcommand completes (clap-rs/clap#6421).
        let script = String::from_utf8_lossy(&out)
            .replace(&BIN.replace('-', "__subcmd__"), &BIN.replace('-', "__"));
        out = script.into_bytes();
    }
    out
}

/// The workbench's SERVER comes where a command would, and clap_complete's
/// zsh script takes the first word for SERVER and looks for the command in
/// the second: after `send` only the workbench's own flags completed. Here
/// the first word is one spec that offers the commands and host names, and
/// the command is looked for in it.
fn zsh_first_word(script: &str) -> String {
    let commands = format!("\":: :_{BIN}_commands\" \\");
    let mut out = String::with_capacity(script.len());
    for line in script.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("'::server -- ") {
            continue;
        }
        if trimmed == commands {
            out.push_str(&format!("\":: :{{_{BIN}_commands; _hosts}}\" \\"));
        } else {
            out.push_str(&line.replace("$line[2]", "$line[1]"));
        }
        out.push('\n');
    }
    out
}

fn escape_colons(cmd: Command) -> Command {
    cmd.mut_args(|a| match a.get_value_names() {
        Some(names) if names.iter().any(|n| n.contains(':')) => {
            let escaped: Vec<String> = names.iter().map(|n| n.replace(':', "\\:")).collect();
            a.value_names(escaped)
        }
        _ => a,
    })
    .mut_subcommands(escape_colons)
}

/// `smtp-workbench completions SHELL`: the script on stdout.
pub fn completions(shell: Shell) -> u8 {
    print(&completion_script(shell))
}

/// `smtp-workbench man`: the page on stdout.
pub fn man() -> u8 {
    print(man_page(env!("SMTP_WORKBENCH_DATE")).as_bytes())
}

/// 0 when stdout took it all (or was closed early, as by `| head`); 1 with
/// a message when it could not be written.
fn print(bytes: &[u8]) -> u8 {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => 0,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => 0,
        Err(e) => {
            eprintln!("smtp-workbench: cannot write to stdout: {e}");
            1
        }
    }
}

/// One page for the whole program: the workbench's synopsis and options,
/// then each command with its own synopsis, options and examples (one page
/// to read with `man`, not one per command), then the exit statuses.
pub fn man_page(date: &str) -> String {
    let mut cmd = command().disable_help_subcommand(true);
    cmd.build();
    let top = Man::new(cmd.clone()).date(date);
    let mut page = Page::default();
    page.man(&top, Man::render_title);
    page.man(&top, Man::render_name_section);
    page.man(&top, Man::render_synopsis_section);
    page.man(&top, Man::render_description_section);
    page.man(&top, Man::render_options_section);
    let mut roff = Roff::default();
    roff.control("SH", ["COMMANDS"]);
    page.roff(&roff);
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        page.command(sub);
    }
    if let Some(after) = cmd.get_after_help() {
        let mut roff = Roff::default();
        roff.control("SH", ["EXIT STATUS"]);
        for line in after.to_string().lines() {
            roff.text([roman(line)]);
        }
        page.roff(&roff);
    }
    page.man(&top, Man::render_version_section);
    page.text
}

/// The page as it grows. Each piece is rendered on its own and starts with
/// the same preamble (roff's apostrophe string); only the first keeps it.
#[derive(Default)]
struct Page {
    text: String,
    preamble: Option<String>,
}

impl Page {
    fn man(&mut self, man: &Man, render: fn(&Man, &mut dyn Write) -> std::io::Result<()>) {
        let mut out = Vec::new();
        if render(man, &mut out).is_ok() {
            self.push(String::from_utf8_lossy(&out).into_owned());
        }
    }

    fn roff(&mut self, roff: &Roff) {
        self.push(roff.render());
    }

    fn push(&mut self, piece: String) {
        // clap_mangen sets a blank line (a .sp) between two .br before the
        // list of possible values: the same space as the blank line alone,
        // and mandoc's lint warns about each redundant .br.
        let piece = piece.replace("\n.br\n\n.br\n", "\n.sp\n");
        match &self.preamble {
            None => {
                let at = piece.find(".TH ").unwrap_or(0);
                self.preamble = Some(piece[..at].to_string());
                self.text.push_str(&piece);
            }
            Some(p) => self
                .text
                .push_str(piece.strip_prefix(p.as_str()).unwrap_or(&piece)),
        }
    }

    /// One command as a subsection of COMMANDS: what it does, its synopsis,
    /// its options, and its examples kept as written (no filling).
    fn command(&mut self, sub: &Command) {
        let name = sub.get_bin_name().unwrap_or_else(|| sub.get_name());
        let mut head = Roff::default();
        head.control("SS", [name]);
        if let Some(about) = sub.get_long_about().or_else(|| sub.get_about()) {
            head.text([roman(about.to_string())]);
        }
        self.roff(&head);
        let man = Man::new(sub.clone());
        let mut synopsis = Vec::new();
        let mut options = Vec::new();
        let _ = man.render_synopsis_section(&mut synopsis);
        let _ = man.render_options_section(&mut options);
        let has_options = sub.get_arguments().any(|a| !a.is_hide_set());
        for (title, piece, show) in [
            ("Synopsis", synopsis, true),
            ("Options", options, has_options),
        ] {
            if show {
                self.push(subsection(title, &String::from_utf8_lossy(&piece)));
            }
        }
        if let Some(after) = sub.get_after_help() {
            let mut roff = Roff::default();
            roff.control("PP", []).text([bold("Examples and notes")]);
            roff.control("PP", []).control("nf", []);
            for line in after.to_string().lines() {
                roff.text([roman(line)]);
            }
            roff.control("fi", []);
            self.roff(&roff);
        }
    }
}

/// A section clap_mangen rendered for a command, set under a bold title
/// inside that command's subsection: its `.SH` lines become paragraphs.
fn subsection(title: &str, piece: &str) -> String {
    let mut out = String::new();
    for line in piece.lines() {
        if line.starts_with(".SH ") {
            out.push_str(&format!(".PP\n\\fB{title}\\fR\n.br\n"));
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every flag of every command, with its command's name.
    fn flags(cmd: &Command, path: &str, out: &mut Vec<(String, Arg)>) {
        for a in cmd.get_arguments() {
            out.push((path.to_string(), a.clone()));
        }
        for s in cmd.get_subcommands() {
            flags(s, &format!("{path} {}", s.get_name()), out);
        }
    }

    #[test]
    fn files_hosts_and_mailboxes_get_their_hints() {
        let mut cmd = command();
        cmd.build();
        let mut all = Vec::new();
        flags(&cmd, "smtp-workbench", &mut all);
        let hint_of = |path: &str, id: &str| {
            all.iter()
                .find(|(p, a)| p == path && a.get_id() == id)
                .map(|(_, a)| a.get_value_hint())
        };
        let cases = [
            ("smtp-workbench", "server", ValueHint::Hostname),
            ("smtp-workbench", "ca_file", ValueHint::FilePath),
            ("smtp-workbench", "lesson", ValueHint::FilePath),
            ("smtp-workbench", "dns", ValueHint::Hostname),
            ("smtp-workbench send", "server", ValueHint::Hostname),
            ("smtp-workbench send", "mx", ValueHint::Hostname),
            ("smtp-workbench send", "data", ValueHint::FilePath),
            ("smtp-workbench send", "body_file", ValueHint::FilePath),
            ("smtp-workbench send", "mail_from", ValueHint::EmailAddress),
            ("smtp-workbench send", "rcpt", ValueHint::EmailAddress),
            (
                "smtp-workbench send",
                "header_from",
                ValueHint::EmailAddress,
            ),
            ("smtp-workbench send", "user", ValueHint::Username),
            ("smtp-workbench serve", "maildir", ValueHint::DirPath),
            ("smtp-workbench serve", "tls_cert", ValueHint::FilePath),
            ("smtp-workbench dkim-record", "key", ValueHint::FilePath),
        ];
        for (path, id, want) in cases {
            assert_eq!(hint_of(path, id), Some(want), "{path} --{id}");
        }
        // Every file flag, whatever its value name, completes some path.
        for (path, a) in &all {
            let takes_path = a.get_value_names().is_some_and(|n| {
                n.iter()
                    .any(|n| n.as_str() == "FILE" || n.as_str() == "DIR")
            });
            if takes_path {
                assert!(
                    matches!(
                        a.get_value_hint(),
                        ValueHint::FilePath | ValueHint::DirPath | ValueHint::AnyPath
                    ),
                    "{path} --{}",
                    a.get_id()
                );
            }
        }
    }

    #[test]
    fn every_shell_gets_a_script_naming_every_command() {
        let mut cmd = command();
        cmd.build();
        let names: Vec<String> = cmd
            .get_subcommands()
            .map(|s| s.get_name().to_string())
            .collect();
        for name in ["send", "serve", "dkim-record", "completions", "man"] {
            assert!(names.iter().any(|n| n == name), "{name} in {names:?}");
        }
        for shell in [
            Shell::Bash,
            Shell::Zsh,
            Shell::Fish,
            Shell::Elvish,
            Shell::PowerShell,
        ] {
            let script = String::from_utf8(completion_script(shell)).unwrap();
            for name in &names {
                assert!(script.contains(name.as_str()), "{shell}: {name}");
            }
            for flag in ["mail-from", "rcpt", "timeout", "listen", "tls-name"] {
                assert!(script.contains(flag), "{shell}: {flag}");
            }
        }
    }

    /// Every state the bash script's loop can reach has its arm (clap-rs/clap#6421).
    #[test]
    fn every_bash_state_has_its_arm() {
        let script = String::from_utf8(completion_script(Shell::Bash)).unwrap();
        let states: Vec<&str> = script
            .lines()
            .filter_map(|l| l.trim().strip_prefix("cmd=\""))
            .filter_map(|l| l.strip_suffix('"'))
            .filter(|s| !s.is_empty())
            .collect();
        assert!(
            states.contains(&"smtp__workbench__subcmd__send"),
            "{states:?}"
        );
        for state in states {
            assert!(
                script.lines().any(|l| l.trim() == format!("{state})")),
                "no arm for {state}"
            );
        }
    }

    /// Each zsh option spec is OPT[HELP]:MESSAGE:ACTION (a `::` before an
    /// optional value): a colon in a value name must not split it again.
    #[test]
    fn every_zsh_option_spec_has_one_message_and_one_action() {
        let script = String::from_utf8(completion_script(Shell::Zsh)).unwrap();
        let mut checked = 0;
        for line in script.lines().map(str::trim) {
            let Some(spec) = line.strip_prefix('\'').and_then(|l| l.strip_suffix("' \\")) else {
                continue;
            };
            let Some(start) = spec.find("=[") else {
                continue;
            };
            let rest = after_unescaped(&spec[start + 2..], ']');
            let fields = split_unescaped(rest.trim_start_matches(':'), ':');
            assert_eq!(fields.len(), 2, "{line}");
            checked += 1;
        }
        assert!(checked > 50, "only {checked} specs found");
        assert!(
            script.contains(":HOST[\\:PORT]:_hosts"),
            "the escape itself"
        );
    }

    /// The first word is a command or the workbench's server, and the
    /// command is looked for there (not in the second word).
    #[test]
    fn zsh_looks_for_the_command_in_the_first_word() {
        let script = String::from_utf8(completion_script(Shell::Zsh)).unwrap();
        assert!(!script.contains("'::server -- "), "{script}");
        assert!(!script.contains("$line[2]"), "{script}");
        assert!(script.contains("case $line[1] in"), "{script}");
        assert!(
            script.contains("\":: :{_smtp-workbench_commands; _hosts}\" \\"),
            "{script}"
        );
    }

    fn after_unescaped(s: &str, c: char) -> &str {
        let mut escaped = false;
        for (i, ch) in s.char_indices() {
            match ch {
                '\\' if !escaped => escaped = true,
                _ if ch == c && !escaped => return &s[i + 1..],
                _ => escaped = false,
            }
        }
        ""
    }

    fn split_unescaped(s: &str, c: char) -> Vec<String> {
        let mut out = vec![String::new()];
        let mut escaped = false;
        for ch in s.chars() {
            match ch {
                '\\' if !escaped => escaped = true,
                _ if ch == c && !escaped => out.push(String::new()),
                _ => {
                    escaped = false;
                    if let Some(last) = out.last_mut() {
                        last.push(ch);
                    }
                }
            }
        }
        out
    }

    #[test]
    fn the_man_page_has_each_command_and_the_exit_statuses() {
        let page = man_page("2026-01-01");
        assert!(page.starts_with(".ie \\n(.g"), "{}", &page[..80]);
        assert_eq!(page.matches(".ie \\n(.g").count(), 1, "one preamble");
        assert!(page.contains(".TH smtp-workbench 1 2026-01-01"), "{page}");
        for section in [".SH NAME", ".SH SYNOPSIS", ".SH OPTIONS", ".SH COMMANDS"] {
            assert_eq!(page.matches(section).count(), 1, "{section}");
        }
        assert!(page.contains(".SH \"EXIT STATUS\""), "{page}");
        for sub in ["send", "serve", "dkim-record", "completions", "man"] {
            assert!(
                page.contains(&format!(".SS \"smtp-workbench {sub}\"")),
                "{sub}: {page}"
            );
        }
        for flag in ["\\-\\-mail\\-from", "\\-\\-max\\-size", "\\-\\-selector"] {
            assert!(page.contains(flag), "{flag}");
        }
    }
}
