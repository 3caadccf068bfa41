//! DKIM signing and verifying, per message, ours against dkimpy's on the
//! same message in the same run.
//!
//!     cargo bench --bench dkim
//!     bash bench/dkim-vs-dkimpy.sh     (the same, with dkimpy found for it)
//!
//! Two messages (2 KB and 100 KB, 72-character lines), two keys (the demo
//! RSA-2048 key in assets/dkim/, and an ed25519 key made for the run),
//! relaxed/relaxed canonicalization on both sides. Ours: `DkimKey::sign`,
//! as `send` signs, and mail-auth's `verify_dkim` with the key answered
//! from an offline zone, as `serve` verifies. dkimpy's: `dkim.sign` and
//! `dkim.verify` with the key handed over by `dnsfunc`, timed by Python's
//! `perf_counter` in one process per case, so its start-up is not counted.
//! With `PEERS_DKIMPY_PYTHON` unset (tests/peers/dkimpy-up.sh writes it)
//! only ours are printed. `DKIM_BENCH_N` sets the iterations (200).

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use base64::Engine;
use mail_auth::{AuthenticatedMessage, DkimResult, MessageAuthenticator, Parameters};
use ring::rand::SystemRandom;
use ring::signature::Ed25519KeyPair;
use smtp_workbench::analysis::auth::lookups::Recorder;
use smtp_workbench::analysis::auth::Zone;
use smtp_workbench::message::dkim::DkimKey;
use tokio::runtime::Runtime;

const DOMAIN: &str = "client.example";

/// dkimpy signing and verifying the files in argv[1] N times each; prints
/// the µs per message of each.
const DKIMPY: &str = r#"
import sys, time, base64, dkim
d, n, selector, algorithm = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode(), sys.argv[4].encode()
read = lambda f: open(d + '/' + f, 'rb').read()
message, signed, key, record = read('message.eml'), read('signed.eml'), read('dkimpy.key'), read('record.txt')
name = selector + b'._domainkey.client.example.'
dnsfunc = lambda n, timeout=5: record if n == name else None
assert dkim.verify(signed, dnsfunc=dnsfunc), 'dkimpy does not verify our signature'
heads = [b'from', b'to', b'subject', b'date', b'message-id']
def sign():
    return dkim.sign(message, selector, b'client.example', key, include_headers=heads,
                     canonicalize=(b'relaxed', b'relaxed'), signature_algorithm=algorithm)
assert dkim.verify(sign() + message, dnsfunc=dnsfunc)
t = time.perf_counter()
for _ in range(n):
    sign()
s = (time.perf_counter() - t) / n
t = time.perf_counter()
for _ in range(n):
    assert dkim.verify(signed, dnsfunc=dnsfunc)
v = (time.perf_counter() - t) / n
print(s * 1e6, v * 1e6)
"#;

/// A key as both sides take it: ours from PEM, dkimpy's as it reads them
/// (RSA PEM; ed25519 the base64 of the 32-byte seed, RFC 8463 3).
struct Key {
    name: &'static str,
    selector: &'static str,
    dkimpy_algorithm: &'static str,
    ours: DkimKey,
    dkimpy: Vec<u8>,
}

fn keys() -> Vec<Key> {
    let rsa_pem = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/dkim/demo.key"))
        .expect("assets/dkim/demo.key");
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
    let der = pkcs8.as_ref();
    // ring writes the RFC 5958 v2 form: a 16-byte prefix, then the seed.
    assert_eq!(&der[9..16], &[0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]);
    let b64 = base64::engine::general_purpose::STANDARD;
    let ed_pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        b64.encode(der)
    );
    vec![
        Key {
            name: "RSA-2048",
            selector: "demo",
            dkimpy_algorithm: "rsa-sha256",
            ours: DkimKey::from_pem(&rsa_pem).unwrap(),
            dkimpy: rsa_pem,
        },
        Key {
            name: "ed25519",
            selector: "ed",
            dkimpy_algorithm: "ed25519-sha256",
            ours: DkimKey::from_pem(ed_pem.as_bytes()).unwrap(),
            dkimpy: b64.encode(&der[16..48]).into_bytes(),
        },
    ]
}

/// A plain message of about `size` bytes, CRLF line ends.
fn message(size: usize) -> Vec<u8> {
    let mut m = b"From: Student <student@client.example>\r\nTo: <alice@example.test>\r\n\
        Subject: DKIM bench\r\nDate: Mon, 30 Nov 2026 10:00:00 +0000\r\n\
        Message-ID: <bench@client.example>\r\n\r\n"
        .to_vec();
    let line = b"The quick brown fox jumps over the lazy dog, and then over the fence.  \r\n";
    while m.len() + line.len() <= size {
        m.extend_from_slice(line);
    }
    m
}

/// µs per call of `f`, over `n` calls.
fn per_call(n: u32, mut f: impl FnMut()) -> f64 {
    let started = Instant::now();
    for _ in 0..n {
        f();
    }
    started.elapsed().as_secs_f64() * 1e6 / f64::from(n)
}

fn verify_ours(rt: &Runtime, auth: &MessageAuthenticator, zone: &Arc<Zone>, signed: &[u8]) -> bool {
    let recorder = Recorder::new(Some(zone.clone()), IpAddr::V4(Ipv4Addr::LOCALHOST));
    let message = AuthenticatedMessage::parse(signed).unwrap();
    let params = Parameters::new(&message)
        .with_txt_cache(&recorder)
        .with_mx_cache(&recorder)
        .with_ptr_cache(&recorder)
        .with_ipv4_cache(&recorder)
        .with_ipv6_cache(&recorder);
    let outputs = rt.block_on(auth.verify_dkim(params));
    outputs.iter().any(|o| o.result() == &DkimResult::Pass)
}

fn dkimpy(python: &str, key: &Key, message: &[u8], signed: &[u8], n: u32) -> (f64, f64) {
    let dir = tempfile::tempdir().unwrap();
    let record = key.ours.record_value();
    for (file, bytes) in [
        ("message.eml", message),
        ("signed.eml", signed),
        ("dkimpy.key", &key.dkimpy[..]),
        ("record.txt", record.as_bytes()),
    ] {
        std::fs::write(dir.path().join(file), bytes).unwrap();
    }
    let out = Command::new(python)
        .args(["-c", DKIMPY])
        .arg(dir.path())
        .arg(n.to_string())
        .args([key.selector, key.dkimpy_algorithm])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "dkimpy: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut figures = text.split_whitespace().map(|f| f.parse::<f64>().unwrap());
    (figures.next().unwrap(), figures.next().unwrap())
}

fn main() {
    let n: u32 = std::env::var("DKIM_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let python = std::env::var("PEERS_DKIMPY_PYTHON").ok();
    let keys = keys();
    let zone_text: String = keys
        .iter()
        .fold(format!("$ORIGIN {DOMAIN}.\n$TTL 300\n"), |text, k| {
            text + &k.ours.zone_record(k.selector) + "\n"
        });
    let zone = Arc::new(Zone::parse(&zone_text, "bench", None).unwrap());
    let resolver = hickory_resolver::config::ResolverConfig::from_parts(None, vec![], vec![]);
    let auth = MessageAuthenticator::new(resolver, Default::default()).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    println!("DKIM per message, µs (n = {n}); ratio = dkimpy / ours");
    println!(
        "{:<9} {:>7}  {:>9} {:>9} {:>6}  {:>9} {:>9} {:>6}",
        "key", "message", "sign", "dkimpy", "ratio", "verify", "dkimpy", "ratio"
    );
    for key in &keys {
        for size in [2 * 1024, 100 * 1024] {
            let message = message(size);
            let signed = key.ours.sign(&message, DOMAIN, key.selector).unwrap();
            assert!(
                verify_ours(&rt, &auth, &zone, &signed),
                "ours does not verify"
            );
            let sign = per_call(n, || {
                key.ours.sign(&message, DOMAIN, key.selector).unwrap();
            });
            let verify = per_call(n, || {
                assert!(verify_ours(&rt, &auth, &zone, &signed));
            });
            let label = format!("{} KB", size / 1024);
            let Some(python) = &python else {
                println!(
                    "{:<9} {label:>7}  {sign:>9.1} {:>9} {:>6}  {verify:>9.1}",
                    key.name, "-", "-"
                );
                continue;
            };
            let (py_sign, py_verify) = dkimpy(python, key, &message, &signed, n);
            println!(
                "{:<9} {label:>7}  {sign:>9.1} {py_sign:>9.1} {:>6.1}  {verify:>9.1} {py_verify:>9.1} {:>6.1}",
                key.name,
                py_sign / sign,
                py_verify / verify
            );
        }
    }
}
