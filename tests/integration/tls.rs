//! TLS of `send` against test servers made here with rcgen: the whole chain
//! shown and what is wrong with it said (expired, wrong name, self-signed,
//! missing intermediate, a hostile 20-certificate chain), `--save-chain`
//! checked with openssl, SNI and version pinning, client-certificate file
//! errors, DANE against a test-local DNS responder, MTA-STS against a
//! loopback HTTPS server; and, ignored unless asked for, the same against
//! the Postfix peer.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::process::Output;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use smtp_workbench::transport::tls::chain::{now, ymd};

use crate::support::{bin, peer_var, postfix_at, PEER_ENVELOPE};

// ------------------------------------------------------------ certificates

struct Ca {
    der: CertificateDer<'static>,
    issuer: Issuer<'static, KeyPair>,
}

/// The calendar day (UTC) `days` from now, as rcgen takes it.
fn at(days: i64) -> (i32, u8, u8) {
    let (y, m, d) = ymd(now() + days * 86_400);
    (y as i32, m as u8, d as u8)
}

fn valid(p: &mut CertificateParams, from: i64, to: i64) {
    let (y, m, d) = at(from);
    p.not_before = rcgen::date_time_ymd(y, m, d);
    let (y, m, d) = at(to);
    p.not_after = rcgen::date_time_ymd(y, m, d);
}

fn ca_params(cn: &str) -> CertificateParams {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name.push(DnType::CommonName, cn);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    valid(&mut p, -10, 1000);
    p
}

impl Ca {
    fn root(cn: &str) -> Ca {
        let key = KeyPair::generate().unwrap();
        let p = ca_params(cn);
        let der = p.self_signed(&key).unwrap().der().clone();
        Ca {
            der,
            issuer: Issuer::new(p, key),
        }
    }

    fn intermediate(&self, cn: &str) -> Ca {
        let key = KeyPair::generate().unwrap();
        let p = ca_params(cn);
        let der = p.signed_by(&key, &self.issuer).unwrap().der().clone();
        Ca {
            der,
            issuer: Issuer::new(p, key),
        }
    }

    /// A leaf for `names` valid from `from` to `to` days from now, and its key.
    fn leaf(
        &self,
        names: &[&str],
        from: i64,
        to: i64,
    ) -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
        let key = KeyPair::generate().unwrap();
        let mut p = CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .unwrap();
        p.distinguished_name.push(DnType::CommonName, names[0]);
        valid(&mut p, from, to);
        let der = p.signed_by(&key, &self.issuer).unwrap().der().clone();
        let k = PrivateKeyDer::from_pem_slice(key.serialize_pem().as_bytes()).unwrap();
        (der, k)
    }
}

fn self_signed(name: &str) -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
    let key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(vec![name.to_string()]).unwrap();
    p.distinguished_name.push(DnType::CommonName, name);
    valid(&mut p, -1, 100);
    let der = p.self_signed(&key).unwrap().der().clone();
    (
        der,
        PrivateKeyDer::from_pem_slice(key.serialize_pem().as_bytes()).unwrap(),
    )
}

fn pem(certs: &[CertificateDer<'_>]) -> String {
    use base64::Engine as _;
    let mut out = String::new();
    for c in certs {
        let b = base64::engine::general_purpose::STANDARD.encode(c.as_ref());
        out.push_str("-----BEGIN CERTIFICATE-----\n");
        for l in b.as_bytes().chunks(64) {
            out.push_str(std::str::from_utf8(l).unwrap());
            out.push('\n');
        }
        out.push_str("-----END CERTIFICATE-----\n");
    }
    out
}

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> String {
    let p = dir.path().join(name);
    std::fs::write(&p, text).unwrap();
    p.to_string_lossy().into_owned()
}

// ------------------------------------------------------------- servers

fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> Arc<rustls::ServerConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Arc::new(
        rustls::ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(versions)
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .unwrap(),
    )
}

/// An implicit-TLS SMTP server for one connection: the greeting, then 250
/// to everything but QUIT.
fn smtp_over_tls(config: Arc<rustls::ServerConfig>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let Ok((tcp, _)) = listener.accept() else {
            return;
        };
        tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let conn = rustls::ServerConnection::new(config).unwrap();
        let mut tls = rustls::StreamOwned::new(conn, tcp);
        if tls
            .write_all(b"220 mx.example.test ESMTP test\r\n")
            .is_err()
        {
            return;
        }
        let _ = tls.flush();
        let mut reader = BufReader::new(tls);
        let mut line = String::new();
        while reader.read_line(&mut line).unwrap_or(0) > 0 {
            let quit = line.to_ascii_uppercase().starts_with("QUIT");
            let reply: &[u8] = if quit { b"221 bye\r\n" } else { b"250 ok\r\n" };
            let _ = reader.get_mut().write_all(reply);
            let _ = reader.get_mut().flush();
            if quit {
                break;
            }
            line.clear();
        }
    });
    addr
}

/// An HTTPS server answering every request with `response`, for `count` connections.
fn https(config: Arc<rustls::ServerConfig>, response: String, count: usize) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for _ in 0..count {
            let Ok((tcp, _)) = listener.accept() else {
                return;
            };
            tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
            let conn = rustls::ServerConnection::new(config.clone()).unwrap();
            let mut tls = rustls::StreamOwned::new(conn, tcp);
            let mut head = Vec::new();
            let mut b = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && tls.read(&mut b).unwrap_or(0) == 1 {
                head.push(b[0]);
            }
            assert!(head.starts_with(b"GET /.well-known/mta-sts.txt HTTP/1.0\r\n"));
            let _ = tls.write_all(response.as_bytes());
            tls.conn.send_close_notify();
            let _ = tls.flush();
        }
    });
    addr
}

/// One DNS record the responder gives: name, type and RDATA.
type Rr = (String, u16, Vec<u8>);

const A: u16 = 1;
const TXT: u16 = 16;
const TLSA: u16 = 52;

/// A DNS responder on a loopback UDP port: each question answered from
/// `records` (NXDOMAIN when the name has none at all).
fn dns(records: Vec<Rr>) -> SocketAddr {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = socket.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 1500];
        while let Ok((n, from)) = socket.recv_from(&mut buf) {
            let q = &buf[..n];
            if n < 12 {
                continue;
            }
            // The question: labels from byte 12, then type and class.
            let mut i = 12;
            let mut labels = Vec::new();
            while i < n && q[i] != 0 {
                let len = q[i] as usize;
                labels.push(String::from_utf8_lossy(&q[i + 1..i + 1 + len]).to_ascii_lowercase());
                i += 1 + len;
            }
            let name = labels.join(".");
            let qtype = u16::from_be_bytes([q[i + 1], q[i + 2]]);
            let question = &q[12..i + 5];
            let known = records.iter().any(|r| r.0 == name);
            let answers: Vec<&Rr> = records
                .iter()
                .filter(|r| r.0 == name && r.1 == qtype)
                .collect();
            let mut out = Vec::new();
            out.extend_from_slice(&q[..2]);
            let rcode = if known { 0 } else { 3 };
            out.extend_from_slice(&[0x84, rcode]);
            out.extend_from_slice(&[0, 1]);
            out.extend_from_slice(&(answers.len() as u16).to_be_bytes());
            out.extend_from_slice(&[0, 0, 0, 0]);
            out.extend_from_slice(question);
            for (_, t, rdata) in answers {
                out.extend_from_slice(&[0xc0, 0x0c]);
                out.extend_from_slice(&t.to_be_bytes());
                out.extend_from_slice(&[0, 1, 0, 0, 0, 60]);
                out.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
                out.extend_from_slice(rdata);
            }
            let _ = socket.send_to(&out, from);
        }
    });
    addr
}

fn txt(s: &str) -> Vec<u8> {
    let mut v = vec![s.len() as u8];
    v.extend_from_slice(s.as_bytes());
    v
}

/// TLSA 3 1 1 (DANE-EE, public key, SHA-256) for a certificate.
fn tlsa_311(der: &CertificateDer<'_>) -> Vec<u8> {
    use x509_parser::prelude::*;
    let (_, c) = X509Certificate::from_der(der.as_ref()).unwrap();
    let digest = ring::digest::digest(&ring::digest::SHA256, c.public_key().raw);
    let mut v = vec![3, 1, 1];
    v.extend_from_slice(digest.as_ref());
    v
}

// --------------------------------------------------------------- running

/// `send` with implicit TLS to `addr`, checked for mx.example.test with
/// the CA in `ca`, stopping after the greeting.
fn tls_cmd(addr: SocketAddr, ca: &str) -> assert_cmd::Command {
    let mut c = bin();
    c.args([
        "send",
        "--server",
        &addr.to_string(),
        "--tls",
        "implicit",
        "--ca-file",
        ca,
        "--tls-name",
        "mx.example.test",
        "--ehlo",
        "client.example.test",
        "--quit-after",
        "greeting",
        "--timeout",
        "10",
    ]);
    c
}

/// `tls_cmd` with `extra` flags: exit status and stdout.
fn send_tls(addr: SocketAddr, ca: &str, extra: &[&str]) -> (i32, String) {
    let out = tls_cmd(addr, ca).args(extra).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// `tls_cmd` with MTA-STS for example.test, its DNS from `resolver` and
/// its policy host on loopback at `web_port`.
fn send_mta_sts(addr: SocketAddr, ca: &str, resolver: &str, web_port: u16) -> Output {
    tls_cmd(addr, ca)
        .env("SMTP_WORKBENCH_MTA_STS_PORT", web_port.to_string())
        .args(["--mta-sts", "example.test", "--dns", resolver])
        .output()
        .unwrap()
}

/// Each broken chain the issue names, served for real: the handshake
/// fails (exit 3), the chain is still shown, and the line says what is
/// wrong with it.
#[test]
fn each_broken_chain_is_shown_and_said_for_what_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let root = Ca::root("Test Root");
    let inter = root.intermediate("Test Intermediate");
    let ca = write(&dir, "ca.pem", &pem(std::slice::from_ref(&root.der)));
    let v = [&rustls::version::TLS13, &rustls::version::TLS12];
    let expired = inter.leaf(&["mx.example.test"], -100, -2);
    let wrong = inter.leaf(&["smtp.other.test", "www.other.test"], -1, 90);
    let own = self_signed("mx.example.test");
    let lonely = inter.leaf(&["mx.example.test"], -1, 90);
    let cases = vec![
        (
            "expired",
            vec![expired.0, inter.der.clone()],
            expired.1,
            "expired on ",
        ),
        (
            "wrong name",
            vec![wrong.0, inter.der.clone()],
            wrong.1,
            "not for \"mx.example.test\": it carries DNS:smtp.other.test, DNS:www.other.test",
        ),
        (
            "self-signed",
            vec![own.0],
            own.1,
            "the certificate is self-signed",
        ),
        (
            "missing intermediate",
            vec![lonely.0],
            lonely.1,
            "intermediate certificate is most likely missing",
        ),
    ];
    for (case, chain, key, want) in cases {
        let addr = smtp_over_tls(server_config(chain, key, &v));
        let (code, out) = send_tls(addr, &ca, &[]);
        assert_eq!(code, 3, "{case}: {out}");
        assert!(out.contains("certificate 1 of "), "{case}: {out}");
        assert!(out.contains("SHA-256 "), "{case}: {out}");
        assert!(out.contains("chain problem: "), "{case}: {out}");
        assert!(out.contains(want), "{case}: {out}");
        assert!(out.contains("TLS handshake failed"), "{case}: {out}");
    }
}

/// A hostile server sends a chain of 20 certificates: the session ends
/// quickly, shows at most 8 of them and says how many it left out.
#[test]
fn a_chain_of_twenty_certificates_is_cut_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let root = Ca::root("Deep Root");
    let ca = write(&dir, "ca.pem", &pem(std::slice::from_ref(&root.der)));
    let mut cas = vec![root];
    for i in 0..19 {
        let next = cas[cas.len() - 1].intermediate(&format!("Level {i}"));
        cas.push(next);
    }
    let (leaf, key) = cas[cas.len() - 1].leaf(&["mx.example.test"], -1, 90);
    let mut chain = vec![leaf];
    chain.extend(cas[1..].iter().rev().map(|c| c.der.clone()));
    assert_eq!(chain.len(), 20);
    let addr = smtp_over_tls(server_config(chain, key, &[&rustls::version::TLS13]));
    let start = Instant::now();
    let (_code, out) = send_tls(addr, &ca, &[]);
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "took {:?}",
        start.elapsed()
    );
    assert!(out.contains("the server sent 20 certificates:"), "{out}");
    assert!(out.contains("certificate 8 of 20"), "{out}");
    assert!(!out.contains("certificate 9 of 20"), "{out}");
    assert!(out.contains("12 more certificates not shown"), "{out}");
    assert!(out.contains("longer than a verifier follows"), "{out}");
    assert!(out.lines().count() < 60, "{out}");
}

/// A sound chain: shown whole, `--save-chain` writes it as PEM that
/// openssl reads, and `--tls-sni` and `--tls-version` do what they say.
#[test]
fn a_sound_chain_is_saved_and_sni_and_version_are_as_asked() {
    let dir = tempfile::tempdir().unwrap();
    let root = Ca::root("Test Root");
    let inter = root.intermediate("Test Intermediate");
    let ca = write(&dir, "ca.pem", &pem(std::slice::from_ref(&root.der)));
    let (leaf, key) = inter.leaf(&["mx.example.test"], -1, 90);
    let both = [&rustls::version::TLS13, &rustls::version::TLS12];
    let addr = smtp_over_tls(server_config(vec![leaf, inter.der.clone()], key, &both));
    let saved = dir.path().join("chain.pem");
    let (code, out) = send_tls(
        addr,
        &ca,
        &[
            "--save-chain",
            saved.to_str().unwrap(),
            "--tls-sni",
            "front.example.test",
            "--tls-version",
            "1.2",
        ],
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("TLS established: TLS 1.2, TLS_ECDHE_ECDSA_"),
        "{out}"
    );
    assert!(
        out.contains(
            "SNI sent: front.example.test (the certificate is checked for mx.example.test)"
        ),
        "{out}"
    );
    assert!(out.contains("the server sent 2 certificates:"), "{out}");
    assert!(out.contains("issuer CN=Test Root"), "{out}");
    assert!(!out.contains("chain problem"), "{out}");
    assert!(
        out.contains("saved the server's 2 certificate(s) to "),
        "{out}"
    );
    let subject = std::process::Command::new("openssl")
        .args(["x509", "-noout", "-subject", "-in"])
        .arg(&saved)
        .output()
        .unwrap();
    assert!(subject.status.success());
    let subject = String::from_utf8_lossy(&subject.stdout);
    assert!(
        subject.contains("CN = mx.example.test") || subject.contains("CN=mx.example.test"),
        "{subject}"
    );
    assert_eq!(
        std::fs::read_to_string(&saved)
            .unwrap()
            .matches("BEGIN CERTIFICATE")
            .count(),
        2
    );
}

/// A server that speaks only TLS 1.2, against a client pinned to 1.3:
/// the refusal is said, exit 3.
#[test]
fn a_pinned_version_the_server_lacks_fails_the_handshake() {
    let dir = tempfile::tempdir().unwrap();
    let root = Ca::root("Test Root");
    let ca = write(&dir, "ca.pem", &pem(std::slice::from_ref(&root.der)));
    let (leaf, key) = root.leaf(&["mx.example.test"], -1, 90);
    let addr = smtp_over_tls(server_config(vec![leaf], key, &[&rustls::version::TLS12]));
    let (code, out) = send_tls(addr, &ca, &["--tls-version", "1.3"]);
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("TLS handshake failed"), "{out}");
}

/// Client-certificate files that cannot be used are usage errors with the
/// file named; cipher names are checked against the known ones.
#[test]
fn client_certificate_and_cipher_mistakes_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let root = Ca::root("Client CA");
    let (cert, _) = root.leaf(&["client.example.test"], -1, 30);
    let (_, other) = root.leaf(&["b.example.test"], -1, 30);
    let c = write(&dir, "c.pem", &pem(&[cert]));
    let other_pem = {
        let PrivateKeyDer::Pkcs8(k) = other else {
            panic!()
        };
        use base64::Engine as _;
        let b = base64::engine::general_purpose::STANDARD.encode(k.secret_pkcs8_der());
        format!("-----BEGIN PRIVATE KEY-----\n{b}\n-----END PRIVATE KEY-----\n")
    };
    let k = write(&dir, "k.pem", &other_pem);
    let base = [
        "send",
        "--server",
        "127.0.0.1:1",
        "--tls",
        "starttls",
        "--rcpt",
        "a@b.test",
    ];
    let run = |extra: &[&str]| {
        let out = bin().args(base).args(extra).output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = run(&["--tls-cert", "/nonexistent.pem", "--tls-key", &k]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("--tls-cert /nonexistent.pem: no such file"),
        "{err}"
    );
    let (code, err) = run(&["--tls-cert", &c, "--tls-key", &k]);
    assert_eq!(code, Some(2));
    assert!(err.contains("does not belong to the certificate"), "{err}");
    let (code, err) = run(&["--tls-cert", &c]);
    assert_eq!(code, Some(2), "{err}");
    let (code, err) = run(&["--tls-cipher", "RC4-MD5"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("TLS_AES_128_GCM_SHA256"), "{err}");
    let (code, err) = run(&[
        "--tls-version",
        "1.3",
        "--tls-cipher",
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    ]);
    assert_eq!(code, Some(2));
    assert!(err.contains("TLS 1.3"), "{err}");
    let out = bin()
        .args([
            "send",
            "--server",
            "127.0.0.1:1",
            "--rcpt",
            "a@b.test",
            "--dane",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// `--dane` to an address, with no `--tls-name`, would ask for the TLSA
/// records of `_PORT._tcp.127.0.0.1`: it says a host name is needed instead.
#[test]
fn dane_to_an_address_asks_for_a_host_name() {
    for server in ["127.0.0.1:2525", "[::1]:2525"] {
        let out = bin()
            .args(["send", "--server", server, "--rcpt", "a@b.test"])
            .args(["--tls", "starttls", "--dane"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains("--dane needs a host name"), "{err}");
        assert!(err.contains("--tls-name NAME"), "{err}");
        assert!(out.stdout.is_empty(), "nothing looked up or sent");
    }
}

/// DANE: a TLSA record made from the test server's certificate matches; one
/// made from another does not; and the answer is said not to be validated.
#[test]
fn dane_matches_the_record_that_fits_and_not_the_other() {
    let dir = tempfile::tempdir().unwrap();
    let root = Ca::root("Test Root");
    let ca = write(&dir, "ca.pem", &pem(std::slice::from_ref(&root.der)));
    let (leaf, key) = root.leaf(&["mx.example.test"], -1, 90);
    let (stranger, _) = root.leaf(&["other.example.test"], -1, 90);
    for (record, want) in [
        (tlsa_311(&leaf), "dane: verdict: MATCH"),
        (tlsa_311(&stranger), "dane: verdict: MISMATCH"),
    ] {
        let addr = smtp_over_tls(server_config(
            vec![leaf.clone()],
            key.clone_key(),
            &[&rustls::version::TLS13],
        ));
        let name = format!("_{}._tcp.mx.example.test", addr.port());
        let resolver = dns(vec![(name.clone(), TLSA, record)]).to_string();
        let (code, out) = send_tls(addr, &ca, &["--dane", "--dns", &resolver]);
        assert_eq!(code, 0, "{out}");
        assert!(out.contains(&format!("dns: TLSA {name} → 3 1 1 ")), "{out}");
        assert!(out.contains("DNSSEC: NOT validated"), "{out}");
        assert!(out.contains(want), "{out}");
    }
    // No record at all: DANE does not apply.
    let addr = smtp_over_tls(server_config(
        vec![leaf.clone()],
        key,
        &[&rustls::version::TLS13],
    ));
    let resolver = dns(vec![("x.test".into(), A, vec![127, 0, 0, 1])]).to_string();
    let (code, out) = send_tls(addr, &ca, &["--dane", "--dns", &resolver]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("publishes no TLSA records"), "{out}");
}

/// MTA-STS: the TXT record and the policy from a loopback HTTPS server
/// (its certificate checked against --ca-file), the MX in use matched.
#[test]
fn mta_sts_fetches_the_policy_and_matches_the_mx() {
    let dir = tempfile::tempdir().unwrap();
    let root = Ca::root("Test Root");
    let ca = write(&dir, "ca.pem", &pem(std::slice::from_ref(&root.der)));
    let (mx, mx_key) = root.leaf(&["mx.example.test"], -1, 90);
    let (web, web_key) = root.leaf(&["mta-sts.example.test"], -1, 90);
    let v13 = [&rustls::version::TLS13];
    let cases = [
        (
            "mx: *.example.test",
            "matches *.example.test: under enforce a sender delivers here only over TLS",
        ),
        (
            "mx: mail.elsewhere.test",
            "matches NO mx of the policy: under enforce a sender would NOT deliver",
        ),
    ];
    for (mx_line, want) in cases {
        let body = format!("version: STSv1\r\nmode: enforce\r\n{mx_line}\r\nmax_age: 604800\r\n");
        let response = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let web_addr = https(
            server_config(vec![web.clone()], web_key.clone_key(), &v13),
            response,
            1,
        );
        let resolver = dns(vec![
            (
                "_mta-sts.example.test".into(),
                TXT,
                txt("v=STSv1; id=20261204T1;"),
            ),
            ("mta-sts.example.test".into(), A, vec![127, 0, 0, 1]),
        ])
        .to_string();
        let addr = smtp_over_tls(server_config(vec![mx.clone()], mx_key.clone_key(), &v13));
        let out = send_mta_sts(addr, &ca, &resolver, web_addr.port());
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{text}");
        assert!(
            text.contains("dns: TXT _mta-sts.example.test → \"v=STSv1; id=20261204T1;\""),
            "{text}"
        );
        assert!(text.contains("mta-sts: record id 20261204T1"), "{text}");
        assert!(
            text.contains("mode enforce, max_age 604800 (7 days)"),
            "{text}"
        );
        assert!(text.contains(want), "{text}");
    }
}

/// MTA-STS whose policy host has a certificate nobody trusts: the policy
/// does not count, and the line says why.
#[test]
fn mta_sts_refuses_a_policy_host_with_an_untrusted_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let root = Ca::root("Test Root");
    let ca = write(&dir, "ca.pem", &pem(std::slice::from_ref(&root.der)));
    let (web, web_key) = self_signed("mta-sts.example.test");
    let web_addr = https(
        server_config(vec![web], web_key, &[&rustls::version::TLS13]),
        "HTTP/1.0 200 OK\r\n\r\n".into(),
        1,
    );
    let resolver = dns(vec![
        ("_mta-sts.example.test".into(), TXT, txt("v=STSv1; id=1;")),
        ("mta-sts.example.test".into(), A, vec![127, 0, 0, 1]),
    ])
    .to_string();
    let (mx, mx_key) = root.leaf(&["mx.example.test"], -1, 90);
    let addr = smtp_over_tls(server_config(vec![mx], mx_key, &[&rustls::version::TLS13]));
    let out = send_mta_sts(addr, &ca, &resolver, web_addr.port());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("the policy host's certificate is refused, so the policy does not count"),
        "{text}"
    );
    assert!(text.contains("self-signed"), "{text}");
}

// ------------------------------------------------------------- peers

fn peer_send(server: &str, extra: &[&str]) -> (i32, String) {
    let out = bin()
        .args([
            "send",
            "--server",
            server,
            "--timeout",
            "20",
            "--tls",
            "starttls",
            "--ca-file",
            &peer_var("PEERS_TLS_CA"),
        ])
        .args(PEER_ENVELOPE)
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// Postfix's port that requires a client certificate: with the test CA's
/// client certificate the mail is taken and Received: names its CN;
/// without it the server refuses.
#[test]
#[ignore = "needs the Postfix peer (client-certificate port)"]
fn postfix_takes_a_client_certificate_and_refuses_without() {
    let server = postfix_at("PEERS_POSTFIX_PORT_CCERT");
    let t = crate::peers::token("ccert");
    let (cert, key) = (
        peer_var("PEERS_TLS_CLIENT_CERT"),
        peer_var("PEERS_TLS_CLIENT_KEY"),
    );
    let (code, out) = peer_send(
        &server,
        &["--tls-cert", &cert, "--tls-key", &key, "--subject", &t],
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("client certificate "), "{out}");
    let mail = crate::peers::wait_for_mail(
        &peer_var("PEERS_POSTFIX_NEW_MAIL"),
        &t,
        Duration::from_secs(20),
    )
    .expect("the message did not arrive");
    let cn = std::process::Command::new("openssl")
        .args([
            "x509",
            "-noout",
            "-subject",
            "-nameopt",
            "multiline",
            "-in",
            &cert,
        ])
        .output()
        .unwrap();
    let cn = String::from_utf8_lossy(&cn.stdout)
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("commonName")
                .map(|v| v.trim_start_matches([' ', '=']).trim().to_string())
        })
        .expect("the client certificate has a CN");
    let received: String = mail
        .lines()
        .take_while(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        received.contains(&cn),
        "Received: does not name {cn}: {received}"
    );
    let (code, out) = peer_send(&server, &[]);
    assert_ne!(code, 0, "{out}");
}

#[test]
#[ignore = "needs the Postfix peer"]
fn postfix_speaks_tls_1_2_when_pinned() {
    let (code, out) = peer_send(
        &postfix_at("PEERS_POSTFIX_PORT_SMTP"),
        &["--tls-version", "1.2", "--quit-after", "starttls"],
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("TLS established: TLS 1.2, "), "{out}");
}

#[test]
#[ignore = "needs the Postfix peer"]
fn postfix_chain_saved_is_read_by_openssl() {
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("postfix.pem");
    let (code, out) = peer_send(
        &postfix_at("PEERS_POSTFIX_PORT_SMTP"),
        &[
            "--save-chain",
            saved.to_str().unwrap(),
            "--quit-after",
            "starttls",
        ],
    );
    assert_eq!(code, 0, "{out}");
    let o = std::process::Command::new("openssl")
        .args(["x509", "-noout", "-subject", "-in"])
        .arg(&saved)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("subject="));
}

// ------------------------------------------------------------- workbench

/// The workbench by hand: EHLO, STARTTLS from the palette, the chain in the
/// transcript, then "Save the server's certificates" writes a PEM file
/// that openssl reads.
#[test]
fn the_workbench_shows_the_chain_and_saves_it_from_the_palette() {
    use crate::pty::{Pty, ENTER};
    let mut pty = Pty::spawn(&["--ehlo", "client.example.test"]);
    pty.wait_for("220 demo.example.test");
    pty.keys(ENTER);
    pty.wait_for("250 CHUNKING");
    pty.keys("STARTTLS");
    pty.keys(ENTER);
    pty.wait_for("TLS established: TLS 1.3");
    pty.wait_for("certificate 1 of 1 (the server's own)");
    pty.wait_for("Save the server's certificates");
    pty.keys("save the server");
    pty.keys(ENTER);
    pty.wait_for("saved the server's 1 certificate(s) to smtp-workbench-chain-");
    let screen = pty.screen();
    let name = screen
        .split_whitespace()
        .find(|w| w.starts_with("smtp-workbench-chain-") && w.ends_with(".pem"))
        .expect("the file name on the status line")
        .to_string();
    crate::pty::quit(&mut pty, true);
    let path = std::env::temp_dir().join(&name);
    let o = std::process::Command::new("openssl")
        .args(["x509", "-noout", "-subject", "-in"])
        .arg(&path)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&path);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("demo.example.test"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}
