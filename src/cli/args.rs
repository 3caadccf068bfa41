//! The command line's arguments: the clap types of the workbench, `send` and
//! `serve`. What each face does with them lives beside it (`workbench.rs`,
//! `send/`, `serve.rs`).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use super::modes;
use crate::proto::client::QuitAfter;
use crate::proto::client::{DropAfter, Protocol};
use crate::proto::probe::Probe;
use crate::proto::proxy::Version as ProxyVersion;
use crate::proto::server::VrfyMode;
use crate::transcript::Format;
use crate::transport::TlsMode;

#[derive(Debug, Parser)]
// args_override_self: where a flag is given twice, the last one wins (the
// contract in the README); repeatable flags still add up.
#[command(
    name = "smtp-workbench",
    // The version with the commit it was built from (build.rs).
    version = env!("SMTP_WORKBENCH_VERSION"),
    args_override_self = true,
    about = "Step through SMTP sessions by hand: telnet to port 25, done properly.",
    after_help = "Exit status of `send`: 0 accepted (or stopped as --quit-after asked), \
                  2 usage error, 3 connection, TLS, timeout or protocol failure, \
                  4 a 4xx reply ended it, 5 a 5xx reply ended it, \
                  6 a probe (--probe) found the server vulnerable."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// The server for the interactive workbench, HOST[:PORT] or
    /// unix:PATH; without it, the built-in demo server on a loopback port.
    pub server: Option<String>,
    #[command(flatten)]
    pub conn: ConnectionArgs,
    /// Start with a lesson: a built-in one by name (first-session,
    /// envelope-vs-headers, blind-copy, relay-denied, dot-stuffing,
    /// greylisting, starttls-auth) or a TOML file of your own.
    #[arg(long, value_name = "NAME|FILE")]
    pub lesson: Option<String>,
    /// The client address F2's authentication judges (SPF, iprev); default:
    /// loopback against the built-in server, else the connection's own.
    #[arg(long, value_name = "ADDR")]
    pub client_ip: Option<std::net::IpAddr>,
    // Replay and themes (issue 13).
    /// Replay a saved JSON transcript (`send --format json`, or "Save
    /// transcript (JSON)") offline: Enter shows the next step, F5 plays on
    /// to the next mark (a line {"kind":"mark","text":"…"} or a "mark": true
    /// key); nothing connects.
    #[arg(long, value_name = "FILE")]
    pub replay: Option<PathBuf>,
    /// The workbench's colours: dark (the terminal's background) or light
    /// (dark colours on white, for a projector); NO_COLOR still wins.
    #[arg(long, value_name = "THEME", value_parser = modes::one_of(crate::tui::theme::Palette::NAMES, |_| None), default_value = "dark")]
    pub theme: crate::tui::theme::Palette,
    // -- Everyday (issue 14)
    /// Fill the composer with this message file's header fields and body
    /// (.eml); the envelope stays as it is ("Envelope ← headers" takes it).
    #[arg(long, value_name = "FILE.eml", conflicts_with = "lesson")]
    pub message: Option<PathBuf>,
}

/// How to reach the server: the flags `send` and the workbench share.
#[derive(Debug, Args)]
pub struct ConnectionArgs {
    /// Transport security: none; starttls (after EHLO; in the workbench,
    /// from the palette); implicit (TLS from the first byte, port 465).
    #[arg(long, value_parser = modes::tls(), default_value = "none")]
    pub tls: TlsMode,
    /// Do not check the server's certificate at all (a warning says so).
    #[arg(long)]
    pub insecure: bool,
    /// Trust the CA certificates in this PEM file instead of the system's roots.
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// The name the certificate must carry, when connecting by address.
    #[arg(long, value_name = "NAME")]
    pub tls_name: Option<String>,
    /// The name to give in EHLO (default: this machine's host name).
    #[arg(long, value_name = "NAME")]
    pub ehlo: Option<String>,
    /// Seconds to wait for the connection, the TLS handshake, each DNS
    /// lookup and each reply.
    #[arg(long, value_name = "SECONDS", default_value_t = 30.0)]
    pub timeout: f64,
    /// Ask this DNS server (port 53 unless given) instead of the system's;
    /// every lookup is then shown in the transcript.
    #[arg(long, value_name = "HOST[:PORT]", value_parser = dns_server)]
    pub dns: Option<SocketAddr>,
    /// Connect where mail for DOMAIN goes: its MX hosts in preference
    /// order, each tried in turn (port 25 unless given). Without DOMAIN (or
    /// as :PORT), the first recipient's domain.
    #[arg(
        long,
        value_name = "DOMAIN[:PORT]",
        num_args = 0..=1,
        default_missing_value = "",
        conflicts_with = "server"
    )]
    pub mx: Option<String>,
    /// Connect over IPv4 only.
    #[arg(short = '4', conflicts_with = "ipv6")]
    pub ipv4: bool,
    /// Connect over IPv6 only.
    #[arg(short = '6')]
    pub ipv6: bool,

    // Transports: LMTP, UNIX sockets (--server unix:PATH), PROXY, XCLIENT,
    // the local address, hanging up without QUIT (cli/transports.rs).
    /// The protocol: smtp, or lmtp (LHLO, then one reply per accepted
    /// recipient after the content, RFC 2033).
    #[arg(long, value_parser = modes::protocol(), default_value = "smtp")]
    pub protocol: Protocol,
    /// Send a PROXY protocol header (v1: a text line, v2: binary) before
    /// anything else, as a proxy in front of the server would; needs
    /// --proxy-source.
    #[arg(long, value_parser = modes::proxy(), requires = "proxy_source")]
    pub proxy: Option<ProxyVersion>,
    /// The client the PROXY header speaks for (its destination is the
    /// address actually connected to).
    #[arg(long, value_name = "ADDR:PORT", requires = "proxy")]
    pub proxy_source: Option<SocketAddr>,
    /// Send XCLIENT with these attributes after EHLO, then EHLO again
    /// (Postfix), e.g. "NAME=mail.example.org ADDR=192.0.2.7 HELO=mail.example.org";
    /// values are xtext-encoded. In the workbench, the palette's XCLIENT item.
    #[arg(long, value_name = "NAME=VALUE ...")]
    pub xclient: Option<String>,
    /// Bind the outgoing connection to this local address (one of this
    /// machine's); only servers of its family are tried.
    #[arg(long, value_name = "ADDR")]
    pub local_addr: Option<std::net::IpAddr>,
    /// Hang up without QUIT after this step, to see what the server does
    /// with a half transaction; content: in the middle of the message.
    #[arg(long, value_parser = modes::drop_after(), value_name = "STEP")]
    pub drop_after: Option<DropAfter>,
    // -- TLS (issue 12): client certificate, SNI, pinning, the chain, DANE, MTA-STS
    /// Present this client certificate chain (PEM, leaf first) when the
    /// server asks for one.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key (PEM: PKCS#8, RSA or EC) of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// The name sent in the ClientHello (SNI), apart from the name checked
    /// (--tls-name, else the host); "" sends none.
    #[arg(long, value_name = "NAME")]
    pub tls_sni: Option<String>,
    /// Offer only this TLS version.
    #[arg(long, value_name = "VERSION", value_parser = modes::tls_version())]
    pub tls_version: Option<crate::transport::tls::TlsVersion>,
    /// Offer only this cipher suite (IANA or rustls name), repeatable; a
    /// wrong name lists the known ones.
    #[arg(long = "tls-cipher", value_name = "SUITE", value_parser = tls_cipher)]
    pub tls_ciphers: Vec<String>,
    /// Write the server's certificates, as sent, to FILE (PEM).
    #[arg(long, value_name = "FILE")]
    pub save_chain: Option<PathBuf>,
    /// Look up the TLSA records of _PORT._tcp.HOST (through --dns where
    /// given) and match them against the server's chain.
    #[arg(long)]
    pub dane: bool,
    /// Fetch DOMAIN's MTA-STS policy (the _mta-sts TXT record, then
    /// https://mta-sts.DOMAIN/.well-known/mta-sts.txt) and match the MX in
    /// use against it.
    #[arg(long, value_name = "DOMAIN")]
    pub mta_sts: Option<String>,
    // -- Everyday (issue 14): profiles from the config file (cli/profile.rs)
    /// Take the server, TLS, EHLO, AUTH and sender from this profile of
    /// the config file (see `smtp-workbench config`); flags given here win.
    #[arg(short = 'p', long, value_name = "NAME")]
    pub profile: Option<String>,
    /// What the profile filled in, for the transcript (set by cli/profile.rs).
    #[arg(skip)]
    pub profile_note: Option<String>,
}

/// `--tls-cipher SUITE`: a suite this build offers, by its IANA name.
fn tls_cipher(s: &str) -> Result<String, String> {
    crate::transport::tls::pin::suite(s).map(|s| crate::transport::tls::pin::shown(&s))
}

/// `--dns HOST[:PORT]`: an address, port 53 unless given.
fn dns_server(s: &str) -> Result<SocketAddr, String> {
    crate::transport::dns::parse_server(s)
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run one SMTP transaction without the UI; the transcript goes to stdout.
    Send(Box<SendArgs>),
    /// Run the built-in demo server alone, for other clients (swaks, a mail
    /// program, a class).
    Serve(Box<ServeArgs>),
    /// Print the DNS TXT record that publishes a DKIM key's public half.
    DkimRecord(DkimRecordArgs),
    // -- Everyday (issue 14)
    /// Print the config file's path and its profiles, secrets masked.
    Config,
    // Command-line conventions (issue 14): completions and the man page.
    /// Print a completion script for a shell: bash, zsh, fish, elvish or
    /// powershell.
    #[command(after_help = "Install (then open a new shell):\n  \
  bash: smtp-workbench completions bash > ~/.local/share/bash-completion/completions/smtp-workbench\n  \
  zsh:  smtp-workbench completions zsh > ~/.zfunc/_smtp-workbench   # ~/.zfunc in $fpath\n  \
  fish: smtp-workbench completions fish > ~/.config/fish/completions/smtp-workbench.fish")]
    Completions(CompletionsArgs),
    /// Print the manual page (roff), for `man -l -` or a man directory.
    Man,
}

/// `completions SHELL`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct DkimRecordArgs {
    /// The private key (PEM: RSA as PKCS#8 or PKCS#1, Ed25519 as PKCS#8).
    #[arg(long, value_name = "FILE")]
    pub key: PathBuf,
    /// The selector the record is published under (SEL._domainkey.DOMAIN).
    #[arg(long, value_name = "SEL")]
    pub selector: String,
}

#[derive(Debug, Args)]
#[command(
    args_override_self = true,
    after_help = "Examples:\n  \
  smtp-workbench send --server 127.0.0.1:2525 --mail-from me@client.test --rcpt alice@example.test\n  \
  smtp-workbench send --server mail.example.test:587 --tls starttls --auth PLAIN --user alice \\\n      \
  --password-env SMTP_PASSWORD --mail-from alice@example.test --rcpt bob@example.test\n  \
  smtp-workbench send --server mx.example.test --quit-after rcpt --mail-from a@b.test --rcpt c@d.test\n  \
  smtp-workbench send --server mx.example.test --probe smuggling --mail-from me@client.test --rcpt postmaster@example.test\n\n\
Exit status: 0 accepted (or stopped as --quit-after asked), 2 usage error, 3 connection, TLS,\n\
timeout or protocol failure, 4 a 4xx reply ended it, 5 a 5xx reply ended it, 6 a probe\n\
(--probe) found the server vulnerable."
)]
pub struct SendArgs {
    /// The server, HOST[:PORT] (port 25, or 465 with --tls implicit), or
    /// unix:PATH for a UNIX socket. Without it, the built-in demo server
    /// runs in this process.
    #[arg(long, value_name = "HOST[:PORT]|unix:PATH")]
    pub server: Option<String>,
    #[command(flatten)]
    pub conn: ConnectionArgs,
    // --auth needs --user, and --user and --password-env need --auth, once
    // a --profile has had its say (checked in send/auth.rs, not by clap).
    /// Authenticate with this SASL mechanism: PLAIN, LOGIN, CRAM-MD5 or XOAUTH2.
    #[arg(long, value_name = "MECH")]
    pub auth: Option<String>,
    /// The user name for --auth.
    #[arg(long, value_name = "USER")]
    pub user: Option<String>,
    /// Read the password from this environment variable (else it is asked for).
    #[arg(long, value_name = "VAR")]
    pub password_env: Option<String>,
    /// A profile's `password_command` (never a flag: set by cli/profile.rs).
    #[arg(skip)]
    pub password_command: Option<String>,

    /// Envelope sender (MAIL FROM), optionally with parameters:
    /// "me@example.test BODY=8BITMIME". Use "<>" for the null sender.
    #[arg(long, value_name = "ADDR [PARAM...]", allow_hyphen_values = true)]
    pub mail_from: Option<String>,
    /// Envelope recipient (RCPT TO), repeatable, optionally with parameters:
    /// "bob@example.test NOTIFY=SUCCESS,FAILURE".
    #[arg(long, value_name = "ADDR [PARAM...]")]
    pub rcpt: Vec<String>,

    /// Ask the server about this address or name with VRFY, after EHLO (and
    /// AUTH); repeatable. Without --rcpt the session ends after the answers,
    /// and the exit status follows the worst of them.
    #[arg(long, value_name = "NAME")]
    pub vrfy: Vec<String>,

    /// Header From: (default: the envelope sender).
    #[arg(long, value_name = "MAILBOX")]
    pub header_from: Option<String>,
    /// Header To:, repeatable (default: the envelope recipients).
    #[arg(long, value_name = "MAILBOX")]
    pub header_to: Vec<String>,
    /// Header Cc:, repeatable.
    #[arg(long, value_name = "MAILBOX")]
    pub cc: Vec<String>,
    /// Header Subject:.
    #[arg(long, value_name = "TEXT")]
    pub subject: Option<String>,
    /// Any other header field, "Name: value", repeatable.
    #[arg(long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
    /// The body text.
    #[arg(long, value_name = "TEXT", conflicts_with = "body_file")]
    pub body: Option<String>,
    /// Read the body text from a file.
    #[arg(long, value_name = "FILE")]
    pub body_file: Option<PathBuf>,
    /// Send this file as the whole message (headers and body) exactly as it
    /// is; only line ends are made CRLF and leading dots stuffed.
    #[arg(long, value_name = "FILE", conflicts_with_all = [
        "header_from", "header_to", "cc", "subject", "headers", "body", "body_file"
    ])]
    pub data: Option<PathBuf>,
    // -- Everyday (issue 14): a real message, attachments, HTML (send/everyday.rs)
    /// Take the header fields and the body from this message file (.eml);
    /// --header-from, --header-to, --cc, --subject, --header, --body and
    /// --body-file replace what the file says. The envelope still comes
    /// from --mail-from and --rcpt only.
    #[arg(long, value_name = "FILE.eml", conflicts_with = "data")]
    pub message: Option<PathBuf>,
    /// Attach this file (repeatable); its content type is guessed from its
    /// extension (application/octet-stream when unknown).
    #[arg(long = "attach", value_name = "FILE", conflicts_with_all = ["data", "message"])]
    pub attach: Vec<PathBuf>,
    /// The content type of the --attach just before this flag, instead of
    /// the guess, e.g. "application/pdf".
    #[arg(long = "attach-type", value_name = "TYPE", requires = "attach")]
    pub attach_type: Vec<String>,
    /// Each --attach's --attach-type, by position (set by send/everyday.rs).
    #[arg(skip)]
    pub attach_types: Vec<Option<String>>,
    /// Add this HTML file as the alternative to the text body
    /// (multipart/alternative).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["data", "message"])]
    pub html: Option<PathBuf>,

    /// Use BDAT (CHUNKING, RFC 3030) instead of DATA.
    #[arg(long)]
    pub bdat: bool,
    /// BDAT chunk size in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 65536, requires = "bdat")]
    pub chunk_size: usize,
    /// Do not pipeline MAIL, RCPT and DATA even when the server offers PIPELINING.
    #[arg(long)]
    pub no_pipelining: bool,
    /// Stop after this step and say QUIT.
    #[arg(long, value_parser = modes::quit_after(), value_name = "STEP")]
    pub quit_after: Option<QuitAfter>,
    /// Transcript format on stdout.
    #[arg(long, value_parser = modes::format(), default_value = "text")]
    pub format: Format,
    /// Show AUTH secrets in the transcript instead of masking them.
    #[arg(long)]
    pub reveal_secrets: bool,
    /// Send the message this many times (a load mode: no transcript; a
    /// progress bar on a terminal, then a summary: messages per second,
    /// latency percentiles, the runs counted by reply code and failure).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub count: usize,
    /// With --count: sessions at once.
    #[arg(long, value_name = "C", default_value_t = 1)]
    pub concurrency: usize,

    /// The client address SPF and iprev judge (default: the address this
    /// connection comes from).
    #[arg(long, value_name = "ADDR")]
    pub client_ip: Option<std::net::IpAddr>,
    /// Sign the message with DKIM using this private key (PEM).
    #[arg(long, value_name = "FILE", requires = "dkim_selector")]
    pub dkim_key: Option<PathBuf>,
    /// The DKIM selector (s=) for --dkim-key.
    #[arg(long, value_name = "SEL", requires = "dkim_key")]
    pub dkim_selector: Option<String>,
    /// The DKIM signing domain (d=); default: From:'s domain.
    #[arg(long, value_name = "DOMAIN", requires = "dkim_key")]
    pub dkim_domain: Option<String>,
    /// Judge authentication offline, from this zone file (the built-in
    /// server's world), instead of asking DNS.
    #[arg(long, value_name = "FILE", conflicts_with = "dns")]
    pub zone: Option<PathBuf>,

    // --- probes (issue 12: send --probe) ---
    /// Probe the server instead of sending one message, each case in a
    /// connection of its own: smuggling (end-of-data look-alikes inside
    /// DATA, to the --mail-from/--rcpt envelope) or relay (the classic
    /// open-relay addresses at RCPT, built on the first --rcpt's domain;
    /// never DATA). Exit status 6 when a case finds the server vulnerable.
    #[arg(long, value_parser = modes::probe(), value_name = "NAME", conflicts_with_all = [
        "count", "concurrency", "quit_after", "bdat", "vrfy", "data"
    ])]
    pub probe: Option<Probe>,
    // --- classroom and demos (issue 13): recording to share ---
    /// Also write the text transcript to FILE as an asciicast v2
    /// recording with the real timings (`asciinema play FILE`).
    #[arg(long, value_name = "FILE")]
    pub cast: Option<PathBuf>,
}

#[derive(Debug, Args)]
#[command(
    args_override_self = true,
    after_help = "Examples:\n  \
  smtp-workbench serve                                   # 127.0.0.1:2525, the demo policy\n  \
  smtp-workbench serve --listen 127.0.0.1:2600           # another port, where 2525 is taken\n  \
  smtp-workbench serve --require-auth --greylist 60 -v   # a stricter server, every line shown\n  \
  swaks --server 127.0.0.1 --port 2525 --to alice@example.test --from me@client.example\n\n\
It is a test and teaching server: it keeps what it accepts (in memory, and\n\
with --maildir as files) and never delivers anything onward."
)]
pub struct ServeArgs {
    /// Address and port to listen on.
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:2525")]
    pub listen: SocketAddr,
    /// Allow listening on an address other than loopback.
    #[arg(long)]
    pub allow_remote: bool,
    /// The server's name in the greeting, EHLO and Received: fields.
    #[arg(long, value_name = "NAME", default_value = "demo.example.test")]
    pub hostname: String,
    /// A domain the server takes mail for (repeatable; default example.test
    /// and localhost). Others are relaying, which needs AUTH.
    #[arg(long = "domain", value_name = "DOMAIN")]
    pub domains: Vec<String>,
    /// A user for AUTH, NAME:PASSWORD (repeatable; default alice@example.test:wonderland).
    #[arg(long = "user", value_name = "NAME:PASSWORD")]
    pub users: Vec<String>,
    /// MAIL needs AUTH first.
    #[arg(long)]
    pub require_auth: bool,
    /// MAIL and AUTH need STARTTLS first.
    #[arg(long)]
    pub require_tls: bool,
    /// Largest message in bytes (announced as SIZE).
    #[arg(long, value_name = "BYTES", default_value_t = 10 * 1024 * 1024)]
    pub max_size: u64,
    /// Greylisting: refuse each new (client, sender, recipient) with 450
    /// until this many seconds have passed.
    #[arg(long, value_name = "SECONDS")]
    pub greylist: Option<u64>,
    /// Wait this many milliseconds before each reply.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub tarpit: u64,
    /// How VRFY is answered.
    #[arg(long, value_parser = modes::vrfy(), default_value = "ambiguous")]
    pub vrfy: VrfyMode,
    /// Chance (0 to 1) that a RCPT gets a 451 drill failure.
    #[arg(long, value_name = "P", default_value_t = 0.0)]
    pub fail_rate: f64,
    /// Connections at once; more get 421.
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub max_connections: usize,
    /// Hang up on a client silent this long.
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    pub idle_timeout: u64,
    /// Accept content with bare LF line ends (refused by default).
    #[arg(long)]
    pub allow_bare_lf: bool,
    /// Accept this recipient at RCPT, then fail its delivery (552 5.2.2
    /// mailbox over quota) and bounce to the envelope sender; repeatable.
    #[arg(long, value_name = "ADDR")]
    pub bounce: Vec<String>,
    /// Certificate chain (PEM) for STARTTLS; without it one is made at start.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// Private key (PEM) for --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Offer no STARTTLS at all.
    #[arg(long, conflicts_with_all = ["tls_cert", "tls_key", "require_tls"])]
    pub no_tls: bool,
    /// Also write each accepted message to this Maildir (tmp/, new/, cur/).
    #[arg(long, value_name = "DIR")]
    pub maildir: Option<PathBuf>,
    /// Messages kept in memory.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub store_messages: usize,
    /// Bytes kept in memory.
    #[arg(long, value_name = "BYTES", default_value_t = 64 * 1024 * 1024)]
    pub store_bytes: usize,
    /// Log format on stdout.
    #[arg(long, value_parser = modes::format(), default_value = "text")]
    pub format: Format,
    /// Show every command and reply.
    #[arg(short, long)]
    pub verbose: bool,
    /// Judge SPF, DKIM, DMARC and iprev with this DNS server (port 53
    /// unless given) instead of the offline demo zone.
    #[arg(long, value_name = "HOST[:PORT]", value_parser = dns_server)]
    pub dns: Option<SocketAddr>,
    /// Judge SPF, DKIM, DMARC and iprev from this zone file instead of the
    /// offline demo zone.
    #[arg(long, value_name = "FILE", conflicts_with = "dns")]
    pub zone: Option<PathBuf>,
    /// Judge nothing: no SPF, DKIM, DMARC or iprev, no
    /// Authentication-Results (the bare server, for benchmarks).
    #[arg(long, conflicts_with_all = ["dns", "zone"])]
    pub no_auth_results: bool,
    // Transports.
    /// The protocol: smtp, or lmtp (LHLO, then one reply per accepted
    /// recipient after the content; a --bounce recipient is refused there).
    #[arg(long, value_parser = modes::protocol(), default_value = "smtp")]
    pub protocol: Protocol,
    // --- classroom and demos (issue 13): the server's rules ---
    /// Rules asked at each stage (TOML `[[rule]]`s: `when` with stage,
    /// client, user, sender, rcpt, nth, size_over; then reply, delay_ms,
    /// hangup, bounce, rate). The first that matches fires; the log says
    /// which. A bad file exits 2 naming the line.
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
    /// The teacher's view: a TUI of the live sessions (client, EHLO name,
    /// AUTH user, stage, messages, refusals), the selected one's transcript
    /// with every control character made visible, each accepted message's
    /// envelope-against-headers card and verdicts, and the rules that
    /// fired; `/` filters by student. Needs a terminal.
    #[arg(long, conflicts_with_all = ["format", "verbose"])]
    pub dashboard: bool,
    /// The dashboard's colours: dark, or light for a projector; NO_COLOR
    /// still wins.
    #[arg(long, value_name = "THEME", value_parser = modes::one_of(crate::tui::theme::Palette::NAMES, |_| None), default_value = "dark", requires = "dashboard")]
    pub theme: crate::tui::theme::Palette,
}
