//! AssumeRoleWithSAML's validation alone (one core), on the shape: a
//! Response whose Assertion alone is signed, one role and four attributes.
//! Side by side: libxmlsec1's verification of the same response (what the
//! previous core spent most of its time in, before its own parsing) and
//! samael's plain `parse_xml_response`.
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use idbroker::clock::{Clock, SystemClock};
use idbroker::saml::{verify_response, ServiceEndpoint, TrustedIdp};
use samael::crypto::{Crypto, CryptoProvider, ReduceMode};
use samael::metadata::EntityDescriptor;
use samael::service_provider::ServiceProviderBuilder;

#[path = "../tests/support/test_idp.rs"]
#[allow(dead_code)]
mod test_idp;
use test_idp::{Addressing, TestIdp};

const TO: Addressing<'static> = Addressing {
    acs: "http://127.0.0.1:8080/saml/acs",
    sp_entity: "http://127.0.0.1:8080/saml/metadata",
    role: "arn:aws:iam::111122223333:role/SamlDev",
    provider: "arn:aws:iam::111122223333:saml-provider/Corp",
};

fn validation(c: &mut Criterion) {
    let idp = TestIdp::new("https://idp.corp.test/saml");
    // samael checks times against the wall clock, so the response is made now.
    let xml = idp.response(&TO, SystemClock.now(), |r| {
        r.signature = None;
        let a = r.assertion.as_mut().unwrap();
        a.attribute_statements.as_mut().unwrap()[0].attributes.extend([
            test_idp::attribute("SessionDuration", &["3600"]),
            test_idp::attribute("PrincipalTag:department", &["engineering"]),
        ]);
        a.signature = Some(samael::signature::Signature::template(&a.id, &idp.cert()));
    });
    let metadata = idbroker::saml::validate_idp_metadata(&idp.metadata(), SystemClock.now()).unwrap();
    let trusted = TrustedIdp {
        entity_id: metadata.entity_id.clone(),
        signing_keys: metadata.signing_keys,
        allows_sha1: false,
        decryption: Default::default(),
    };
    let sp = ServiceEndpoint {
        audiences: vec![TO.sp_entity.into()],
        recipients: vec![TO.acs.into()],
        max_bytes: 100_000,
        clock_skew: chrono::Duration::seconds(120),
    };
    let now = SystemClock.now();
    verify_response(&xml, &trusted, &sp, now).unwrap();
    let entity: EntityDescriptor = idp.metadata().parse().unwrap();
    let samael_sp = ServiceProviderBuilder::default()
        .entity_id(TO.sp_entity.to_string())
        .acs_url(TO.acs.to_string())
        .allow_idp_initiated(true)
        .idp_metadata(entity)
        .build()
        .unwrap();
    samael_sp.parse_xml_response(&xml, None).unwrap();

    let mut g = c.benchmark_group("saml");
    g.throughput(Throughput::Elements(1));
    g.bench_function("idbroker_verify_response", |b| {
        b.iter(|| verify_response(black_box(&xml), &trusted, &sp, now).unwrap())
    });
    let certs = [idp.cert()];
    g.bench_function("libxmlsec1_verify_only", |b| {
        b.iter(|| Crypto::reduce_xml_to_signed(black_box(&xml), &certs, ReduceMode::PreDigest).unwrap())
    });
    g.bench_function("samael_parse_xml_response", |b| {
        b.iter(|| samael_sp.parse_xml_response(black_box(&xml), None).unwrap())
    });
    g.finish();
}

/// Encrypted assertions: the cost of opening one, and of each way a
/// ciphertext fails. The failures should cost alike (no timing oracle):
/// bad CBC padding, a changed earlier block, a forged GCM tag, another key.
fn decryption(c: &mut Criterion) {
    use base64::Engine;
    use idbroker::saml::{decryption_key, encrypt_assertion, ContentCipher, Decryption};
    let idp = TestIdp::new("https://idp.corp.test/saml");
    let now = SystemClock.now();
    let signed = idp.response(&TO, now, |r| {
        r.signature = None;
        let a = r.assertion.as_mut().unwrap();
        a.signature = Some(samael::signature::Signature::template(&a.id, &idp.cert()));
    });
    let cert = openssl::x509::X509::from_pem(include_bytes!("../tests/keys/encryption/sp-a.crt")).unwrap();
    let sealed = |method| {
        let (start, end) =
            (signed.find("<saml2:Assertion").unwrap(), signed.find("</saml2:Assertion>").unwrap() + 18);
        let enc =
            encrypt_assertion(&signed.as_bytes()[start..end], &cert.public_key().unwrap(), method).unwrap();
        format!("{}{enc}{}", &signed[..start], &signed[end..])
    };
    let flipped = |xml: &str, at: fn(usize) -> usize| {
        let marker = "</ds:KeyInfo><xenc:CipherData><xenc:CipherValue>";
        let start = xml.find(marker).unwrap() + marker.len();
        let end = start + xml[start..].find('<').unwrap();
        let b64 = base64::engine::general_purpose::STANDARD;
        let mut bytes = b64.decode(&xml[start..end]).unwrap();
        let i = at(bytes.len());
        bytes[i] ^= 1;
        format!("{}{}{}", &xml[..start], b64.encode(bytes), &xml[end..])
    };
    let metadata = idbroker::saml::validate_idp_metadata(&idp.metadata(), now).unwrap();
    let key = |pem: &str| decryption_key(pem).unwrap();
    let trusted = |pem: &str| TrustedIdp {
        entity_id: metadata.entity_id.clone(),
        signing_keys: metadata.signing_keys.clone(),
        allows_sha1: false,
        decryption: Decryption { keys: vec![key(pem)], required: true },
    };
    let ours = trusted(include_str!("../tests/keys/encryption/sp-a.key"));
    let other = trusted(include_str!("../tests/keys/encryption/sp-b.key"));
    let sp = ServiceEndpoint {
        audiences: vec![TO.sp_entity.into()],
        recipients: vec![TO.acs.into()],
        max_bytes: 100_000,
        clock_skew: chrono::Duration::seconds(120),
    };
    let (gcm, cbc) = (sealed(ContentCipher::Aes256Gcm), sealed(ContentCipher::Aes256Cbc));
    verify_response(&gcm, &ours, &sp, now).unwrap();
    let cases = [
        ("open_gcm", gcm.clone(), &ours),
        ("open_cbc", cbc.clone(), &ours),
        ("fail_cbc_bad_padding", flipped(&cbc, |n| n - 1), &ours),
        ("fail_cbc_garbage_block", flipped(&cbc, |_| 20), &ours),
        ("fail_gcm_forged_tag", flipped(&gcm, |n| n - 1), &ours),
        ("fail_cbc_another_key", cbc.clone(), &other),
    ];
    let mut g = c.benchmark_group("saml_encrypted");
    g.throughput(Throughput::Elements(1));
    for (name, xml, idp) in &cases {
        g.bench_function(*name, |b| b.iter(|| verify_response(black_box(xml), idp, &sp, now).is_ok()));
    }
    g.finish();
}

criterion_group!(benches, validation, decryption);
criterion_main!(benches);
