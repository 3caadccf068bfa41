//! Certificates made for tests with rcgen: roots, intermediates and leaves
//! valid from and to a number of days from now.

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls::pki_types::CertificateDer;

use super::chain::{now, ymd};

/// A certificate authority: its certificate and what signs with it.
pub struct Ca {
    pub der: CertificateDer<'static>,
    issuer: Issuer<'static, KeyPair>,
}

/// Valid from `from` to `to` days from now (whole days, UTC).
fn validity(params: &mut CertificateParams, from: i64, to: i64) {
    let at = |days: i64| {
        let (y, m, d) = ymd(now() + days * 86_400);
        rcgen::date_time_ymd(y as i32, m as u8, d as u8)
    };
    params.not_before = at(from);
    params.not_after = at(to);
}

fn ca_params(cn: &str) -> CertificateParams {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name.push(DnType::CommonName, cn);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    validity(&mut p, -10, 1000);
    p
}

impl Ca {
    pub fn root(cn: &str) -> Ca {
        let key = KeyPair::generate().unwrap();
        let params = ca_params(cn);
        let der = params.self_signed(&key).unwrap().der().clone();
        Ca {
            der,
            issuer: Issuer::new(params, key),
        }
    }

    pub fn intermediate(&self, cn: &str) -> Ca {
        let key = KeyPair::generate().unwrap();
        let params = ca_params(cn);
        let der = params.signed_by(&key, &self.issuer).unwrap().der().clone();
        Ca {
            der,
            issuer: Issuer::new(params, key),
        }
    }

    /// A leaf for `names` (the first is also the CN), and its key as PKCS#8 PEM.
    pub fn leaf_and_key(
        &self,
        names: &[&str],
        from: i64,
        to: i64,
    ) -> (CertificateDer<'static>, String) {
        let key = KeyPair::generate().unwrap();
        let owned: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        let mut p = CertificateParams::new(owned).unwrap();
        if let Some(cn) = names.first() {
            p.distinguished_name.push(DnType::CommonName, *cn);
        }
        validity(&mut p, from, to);
        let der = p.signed_by(&key, &self.issuer).unwrap().der().clone();
        (der, key.serialize_pem())
    }
}

/// A leaf signed by `ca`, valid from `from` to `to` days from now.
pub fn leaf_with(ca: &Ca, names: &[&str], from: i64, to: i64) -> CertificateDer<'static> {
    ca.leaf_and_key(names, from, to).0
}

/// A self-signed leaf for `names`.
pub fn self_signed(names: &[&str]) -> CertificateDer<'static> {
    let key = KeyPair::generate().unwrap();
    let owned: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    let mut p = CertificateParams::new(owned).unwrap();
    if let Some(cn) = names.first() {
        p.distinguished_name.push(DnType::CommonName, *cn);
    }
    validity(&mut p, -1, 100);
    p.self_signed(&key).unwrap().der().clone()
}
