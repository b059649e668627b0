//! Validates one signed response N times (default 200), for profiling the SAML
//! path with `valgrind --tool=callgrind`.
#[path = "../tests/support/test_idp.rs"]
#[allow(dead_code)]
mod test_idp;

use idbroker::saml::{verify_response, ServiceEndpoint, TrustedIdp};
use test_idp::{Addressing, TestIdp};

fn main() {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(200);
    let to = Addressing {
        acs: "http://127.0.0.1:8080/saml/acs",
        sp_entity: "http://127.0.0.1:8080/saml/metadata",
        role: "arn:aws:iam::111122223333:role/R",
        provider: "arn:aws:iam::111122223333:saml-provider/P",
    };
    let idp = TestIdp::new("https://idp.test/saml");
    let now = idbroker::clock::Clock::now(&idbroker::clock::SystemClock);
    let xml = idp.response(&to, now, |_| {});
    let meta = idbroker::saml::validate_idp_metadata(&idp.metadata(), now).unwrap();
    let trusted = TrustedIdp {
        entity_id: meta.entity_id,
        signing_keys: meta.signing_keys,
        allows_sha1: false,
        decryption: Default::default(),
    };
    let sp = ServiceEndpoint {
        audiences: vec![to.sp_entity.into()],
        recipients: vec![to.acs.into()],
        max_bytes: 100_000,
        clock_skew: chrono::Duration::seconds(120),
    };
    for _ in 0..n {
        verify_response(std::hint::black_box(&xml), &trusted, &sp, now).unwrap();
    }
}
