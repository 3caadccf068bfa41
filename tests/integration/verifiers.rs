//! What the workbench signs and judges, checked by independent verifiers,
//! nobody's code here: dkimpy verifies what `send` signs (as Postfix
//! delivers it, and with an ed25519 key), and pyspf judges the same SPF
//! inputs as `analysis::auth` against the Knot peer serving assets/zone/.
//! Ignored unless asked for; each skips, saying why, when its peers'
//! variables are missing (`tests/peers/dkimpy-up.sh`, `dns-up.sh`,
//! `postfix-up.sh`; `.ci/run` starts them all and exports their env files).

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use smtp_workbench::analysis::auth::{judge, DnsSource, Inputs, Method, Outcome};

use crate::auth::{demo_key, demo_record};
use crate::peers::{token, wait_for_mail};
use crate::support::{bin, serve};

/// The values of `names`, or None after saying on stderr which is missing:
/// outside CI the peers are not there, and that is no failure.
fn peer_env(names: &[&str]) -> Option<Vec<String>> {
    let values: Vec<Option<String>> = names.iter().map(|n| std::env::var(n).ok()).collect();
    if let Some(i) = values.iter().position(Option::is_none) {
        eprintln!(
            "skipped: {} is not set (start the peers with tests/peers/*-up.sh and export \
             their env files from /var/lib/smtp-peers, as .ci/run does)",
            names[i]
        );
        return None;
    }
    Some(values.into_iter().flatten().collect())
}

/// dkimpy's verdict on the message in `eml`: the key from the DNS server at
/// `dns` (HOST:PORT), or from `record` given as (name, value).
const DKIMPY_VERIFY: &str = r#"
import sys, dkim
msg = open(sys.argv[1], 'rb').read()
if sys.argv[2] == 'dns':
    import dns.resolver
    host, port = sys.argv[3].rsplit(':', 1)
    r = dns.resolver.Resolver(configure=False)
    r.nameservers, r.port = [host], int(port)
    def dnsfunc(name, timeout=5):
        try:
            answer = r.resolve(name.decode(), 'TXT', lifetime=timeout)
        except Exception as e:
            print('dns:', e)
            return None
        return b''.join(answer[0].strings)
else:
    name, value = sys.argv[3].encode(), sys.argv[4].encode()
    dnsfunc = lambda n, timeout=5: value if n == name else None
d = dkim.DKIM(msg)
ok = d.verify(dnsfunc=dnsfunc)
print('pass' if ok else 'fail', d.domain.decode(), d.signature_fields.get(b'a', b'').decode())
sys.exit(0 if ok else 1)
"#;

fn dkimpy(python: &str, eml: &Path, key_from: &[&str]) -> Output {
    Command::new(python)
        .args(["-c", DKIMPY_VERIFY])
        .arg(eml)
        .args(key_from)
        .output()
        .unwrap()
}

fn assert_dkimpy_passes(verdict: &Output, algorithm: &str, eml: &Path) {
    let said = String::from_utf8_lossy(&verdict.stdout);
    assert!(
        verdict.status.success() && said.starts_with(&format!("pass client.example {algorithm}")),
        "dkimpy on {}: {said}{}",
        eml.display(),
        String::from_utf8_lossy(&verdict.stderr)
    );
}

/// `send` with the envelope of the demo sender and `extra`.
fn send(server: &str, extra: &[&str]) -> Output {
    let out = bin()
        .args(["send", "--server", server, "--ehlo", "client.example"])
        .args(["--mail-from", "student@client.example"])
        .args(["--rcpt", "alice@example.test", "--timeout", "20"])
        .args(extra)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    out
}

/// A scripted server that takes one message and hands over its content as
/// received (dot-stuffing undone).
fn capture_one_message() -> (SocketAddr, mpsc::Receiver<Vec<u8>>) {
    let (tx, rx) = mpsc::channel();
    let (addr, _server) = serve(move |mut c| {
        c.greet_and_ehlo(&["PIPELINING"]);
        while let Some(line) = c.line() {
            if line.starts_with("DATA") {
                c.send(b"250 ok\r\n250 ok\r\n354 go\r\n");
                let mut message = Vec::new();
                for l in c.read_data() {
                    let l = l
                        .strip_prefix('.')
                        .filter(|_| l.starts_with(".."))
                        .unwrap_or(&l);
                    message.extend_from_slice(l.as_bytes());
                    message.extend_from_slice(b"\r\n");
                }
                c.send(b"250 queued\r\n");
                let _ = tx.send(message);
            } else if line.starts_with("QUIT") {
                c.send(b"221 bye\r\n");
                break;
            }
        }
    });
    (addr, rx)
}

/// The demo key through the real Postfix: what lands in the Maildir, with
/// the Received: and Return-Path: Postfix adds above the signature, still
/// verifies, with the key dkimpy looks up itself in the zone Knot serves.
#[test]
#[ignore = "needs the dkimpy, DNS and Postfix peers (tests/peers/dkimpy-up.sh, dns-up.sh, postfix-up.sh)"]
fn dkimpy_verifies_what_send_signs_as_postfix_delivers_it() {
    let Some(env) = peer_env(&[
        "PEERS_DKIMPY_PYTHON",
        "PEERS_DNS",
        "PEERS_POSTFIX_HOST",
        "PEERS_POSTFIX_PORT_SMTP",
        "PEERS_POSTFIX_NEW_MAIL",
    ]) else {
        return;
    };
    let [python, dns, host, port, maildir] = &env[..] else {
        unreachable!()
    };
    let t = token("dkimpy");
    let key = demo_key();
    send(
        &format!("{host}:{port}"),
        &[
            "--subject",
            &t,
            "--dkim-key",
            key.to_str().unwrap(),
            "--dkim-selector",
            "demo",
            "--body",
            "Line one.\n.leading dot\n\nFrom the last line.\n",
        ],
    );
    let mail = wait_for_mail(maildir, &t, Duration::from_secs(15))
        .expect("the message did not arrive in the Maildir");
    assert!(
        mail.starts_with("Return-Path: <student@client.example>"),
        "{mail}"
    );
    let dir = tempfile::tempdir().unwrap();
    let eml = dir.path().join("delivered.eml");
    std::fs::write(&eml, &mail).unwrap();
    assert_dkimpy_passes(&dkimpy(python, &eml, &["dns", dns]), "rsa-sha256", &eml);
}

/// A throw-away ed25519 key (RFC 8463) made with openssl: `send` signs with
/// ed25519-sha256, `dkim-record` publishes it, and dkimpy agrees.
#[test]
#[ignore = "needs the dkimpy peer (tests/peers/dkimpy-up.sh) and openssl"]
fn dkimpy_verifies_an_ed25519_signature() {
    let Some(env) = peer_env(&["PEERS_DKIMPY_PYTHON"]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("ed25519.pem");
    let made = Command::new("openssl")
        .args(["genpkey", "-algorithm", "ed25519", "-out"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(made.status.success(), "openssl: {made:?}");
    let record = bin()
        .args(["dkim-record", "--key"])
        .arg(&key)
        .args(["--selector", "ed"])
        .output()
        .unwrap();
    let record = String::from_utf8(record.stdout).unwrap();
    assert!(record.contains("k=ed25519;"), "{record}");
    let value: String = record.split('"').skip(1).step_by(2).collect();
    let (addr, message) = capture_one_message();
    let key = key.to_str().unwrap();
    send(
        &addr.to_string(),
        &["--dkim-key", key, "--dkim-selector", "ed"],
    );
    let eml = dir.path().join("signed.eml");
    std::fs::write(&eml, message.recv_timeout(Duration::from_secs(30)).unwrap()).unwrap();
    let name = "ed._domainkey.client.example.";
    let verdict = dkimpy(&env[0], &eml, &["record", name, &value]);
    assert_dkimpy_passes(&verdict, "ed25519-sha256", &eml);
}

/// The demo key, taken as a server received it (dot-stuffing undone): the
/// key handed to dkimpy from `dkim-record`, so no DNS peer is needed.
#[test]
#[ignore = "needs the dkimpy peer (tests/peers/dkimpy-up.sh)"]
fn dkimpy_verifies_what_send_signs() {
    let Some(env) = peer_env(&["PEERS_DKIMPY_PYTHON"]) else {
        return;
    };
    let (addr, message) = capture_one_message();
    let key = demo_key();
    send(
        &addr.to_string(),
        &[
            "--dkim-key",
            key.to_str().unwrap(),
            "--dkim-selector",
            "demo",
            "--body",
            "Line one.\n.leading dot\nLast line.\n",
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let eml = dir.path().join("signed.eml");
    std::fs::write(&eml, message.recv_timeout(Duration::from_secs(30)).unwrap()).unwrap();
    let value: String = demo_record().split('"').skip(1).step_by(2).collect();
    let name = "demo._domainkey.client.example.";
    let verdict = dkimpy(&env[0], &eml, &["record", name, &value]);
    assert_dkimpy_passes(&verdict, "rsa-sha256", &eml);
}

/// pyspf's `check2` for each line of `ip mail_from helo` on stdin, against
/// the DNS server at argv[1]: one RFC 7208 result a line.
const PYSPF_CHECK: &str = r#"
import sys, spf, dns.resolver
host, port = sys.argv[1].rsplit(':', 1)
r = dns.resolver.Resolver(configure=False)
r.nameservers, r.port = [host], int(port)
dns.resolver.default_resolver = r
for line in sys.stdin:
    ip, mail_from, helo = line.split()
    result, why = spf.check2(i=ip, s=mail_from, h=helo, timeout=10)
    print(result, why, sep='\t')
"#;

/// SPF's inputs and the result each side gives.
struct SpfCase {
    ip: &'static str,
    mail_from: &'static str,
    helo: &'static str,
    /// Which of our checks to compare: MAIL FROM's domain, or the HELO name
    /// (which pyspf judges as `postmaster@` that name, RFC 7208 2.3).
    method: Method,
    /// What the zone's comments promise, and pyspf says.
    theirs: Outcome,
    /// What we say, over live DNS.
    ours: Outcome,
}

const fn case(ip: &'static str, mail_from: &'static str, result: Outcome) -> SpfCase {
    SpfCase {
        ip,
        mail_from,
        helo: "client.example",
        method: Method::Spf,
        theirs: result,
        ours: result,
    }
}

const SPF_CASES: &[SpfCase] = &[
    case("127.0.0.1", "student@client.example", Outcome::Pass),
    case("192.0.2.7", "student@client.example", Outcome::Fail),
    case("127.0.0.1", "bob@example.test", Outcome::Pass),
    case("127.0.0.2", "bob@example.test", Outcome::Fail),
    case("127.0.0.1", "eve@examp1e.test", Outcome::Pass),
    // No SPF record: a name with only an A record, and one that does not exist.
    case("127.0.0.1", "a@implicit.example.test", Outcome::None),
    case("127.0.0.1", "a@nxdomain.example.test", Outcome::None),
    // A 5000-byte TXT that is not "v=spf1": no SPF record either (4.5).
    case("127.0.0.1", "a@big.hostile.example.test", Outcome::None),
    case(
        "127.0.0.1",
        "a@loop.hostile.example.test",
        Outcome::PermError,
    ),
    // pyspf stops at its third void lookup (a1..a4 do not exist), we at the
    // eleventh lookup: both permerror, for different reasons (4.6.4).
    case(
        "127.0.0.1",
        "a@ten.hostile.example.test",
        Outcome::PermError,
    ),
    // RFC 7208 4.6.4: more than two void lookups (v1..v3 do not exist)
    // end the check. Over live DNS mail-auth keeps no negative answer, so
    // the lookups it left unanswered are asked again to count them.
    case(
        "127.0.0.1",
        "a@void.hostile.example.test",
        Outcome::PermError,
    ),
    SpfCase {
        helo: "mail.example.test",
        method: Method::SpfHelo,
        ..case("127.0.0.1", "postmaster@mail.example.test", Outcome::Pass)
    },
    SpfCase {
        helo: "mail.example.test",
        method: Method::SpfHelo,
        ..case("127.0.0.2", "postmaster@mail.example.test", Outcome::Fail)
    },
];

fn pyspf(python: &str, dns: &str) -> Vec<(String, String)> {
    let mut child = Command::new(python)
        .args(["-c", PYSPF_CHECK, dns])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    for c in SPF_CASES {
        writeln!(stdin, "{} {} {}", c.ip, c.mail_from, c.helo).unwrap();
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "pyspf: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text.lines()
        .map(|l| {
            let (result, why) = l.split_once('\t').unwrap_or((l, ""));
            (result.to_string(), why.to_string())
        })
        .collect()
}

/// pyspf gives, on every case of the demo zone, the result the zone's
/// comments promise, and so do we, except where the RFC leaves room.
#[test]
#[ignore = "needs the pyspf and DNS peers (tests/peers/dkimpy-up.sh, dns-up.sh)"]
fn pyspf_and_ours_agree_on_the_demo_zone() {
    let Some(env) = peer_env(&["PEERS_PYSPF_PYTHON", "PEERS_DNS"]) else {
        return;
    };
    let theirs = pyspf(&env[0], &env[1]);
    assert_eq!(theirs.len(), SPF_CASES.len(), "{theirs:?}");
    let dns = DnsSource::Server(env[1].parse().unwrap());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut disagree = Vec::new();
    for (c, (their, why)) in SPF_CASES.iter().zip(&theirs) {
        let inputs = Inputs {
            message: b"From: <student@client.example>\r\nSubject: spf\r\n\r\nbody\r\n",
            mail_from: c.mail_from,
            helo: c.helo,
            client_ip: c.ip.parse::<IpAddr>().unwrap(),
            receiver: "mx.example.test",
        };
        let judged = runtime.block_on(judge(&inputs, &dns, Duration::from_secs(10)));
        let ours = judged
            .verdicts
            .iter()
            .find(|v| v.method == c.method)
            .unwrap();
        if their != c.theirs.name() || ours.result != c.ours {
            disagree.push(format!(
                "{} {} {}: pyspf {their} ({why}), expected {}; ours {} ({}), expected {}",
                c.ip, c.mail_from, c.helo, c.theirs, ours.result, ours.reason, c.ours
            ));
        }
    }
    assert!(disagree.is_empty(), "{}", disagree.join("\n"));
}
