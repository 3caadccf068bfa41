//! `send`'s AUTH from the flags: the mechanism, the user, and the password
//! from the environment or asked for on the terminal.

use std::io::IsTerminal;

use super::super::args::SendArgs;
use super::super::exit::{usage, UsageError};
use crate::proto::auth::{Credentials, Mechanism, Secret};

/// The mechanism and credentials, when `--auth` was given.
pub fn auth(args: &SendArgs) -> Result<Option<(Mechanism, Credentials)>, UsageError> {
    let Some(mech) = &args.auth else {
        return Ok(None);
    };
    let mechanism = Mechanism::parse(mech).ok_or_else(|| {
        usage(format!(
            "--auth {mech}: not a mechanism this tool knows (PLAIN, LOGIN, CRAM-MD5, XOAUTH2)"
        ))
    })?;
    let user = args.user.clone().unwrap_or_default();
    let password = password(args.password_env.as_deref(), &user)?;
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
