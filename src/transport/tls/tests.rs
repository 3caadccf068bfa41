//! The client's TLS setup against an rcgen-made server on loopback
//! (tokio-rustls): the name checked apart from the SNI sent, pinned
//! versions and suites, the client certificate, the chain kept when
//! verification fails.

use std::io::Write as _;
use std::time::Duration;

use rustls::server::WebPkiClientVerifier;
use rustls::ServerConfig;
use tokio::net::{TcpListener, TcpStream};

use super::testchain::{leaf_with, Ca};
use super::*;
use crate::transport::connect::handshake;

/// What the server saw of one handshake.
#[derive(Debug, Default)]
struct Heard {
    sni: Option<String>,
    version: Option<rustls::ProtocolVersion>,
    client_certs: usize,
}

/// A server for `names` signed by `ca` (sending `extra` after its own
/// certificate), asking for a client certificate signed by `client_ca`
/// when given; answers one handshake.
async fn server(
    ca: &Ca,
    names: &[&str],
    extra: Vec<CertificateDer<'static>>,
    client_ca: Option<&Ca>,
) -> (std::net::SocketAddr, tokio::task::JoinHandle<Heard>) {
    let (leaf, key) = ca.leaf_and_key(names, -1, 90);
    let key = PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap();
    let mut chain = vec![leaf];
    chain.extend(extra);
    let provider = Arc::new(default_provider());
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap();
    let builder = match client_ca {
        Some(c) => {
            let mut roots = RootCertStore::empty();
            roots.add(c.der.clone()).unwrap();
            builder.with_client_cert_verifier(
                WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                    .build()
                    .unwrap(),
            )
        }
        None => builder.with_no_client_auth(),
    };
    let config = builder.with_single_cert(chain, key).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let task = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        match acceptor.accept(tcp).await {
            Ok(tls) => {
                let c = tls.get_ref().1;
                Heard {
                    sni: c.server_name().map(str::to_string),
                    version: c.protocol_version(),
                    client_certs: c.peer_certificates().map_or(0, |p| p.len()),
                }
            }
            Err(_) => Heard::default(),
        }
    });
    (addr, task)
}

fn ca_file(ca: &Ca) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(chain::pem(std::slice::from_ref(&ca.der)).as_bytes())
        .unwrap();
    f
}

/// The options that trust the CA in `file` and check for mx.example.test.
fn for_mx(file: &tempfile::NamedTempFile) -> TlsOptions {
    TlsOptions {
        ca_file: Some(file.path().into()),
        tls_name: Some("mx.example.test".into()),
        ..Default::default()
    }
}

async fn shake(
    addr: std::net::SocketAddr,
    opts: &TlsOptions,
) -> Result<Vec<String>, (String, Vec<String>)> {
    let setup = setup(opts, &addr.ip().to_string()).unwrap();
    let tcp = TcpStream::connect(addr).await.unwrap();
    match handshake(tcp, &setup, Duration::from_secs(5)).await {
        Ok((_, details)) => Ok(details),
        Err(r) => Err((r.message, r.details)),
    }
}

#[tokio::test]
async fn the_name_checked_and_the_sni_sent_are_apart() {
    let root = Ca::root("Test Root");
    let file = ca_file(&root);
    let (addr, heard) = server(&root, &["mx.example.test"], vec![], None).await;
    let opts = TlsOptions {
        sni: Some("front.example.test".into()),
        ..for_mx(&file)
    };
    let details = shake(addr, &opts).await.unwrap();
    let text = details.join("\n");
    assert_eq!(
        heard.await.unwrap().sni.as_deref(),
        Some("front.example.test")
    );
    assert!(
        text.contains(
            "SNI sent: front.example.test (the certificate is checked for mx.example.test)"
        ),
        "{text}"
    );
    assert!(
        text.contains("certificate 1 of 1 (the server's own): subject CN=mx.example.test"),
        "{text}"
    );

    let (addr, heard) = server(&root, &["mx.example.test"], vec![], None).await;
    let none = TlsOptions {
        sni: Some(String::new()),
        ..opts.clone()
    };
    let text = shake(addr, &none).await.unwrap().join("\n");
    assert_eq!(heard.await.unwrap().sni, None);
    assert!(text.contains("no SNI sent (--tls-sni \"\")"), "{text}");
}

#[tokio::test]
async fn a_pinned_version_and_suite_are_what_is_negotiated() {
    let root = Ca::root("Test Root");
    let file = ca_file(&root);
    let (addr, heard) = server(&root, &["mx.example.test"], vec![], None).await;
    let opts = TlsOptions {
        version: Some(TlsVersion::V12),
        ciphers: vec!["TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256".into()],
        ..for_mx(&file)
    };
    let text = shake(addr, &opts).await.unwrap().join("\n");
    assert_eq!(
        heard.await.unwrap().version,
        Some(rustls::ProtocolVersion::TLSv1_2)
    );
    assert!(
        text.contains("TLS established: TLS 1.2, TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"),
        "{text}"
    );
}

#[tokio::test]
async fn a_client_certificate_is_given_when_asked_and_its_lack_refused() {
    let root = Ca::root("Test Root");
    let clients = Ca::root("Client CA");
    let file = ca_file(&root);
    let (cert, key) = clients.leaf_and_key(&["client.example.test"], -1, 30);
    let dir = tempfile::tempdir().unwrap();
    let (cert_path, key_path) = (dir.path().join("c.pem"), dir.path().join("c.key"));
    std::fs::write(&cert_path, chain::pem(&[cert])).unwrap();
    std::fs::write(&key_path, key).unwrap();
    let base = for_mx(&file);
    let (addr, heard) = server(&root, &["mx.example.test"], vec![], Some(&clients)).await;
    let with = TlsOptions {
        client_cert: Some((cert_path.clone(), key_path.clone())),
        ..base.clone()
    };
    let text = shake(addr, &with).await.unwrap().join("\n");
    assert_eq!(heard.await.unwrap().client_certs, 1);
    assert!(
        text.contains("client certificate CN=client.example.test"),
        "{text}"
    );

    // TLS 1.3: the client learns of the refusal on its first read, so the
    // server's side is what shows it here.
    let (addr, heard) = server(&root, &["mx.example.test"], vec![], Some(&clients)).await;
    let _ = shake(addr, &base).await;
    assert_eq!(heard.await.unwrap().client_certs, 0);
}

#[test]
fn client_certificate_files_are_checked_with_clear_errors() {
    let ca = Ca::root("Client CA");
    let (cert, key) = ca.leaf_and_key(&["a.test"], -1, 30);
    let (_, other_key) = ca.leaf_and_key(&["b.test"], -1, 30);
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("c.pem");
    let k = dir.path().join("k.pem");
    let wrong = dir.path().join("wrong.pem");
    std::fs::write(&c, chain::pem(&[cert])).unwrap();
    std::fs::write(&k, key).unwrap();
    std::fs::write(&wrong, other_key).unwrap();
    assert!(client_identity(&c, &k).is_ok());
    let e = client_identity(&dir.path().join("none.pem"), &k)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("--tls-cert") && e.contains("no such file"),
        "{e}"
    );
    let e = client_identity(&c, &wrong).unwrap_err().to_string();
    assert!(
        e.contains("--tls-key") && e.contains("does not belong"),
        "{e}"
    );
    let e = client_identity(&k, &k).unwrap_err().to_string();
    assert!(e.contains("holds no"), "{e}");
    let e = client_identity(&c, &c).unwrap_err().to_string();
    assert!(e.contains("--tls-key"), "{e}");
}

#[tokio::test]
async fn a_refused_chain_is_kept_shown_and_diagnosed() {
    let root = Ca::root("Test Root");
    let inter = root.intermediate("Test Intermediate");
    let file = ca_file(&root);
    // The intermediate left out: the server sends only its own certificate.
    let (addr, _heard) = server(&inter, &["mx.example.test"], vec![], None).await;
    let opts = for_mx(&file);
    let (message, details) = shake(addr, &opts).await.unwrap_err();
    let text = details.join("\n");
    assert!(message.contains("not trust"), "{message}");
    assert!(text.contains("the server sent 1 certificate:"), "{text}");
    assert!(text.contains("issuer CN=Test Intermediate"), "{text}");
    assert!(
        text.contains("intermediate certificate is most likely missing"),
        "{text}"
    );

    // With it, the same server passes and both are shown.
    let (addr, _heard) = server(&inter, &["mx.example.test"], vec![inter.der.clone()], None).await;
    let text = shake(addr, &opts).await.unwrap().join("\n");
    assert!(text.contains("the server sent 2 certificates:"), "{text}");
    assert!(!text.contains("chain problem"), "{text}");
}

#[test]
fn an_expired_certificate_says_when() {
    let e = std::io::Error::other(rustls::Error::InvalidCertificate(
        rustls::CertificateError::ExpiredContext {
            time: rustls::pki_types::UnixTime::since_unix_epoch(Duration::from_secs(2_000_000_000)),
            not_after: rustls::pki_types::UnixTime::since_unix_epoch(Duration::from_secs(
                1_796_415_360,
            )),
        },
    ));
    assert_eq!(
        explain_handshake_error(&e, "mx.example.test"),
        "the server's certificate expired on 2026-12-04 20:16 UTC"
    );
    let _ = leaf_with;
}
