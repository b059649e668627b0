//! Encrypted assertions: a genuine signed Response from the test IdP, its
//! Assertion sealed to an SP key (the peers that encrypt as vendors do are in
//! tests/interop/test_saml_encryption.py), then changed as attacks change it.
use super::tests::test_idp::{offline_now as now, TestIdp, OFFLINE as TO};
use super::tests::{code, endpoint, genuine, trusted};
use super::*;
use crate::saml::xmlenc::{decryption_key, seal, ContentCipher};
use base64::Engine;
use samael::signature::Signature;

const KEY_A: &str = include_str!("../../../tests/keys/encryption/sp-a.key");
const CERT_A: &str = include_str!("../../../tests/keys/encryption/sp-a.crt");
const KEY_B: &str = include_str!("../../../tests/keys/encryption/sp-b.key");

fn cert_key(pem: &str) -> PKey<Public> {
    openssl::x509::X509::from_pem(pem.as_bytes()).unwrap().public_key().unwrap()
}

/// A Response whose Assertion, not the Response, is signed.
fn assertion_signed(idp: &TestIdp) -> String {
    idp.response(&TO, now(), |r| {
        r.signature = None;
        let a = r.assertion.as_mut().unwrap();
        a.signature = Some(Signature::template(&a.id, &idp.cert()));
    })
}

/// `xml` with its Assertion replaced by that Assertion sealed to `CERT_A`.
fn encrypted(xml: &str, method: ContentCipher) -> String {
    let start = xml.find("<saml2:Assertion").unwrap();
    let end = xml.find("</saml2:Assertion>").unwrap() + "</saml2:Assertion>".len();
    let sealed = seal(&xml.as_bytes()[start..end], &cert_key(CERT_A), method).unwrap();
    format!("{}{sealed}{}", &xml[..start], &xml[end..])
}

fn decrypting(idp: &TestIdp, keys: &[&str], required: bool) -> TrustedIdp {
    let keys = keys.iter().map(|k| decryption_key(k).unwrap()).collect();
    TrustedIdp { decryption: Decryption { keys, required }, ..trusted(idp) }
}

fn outcome(xml: &str, idp: &TrustedIdp) -> Result<VerifiedAssertion, SamlError> {
    verify_response(xml, idp, &endpoint(), now())
}

/// The content CipherValue of a sealed response, decoded.
fn content(xml: &str) -> (usize, usize, Vec<u8>) {
    let marker = "</ds:KeyInfo><xenc:CipherData><xenc:CipherValue>";
    let start = xml.find(marker).unwrap() + marker.len();
    let end = start + xml[start..].find('<').unwrap();
    (start, end, base64::engine::general_purpose::STANDARD.decode(&xml[start..end]).unwrap())
}

fn with_content(xml: &str, edit: impl FnOnce(&mut Vec<u8>)) -> String {
    let (start, end, mut bytes) = content(xml);
    edit(&mut bytes);
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    format!("{}{encoded}{}", &xml[..start], &xml[end..])
}

#[test]
fn an_encrypted_signed_assertion_opens_with_either_key() {
    let idp = TestIdp::new("https://idp.test/saml");
    for method in [
        ContentCipher::Aes128Gcm,
        ContentCipher::Aes256Gcm,
        ContentCipher::Aes128Cbc,
        ContentCipher::Aes256Cbc,
    ] {
        let xml = encrypted(&assertion_signed(&idp), method);
        let v = outcome(&xml, &decrypting(&idp, &[KEY_B, KEY_A], true)).unwrap();
        assert_eq!((v.name_id(), v.recipient()), ("alice", TO.acs), "{method:?}");
        // The Response signed around the plain Assertion, then that Assertion
        // encrypted: the Response signature no longer covers what it did.
        let resealed = encrypted(&genuine(&idp), method);
        assert_eq!(code(outcome(&resealed, &decrypting(&idp, &[KEY_A], false))), "signature");
    }
}

#[test]
fn the_mode_and_the_keys_decide_what_is_taken() {
    let idp = TestIdp::new("https://idp.test/saml");
    let plain = assertion_signed(&idp);
    let sealed = encrypted(&plain, ContentCipher::Aes256Gcm);
    // Required: plain assertions are refused; Allowed takes both.
    assert_eq!(code(outcome(&plain, &decrypting(&idp, &[KEY_A], true))), "encryption");
    assert!(outcome(&plain, &decrypting(&idp, &[KEY_A], false)).is_ok());
    // No key, or only another key: an encrypted one is refused.
    assert_eq!(code(outcome(&sealed, &trusted(&idp))), "encryption");
    assert_eq!(code(outcome(&sealed, &decrypting(&idp, &[KEY_B], false))), "encryption");
}

/// Every way the ciphertext can be wrong gets the same error, so that no
/// answer tells bad padding from bad content (the CBC padding oracle).
#[test]
fn s19_every_decryption_failure_answers_alike() {
    let idp = TestIdp::new("https://idp.test/saml");
    let trusting = decrypting(&idp, &[KEY_A], false);
    let cbc = encrypted(&assertion_signed(&idp), ContentCipher::Aes128Cbc);
    let gcm = encrypted(&assertion_signed(&idp), ContentCipher::Aes128Gcm);
    let variants = [
        // The last block's last byte: the padding count goes wrong.
        with_content(&cbc, |b| *b.last_mut().unwrap() ^= 0x01),
        // An earlier block: padding holds, the plaintext is garbage.
        with_content(&cbc, |b| b[20] ^= 0x01),
        // The IV: the first block changes, the document no longer parses.
        with_content(&cbc, |b| b[0] ^= 0x20),
        // A GCM tag that does not match.
        with_content(&gcm, |b| *b.last_mut().unwrap() ^= 0x01),
        // Truncated to whole blocks.
        with_content(&cbc, |b| b.truncate(b.len() - 16)),
    ];
    for (i, xml) in variants.iter().enumerate() {
        assert_eq!(outcome(xml, &trusting), Err(SamlError::Encryption), "variant {i}");
    }
    // The wrong key answers the same.
    assert_eq!(outcome(&cbc, &decrypting(&idp, &[KEY_B], false)), Err(SamlError::Encryption));
}

/// S18: anyone can encrypt to the SP's certificate, so encryption proves
/// nothing: an unsigned Assertion inside is refused like a broken one.
#[test]
fn s18_an_encrypted_assertion_nobody_signed_is_refused() {
    let idp = TestIdp::new("https://idp.test/saml");
    let signed = assertion_signed(&idp);
    let (start, end) = (signed.find("<ds:Signature").unwrap(), signed.find("</ds:Signature>").unwrap());
    let unsigned = format!("{}{}", &signed[..start], &signed[end + "</ds:Signature>".len()..]);
    let xml = encrypted(&unsigned, ContentCipher::Aes256Gcm);
    assert_eq!(outcome(&xml, &decrypting(&idp, &[KEY_A], false)), Err(SamlError::Encryption));
}

#[test]
fn rsa_1_5_and_unknown_algorithms_are_refused() {
    let idp = TestIdp::new("https://idp.test/saml");
    let xml = encrypted(&assertion_signed(&idp), ContentCipher::Aes128Gcm);
    let trusting = decrypting(&idp, &[KEY_A], false);
    let pkcs1 = xml.replace("xmlenc#rsa-oaep-mgf1p", "xmlenc#rsa-1_5");
    assert_eq!(outcome(&pkcs1, &trusting), Err(SamlError::EncryptionAlgorithm));
    let des = xml.replace("xmlenc11#aes128-gcm", "xmlenc#tripledes-cbc");
    assert_eq!(outcome(&des, &trusting), Err(SamlError::EncryptionAlgorithm));
}

#[test]
fn only_rsa_keys_of_2048_bits_or_more_decrypt() {
    assert!(decryption_key(KEY_A).is_ok());
    let small = openssl::rsa::Rsa::generate(1024).unwrap().private_key_to_pem().unwrap();
    assert!(decryption_key(std::str::from_utf8(&small).unwrap()).is_err());
    let ec = openssl::ec::EcKey::generate(
        &openssl::ec::EcGroup::from_curve_name(openssl::nid::Nid::X9_62_PRIME256V1).unwrap(),
    )
    .unwrap();
    let ec = PKey::from_ec_key(ec).unwrap().private_key_to_pem_pkcs8().unwrap();
    assert!(decryption_key(std::str::from_utf8(&ec).unwrap()).is_err());
    let locked = PKey::private_key_from_pem(KEY_A.as_bytes())
        .unwrap()
        .private_key_to_pem_pkcs8_passphrase(openssl::symm::Cipher::aes_128_cbc(), b"secret")
        .unwrap();
    assert!(decryption_key(std::str::from_utf8(&locked).unwrap()).is_err());
}
