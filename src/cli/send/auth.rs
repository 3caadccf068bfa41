//! `send`'s AUTH from the flags: the mechanism, the user, and the password
//! from the environment or asked for on the terminal.

use std::io::IsTerminal;

use super::super::args::SendArgs;
use super::super::exit::{usage, UsageError};
use crate::proto::auth::{Credentials, Mechanism, Secret};

/// The mechanism and credentials, when `--auth` was given.
pub fn auth(args: &SendArgs) -> Result<Option<(Mechanism, Credentials)>, UsageError> {
    let Some(mech) = &args.auth else {
        if args.user.is_some() || args.password_env.is_some() {
            return Err(usage("--user and --password-env need --auth MECH"));
        }
        return Ok(None);
    };
    if args.user.is_none() {
        return Err(usage(format!("--auth {mech} needs --user USER")));
    }
    let mechanism = Mechanism::parse(mech).ok_or_else(|| {
        usage(format!(
            "--auth {mech}: not a mechanism this tool knows (PLAIN, LOGIN, CRAM-MD5, XOAUTH2)"
        ))
    })?;
    let user = args.user.clone().unwrap_or_default();
    let password = match &args.password_command {
        // A profile's password_command (a --password-env given wins).
        Some(c) if args.password_env.is_none() => super::super::profile::password_from_command(c)?,
        _ => password(args.password_env.as_deref(), &user)?,
    };
    Ok(Some((
        mechanism,
        Credentials {
            user,
            secret: Secret::new(password),
        },
    )))
}

fn password(env: Option<&str>, user: &str) -> Result<String, UsageError> {
    if let Some(var) = env {
        return std::env::var(var).map_err(|_| {
            usage(format!(
                "--password-env {var}: that environment variable is not set"
            ))
        });
    }
    if !std::io::stdin().is_terminal() {
        return Err(usage(
            "--auth needs a password: use --password-env VAR when there is no terminal to ask on",
        ));
    }
    rpassword::prompt_password(format!("Password for {user}: "))
        .map_err(|e| usage(format!("cannot read the password: {e}")))
}
