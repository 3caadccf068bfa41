//! Profiles on the command line: where the config file is, reading it,
//! `--profile NAME` filling in what the command line left out (a flag given
//! there wins, told apart from a default by clap's value source), a
//! `password_command` run with a deadline, and `smtp-workbench config`.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command as Process, Stdio};
use std::time::{Duration, Instant};

use clap::parser::ValueSource;
use clap::ArgMatches;
use etcetera::BaseStrategy;

use super::args::{Cli, ConnectionArgs, SendArgs};
use super::exit::{usage, UsageError, EXIT_OK, EXIT_USAGE};
use crate::app::profile::{mask_command, Config, PasswordSource, Profile};
use crate::proto::visible::visible;

/// How long a `password_command` may take, and how much it may print.
pub const PASSWORD_COMMAND_TIMEOUT: Duration = Duration::from_secs(10);
pub const PASSWORD_COMMAND_MAX_OUTPUT: usize = 4096;

/// `$XDG_CONFIG_HOME/smtp-workbench/config.toml`, else
/// `~/.config/smtp-workbench/config.toml` (the XDG rule, on every Unix).
pub fn config_path() -> Result<PathBuf, UsageError> {
    let base = etcetera::choose_base_strategy()
        .map_err(|e| usage(format!("cannot find the config directory: {e}")))?;
    Ok(base.config_dir().join("smtp-workbench").join("config.toml"))
}

/// The config file's profiles; no file is no profiles.
fn load(path: &Path) -> Result<Option<Config>, UsageError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(usage(format!("{}: {e}", path.display()))),
    };
    Config::parse(&path.display().to_string(), &text)
        .map(Some)
        .map_err(|e| usage(e.to_string()))
}

/// The profile `--profile` names, from the config file.
fn named(name: &str) -> Result<Profile, UsageError> {
    let path = config_path()?;
    let config = load(&path)?.ok_or_else(|| {
        usage(format!(
            "--profile {name}: there is no config file at {}",
            path.display()
        ))
    })?;
    config
        .get(name)
        .cloned()
        .map_err(|e| usage(format!("--profile {name}: {e} in {}", path.display())))
}

/// Every profile of the config file, for the workbench's palette (none
/// without a file; a bad file is an error naming its line).
pub fn profiles() -> Result<Vec<Profile>, UsageError> {
    let config = load(&config_path()?)?;
    Ok(config
        .map(|c| c.profiles.into_values().collect())
        .unwrap_or_default())
}

/// Whether the user gave this argument (on the command line or through
/// its environment variable), rather than clap filling in its default.
fn given(m: &ArgMatches, id: &str) -> bool {
    matches!(
        m.try_get_raw(id).ok().flatten().and(m.value_source(id)),
        Some(ValueSource::CommandLine | ValueSource::EnvVariable)
    )
}

/// Fills `slot` from the profile unless the command line gave it (the
/// argument ids are the config file's key names).
fn fill<T>(
    m: &ArgMatches,
    id: &'static str,
    slot: &mut T,
    from: Option<T>,
    used: &mut Vec<&'static str>,
) {
    if let Some(v) = from {
        if !given(m, id) {
            *slot = v;
            used.push(id);
        }
    }
}

fn connection(
    p: &Profile,
    m: &ArgMatches,
    conn: &mut ConnectionArgs,
    used: &mut Vec<&'static str>,
) {
    fill(m, "tls", &mut conn.tls, p.tls, used);
    fill(
        m,
        "ca_file",
        &mut conn.ca_file,
        p.ca_file.clone().map(Some),
        used,
    );
    fill(
        m,
        "tls_name",
        &mut conn.tls_name,
        p.tls_name.clone().map(Some),
        used,
    );
    fill(m, "ehlo", &mut conn.ehlo, p.ehlo.clone().map(Some), used);
}

fn note(p: &Profile, used: &[&str]) -> String {
    if used.is_empty() {
        format!(
            "profile {}: every key it has was given on the command line",
            p.name
        )
    } else {
        format!(
            "profile {}: {} from the config file (flags given on the command line win)",
            p.name,
            used.join(", ")
        )
    }
}

/// `send --profile NAME`: the profile's keys where the flags are missing.
pub fn apply_send(args: &mut SendArgs, m: &ArgMatches) -> Result<(), UsageError> {
    let Some(name) = args.conn.profile.clone() else {
        return Ok(());
    };
    let p = named(&name)?;
    let mut used = Vec::new();
    fill(
        m,
        "server",
        &mut args.server,
        p.server.clone().map(Some),
        &mut used,
    );
    connection(&p, m, &mut args.conn, &mut used);
    let auth = p.auth.map(|a| Some(a.name().to_string()));
    fill(m, "auth", &mut args.auth, auth, &mut used);
    fill(
        m,
        "user",
        &mut args.user,
        p.user.clone().map(Some),
        &mut used,
    );
    if !given(m, "password_env") {
        match &p.password {
            Some(PasswordSource::Env(v)) => {
                args.password_env = Some(v.clone());
                used.push("password_env");
            }
            Some(PasswordSource::Command(c)) => {
                args.password_command = Some(c.clone());
                used.push("password_command");
            }
            None => {}
        }
    }
    fill(
        m,
        "mail_from",
        &mut args.mail_from,
        p.mail_from.clone().map(Some),
        &mut used,
    );
    args.conn.profile_note = Some(note(&p, &used));
    Ok(())
}

/// The workbench's `--profile NAME`: the server and how to reach it (AUTH
/// is asked for in the palette, so its keys are not used there).
pub fn apply_workbench(cli: &mut Cli, m: &ArgMatches) -> Result<(), UsageError> {
    let Some(name) = cli.conn.profile.clone() else {
        return Ok(());
    };
    let p = named(&name)?;
    let mut used = Vec::new();
    fill(
        m,
        "server",
        &mut cli.server,
        p.server.clone().map(Some),
        &mut used,
    );
    connection(&p, m, &mut cli.conn, &mut used);
    cli.conn.profile_note = Some(note(&p, &used));
    Ok(())
}

/// Runs a profile's `password_command` through `sh -c`: its first line of
/// output is the password. It gets no terminal input, a deadline and a cap
/// on what it prints; a failure says what went wrong, never the output.
pub fn password_from_command(command: &str) -> Result<String, UsageError> {
    password_within(command, PASSWORD_COMMAND_TIMEOUT)
}

fn password_within(command: &str, timeout: Duration) -> Result<String, UsageError> {
    // The command is masked as `config` shows it: a token may be written there.
    let shown = mask_command(command);
    let fail = |why: String| usage(format!("password_command `{shown}`: {why}"));
    let mut child = Process::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| fail(format!("cannot run sh: {e}")))?;
    let reader = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut out = Vec::new();
            if let Some(p) = pipe {
                // One byte over the cap tells "too much" from "just enough".
                let _ = p
                    .take(PASSWORD_COMMAND_MAX_OUTPUT as u64 + 1)
                    .read_to_end(&mut out);
            }
            out
        })
    };
    let stdout = reader(child.stdout.take().map(|p| Box::new(p) as _));
    let stderr = reader(child.stderr.take().map(|p| Box::new(p) as _));
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(fail(format!(
                    "no answer within {:.1} seconds",
                    timeout.as_secs_f64()
                )));
            }
            Err(e) => return Err(fail(e.to_string())),
        }
    };
    let out = stdout.join().unwrap_or_default();
    let err = stderr.join().unwrap_or_default();
    if !status.success() {
        let said = String::from_utf8_lossy(&err);
        let first = said.lines().next().unwrap_or("").trim();
        let first: String = first.chars().take(200).collect();
        let code = status
            .code()
            .map_or("was killed by a signal".to_string(), |c| {
                format!("exited with status {c}")
            });
        return Err(fail(if first.is_empty() {
            code
        } else {
            format!("{code}: {}", visible(first.as_bytes()))
        }));
    }
    if out.len() > PASSWORD_COMMAND_MAX_OUTPUT {
        return Err(fail(format!(
            "printed more than {PASSWORD_COMMAND_MAX_OUTPUT} bytes; a password is one line"
        )));
    }
    let text = String::from_utf8(out).map_err(|_| fail("printed something not UTF-8".into()))?;
    let line = text.lines().next().unwrap_or("");
    if line.is_empty() {
        return Err(fail("printed no password".into()));
    }
    Ok(line.to_string())
}

/// `smtp-workbench config`: the file's path and its profiles, masked.
pub fn config() -> u8 {
    match config_text() {
        Ok(text) => {
            print!("{text}");
            EXIT_OK
        }
        Err(e) => {
            eprintln!("smtp-workbench config: {e}");
            EXIT_USAGE
        }
    }
}

fn config_text() -> Result<String, UsageError> {
    let path = config_path()?;
    let mut out = format!("# config file: {}\n", path.display());
    match load(&path)? {
        None => out.push_str(
            "# (not there yet) A profile looks like this:\n\
             # [profile.work]\n\
             # server = \"mail.example.com:587\"\n\
             # tls = \"starttls\"\n\
             # auth = \"PLAIN\"\n\
             # user = \"me@example.com\"\n\
             # password_env = \"WORK_SMTP_PASSWORD\"\n",
        ),
        Some(c) if c.profiles.is_empty() => out.push_str("# no profiles\n"),
        Some(c) => {
            for p in c.profiles.values() {
                out.push('\n');
                for line in p.shown(|v| std::env::var_os(v).is_some()) {
                    out.push_str(&line);
                    out.push('\n');
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_command_gives_its_first_line() {
        assert_eq!(
            password_from_command("printf 'hunter2\\nrest\\n'").expect("runs"),
            "hunter2"
        );
    }

    #[test]
    fn a_failing_password_command_says_how_and_not_what_it_printed() {
        let e = password_from_command("echo s3cret; echo 'no such entry' >&2; exit 7")
            .expect_err("fails");
        let e = e.to_string();
        assert!(e.contains("exited with status 7: no such entry"), "{e}");
        assert!(!e.contains("s3cret"), "{e}");
        let e = password_from_command("true")
            .expect_err("empty")
            .to_string();
        assert!(e.contains("printed no password"), "{e}");
        let e = password_from_command("head -c 5000 /dev/zero | tr '\\0' a")
            .expect_err("too long")
            .to_string();
        assert!(e.contains("more than 4096 bytes"), "{e}");
    }

    #[test]
    fn a_password_command_that_hangs_is_given_up_on() {
        let started = Instant::now();
        let e = password_within("sleep 5", Duration::from_millis(200))
            .expect_err("times out")
            .to_string();
        assert!(e.contains("no answer within 0.2 seconds"), "{e}");
        assert!(started.elapsed() < Duration::from_secs(3));
    }
}
