//! Responses from a genuine signer (libxmlsec1 through samael, the test IdP of
//! tests/support), then changed the way attacks and real IdPs change them.
#[path = "../../../tests/support/test_idp.rs"]
#[allow(dead_code)]
pub(super) mod test_idp;

use super::*;
use test_idp::{offline_now as now, TestIdp, OFFLINE as TO};

pub(super) fn trusted(idp: &TestIdp) -> TrustedIdp {
    TrustedIdp {
        entity_id: idp.entity_id.clone(),
        signing_keys: vec![crate::saml::signing_key(idp.cert().der_data()).unwrap()],
        allows_sha1: false,
        decryption: Default::default(),
    }
}

pub(super) fn endpoint() -> ServiceEndpoint {
    ServiceEndpoint {
        audiences: vec![TO.sp_entity.into()],
        recipients: vec![TO.acs.into()],
        max_bytes: 100_000,
        clock_skew: Duration::seconds(120),
    }
}

fn verify(idp: &TestIdp, xml: &str) -> Result<VerifiedAssertion, SamlError> {
    verify_response(xml, &trusted(idp), &endpoint(), now())
}

pub(super) fn genuine(idp: &TestIdp) -> String {
    idp.response(&TO, now(), |_| {})
}

/// `[start, end)` of the first element that starts with `open` and ends with `close`.
fn span(xml: &str, open: &str, close: &str) -> (usize, usize) {
    let start = xml.find(open).unwrap_or_else(|| panic!("no {open}"));
    (start, start + xml[start..].find(close).unwrap() + close.len())
}

pub(super) fn code(result: Result<VerifiedAssertion, SamlError>) -> &'static str {
    match result {
        Ok(_) => "accepted",
        Err(e) => e.check(),
    }
}

#[test]
fn a_genuine_response_gives_its_signed_claims() {
    let idp = TestIdp::new("https://idp.test/saml");
    let v = verify(&idp, &genuine(&idp)).unwrap();
    assert_eq!((v.issuer(), v.name_id(), v.recipient()), ("https://idp.test/saml", "alice", TO.acs));
    assert_eq!(v.name_id_format(), Some("urn:oasis:names:tc:SAML:2.0:nameid-format:unspecified"));
    assert_eq!(v.attribute("https://aws.amazon.com/SAML/Attributes/RoleSessionName").unwrap(), ["alice"]);
    assert_eq!(v.not_on_or_after(), now() + Duration::seconds(300));
    // Another IdP's key, or no key at all, verifies nothing.
    let other = TestIdp::new("https://idp.test/saml");
    assert_eq!(code(verify_response(&genuine(&idp), &trusted(&other), &endpoint(), now())), "signature");
    let keyless = TrustedIdp { signing_keys: vec![], ..trusted(&idp) };
    assert_eq!(code(verify_response(&genuine(&idp), &keyless, &endpoint(), now())), "signature");
    // Rollover: the second of two metadata keys verifies.
    let both = TrustedIdp {
        signing_keys: [trusted(&other).signing_keys, trusted(&idp).signing_keys].concat(),
        ..trusted(&idp)
    };
    assert!(verify_response(&genuine(&idp), &both, &endpoint(), now()).is_ok());
}

/// Each is put inside signed content (the NameID) of a genuine response: the
/// parser must refuse it (`structure`) before any signature work, so that no
/// reader can see bytes other than the ones that were checked.
#[test]
fn not_well_formed_signed_content_is_refused_as_structure() {
    let idp = TestIdp::new("https://idp.test/saml");
    let xml = genuine(&idp);
    let name_id = r#"<saml2:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:unspecified">alice"#;
    assert!(xml.contains(name_id));
    let in_text = |t: &str| xml.replacen(name_id, &format!("{}{t}", name_id), 1);
    let in_tag = |a: &str| xml.replacen("<saml2:NameID Format", &format!("<saml2:NameID {a} Format"), 1);
    let cases = [
        in_text("\u{1}"),
        in_text("\u{8}"),
        in_text("\u{b}"),
        in_text("\u{fffe}"),
        in_text("&#x1;"),
        in_text("&#0;"),
        in_text("]]>"),
        in_text("<!-- c -->"),
        in_text("<![CDATA[x]]>"),
        in_text("<?pi x?>"),
        in_text("&ent;"),
        in_tag("x=\"<\""),
        in_tag("x=\"1\"y=\"2\""),
        in_tag("p:x=\"1\""),
        in_tag("a:b:c=\"1\""),
        in_tag("1a=\"1\""),
        in_tag("::foo=\"1\""),
        in_tag("xmlns:p=\"\""),
        in_tag("xmlns:p=\"urn:p\" xmlns:q=\"urn:p\" p:x=\"1\" q:x=\"2\""),
        xml.replacen("<saml2:NameID ", "<saml2:NameID\u{0} ", 1),
        format!("<!DOCTYPE r>{xml}"),
        format!("{xml}<!-- after -->"),
    ];
    for (i, bad) in cases.iter().enumerate() {
        assert_eq!(code(verify(&idp, bad)), "structure", "case {i}");
    }
}

#[test]
fn p11_one_authn_statement_exactly_and_no_encrypted_attribute() {
    let idp = TestIdp::new("https://idp.test/saml");
    let xml = genuine(&idp);
    let statement = "<saml2:AuthnStatement";
    let without = idp.resign(&xml, |x| {
        let (s, e) = span(x, statement, "</saml2:AuthnStatement>");
        format!("{}{}", &x[..s], &x[e..])
    });
    let twice = idp.resign(&xml, |x| {
        let (s, e) = span(x, statement, "</saml2:AuthnStatement>");
        format!("{}{}{}", &x[..e], &x[s..e], &x[e..])
    });
    let encrypted = idp.resign(&xml, |x| {
        x.replacen("</saml2:AttributeStatement>", "<saml2:EncryptedAttribute/></saml2:AttributeStatement>", 1)
    });
    assert!(verify(&idp, &idp.resign(&xml, |x| x.to_owned())).is_ok(), "re-signing alone changes nothing");
    assert_eq!(code(verify(&idp, &without)), "authn-statement");
    assert_eq!(code(verify(&idp, &twice)), "authn-statement");
    assert_eq!(code(verify(&idp, &encrypted)), "structure");
}

/// Okta and Shibboleth IdP sign with an InclusiveNamespaces PrefixList in the
/// exclusive c14n Transform (and sometimes in CanonicalizationMethod); the
/// prefixes it names are then part of what is signed.
#[test]
fn inclusive_namespaces_prefix_lists_are_honoured() {
    let idp = TestIdp::new("https://idp.test/saml");
    let xml = genuine(&idp);
    let exc = r#"Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>"#;
    let with_list = |list: &str| {
        format!(
            r#"Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"><ec:InclusiveNamespaces xmlns:ec="http://www.w3.org/2001/10/xml-exc-c14n#" PrefixList="{list}"/>"#
        )
    };
    // The signed Response declares xsd at the Assertion, used only in no name.
    let in_transform = idp.resign(&xml, |x| {
        x.replacen(
            &format!("<ds:Transform {exc}"),
            &format!("<ds:Transform {}</ds:Transform>", with_list("xsd xs")),
            1,
        )
    });
    let in_both = idp.resign(&xml, |x| {
        x.replacen(
            &format!("<ds:Transform {exc}"),
            &format!("<ds:Transform {}</ds:Transform>", with_list("xsd")),
            1,
        )
        .replacen(
            &format!("<ds:CanonicalizationMethod {exc}"),
            &format!("<ds:CanonicalizationMethod {}</ds:CanonicalizationMethod>", with_list("ds #default")),
            1,
        )
    });
    // xml-crypto also writes the list into the enveloped-signature Transform.
    let enveloped = r#"<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>"#;
    let xml_crypto = idp.resign(&xml, |x| {
        x.replacen(&format!("<ds:Transform {exc}"), &format!("<ds:Transform {}</ds:Transform>", with_list("xsd")), 1).replacen(
            enveloped,
            r#"<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"><InclusiveNamespaces PrefixList="xsd" xmlns="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/></ds:Transform>"#,
            1,
        )
    });
    assert!(xml_crypto.contains("<InclusiveNamespaces "));
    let other_parameter = xml_crypto.replacen("<InclusiveNamespaces ", "<XPath ", 1);
    assert_eq!(code(verify(&idp, &other_parameter)), "algorithm");
    for signed in [in_transform, in_both, xml_crypto] {
        assert!(signed.contains("PrefixList"));
        assert_eq!(verify(&idp, &signed).unwrap().name_id(), "alice");
        // The listed namespace is signed: rebinding it breaks the digest.
        let rebound =
            signed.replacen(r#"xmlns:xsd="http://www.w3.org/2001/XMLSchema""#, r#"xmlns:xsd="urn:evil""#, 1);
        assert_eq!(code(verify(&idp, &rebound)), "signature");
        // So is the list itself (it sits in SignedInfo).
        let changed = signed.replacen("PrefixList=\"xsd", "PrefixList=\"xs ", 1);
        assert_eq!(code(verify(&idp, &changed)), "signature");
    }
}

/// Any one byte of signed content changed, anywhere, and the response fails.
#[test]
fn every_byte_of_signed_content_counts() {
    let idp = TestIdp::new("https://idp.test/saml");
    let xml = genuine(&idp);
    let (sig_start, sig_end) = span(&xml, "<ds:Signature", "</ds:Signature>");
    let (value_start, _) = span(&xml, "<ds:SignatureValue>", "</ds:SignatureValue>");
    // Exclusive c14n signs the bindings that names use, not declarations as
    // written: a declaration of an unused or already bound prefix is not
    // signed content (rebinding a used prefix is, see the PrefixList test).
    let declarations: Vec<(usize, usize)> = xml
        .match_indices(" xmlns")
        .map(|(at, _)| {
            (at, at + xml[at..].find("=\"").unwrap() + 2 + xml[at..].split('"').nth(1).unwrap().len())
        })
        .collect();
    let mut checked = 0;
    for at in (0..xml.len()).step_by(7) {
        // Skip bytes outside what is signed: KeyInfo (after SignatureValue) is not.
        if (at >= value_start && at < sig_end) || declarations.iter().any(|(s, e)| (*s..*e).contains(&at)) {
            continue;
        }
        let b = xml.as_bytes()[at];
        if !b.is_ascii_alphanumeric() {
            continue;
        }
        let mut bytes = xml.clone().into_bytes();
        bytes[at] = if b == b'a' { b'b' } else { b'a' };
        let mutant = String::from_utf8(bytes).unwrap();
        assert!(
            verify(&idp, &mutant).is_err(),
            "byte {at} ({}) changed and still accepted: {}",
            b as char,
            &xml[at - 40..at + 40]
        );
        checked += 1;
    }
    assert!(checked > 200 && sig_start > 0);
}

#[test]
fn s07_s08_assertions_elsewhere_and_duplicate_ids_are_refused() {
    let idp = TestIdp::new("https://idp.test/saml");
    let xml = genuine(&idp);
    let status_end = "</saml2p:Status>";
    let cases = [
        xml.replacen(status_end, &format!("{status_end}<x:Assertion xmlns:x=\"urn:evil\"/>"), 1),
        xml.replacen(status_end, &format!("{status_end}<saml2:Assertion xmlns:saml2=\"urn:oasis:names:tc:SAML:2.0:assertion\"/>"), 1),
        xml.replacen(status_end, &format!("{status_end}<saml2:EncryptedAssertion xmlns:saml2=\"urn:oasis:names:tc:SAML:2.0:assertion\"/>"), 1),
        xml.replacen("<saml2:Subject ", "<saml2:Subject ID=\"_dup\" ", 1).replacen("<saml2:Conditions ", "<saml2:Conditions ID=\"_dup\" ", 1),
        xml.replacen("<saml2p:Status>", "<saml2p:Unknown/><saml2p:Status>", 1),
        xml.replacen("<saml2:Subject ", "<saml2:Subject ID=\"_a\u{feff}b\" ", 1),
        xml.replacen("<saml2:Subject ", "<saml2:Subject ID=\"1a\" ", 1),
    ];
    for (i, bad) in cases.iter().enumerate() {
        assert_eq!(code(verify(&idp, bad)), "structure", "case {i}");
    }
    let wrong_root = xml.replace("saml2p:Response", "saml2p:ArtifactResponse");
    assert_eq!(code(verify(&idp, &wrong_root)), "structure");
}

#[test]
fn s09_to_s11_a_signature_signs_its_enclosing_element_once() {
    let idp = TestIdp::new("https://idp.test/saml");
    let xml = genuine(&idp);
    let id_at = xml.find(" ID=\"").unwrap() + 5;
    let id = &xml[id_at..id_at + xml[id_at..].find('"').unwrap()];
    let uri = format!("URI=\"#{id}\"");
    let (rs, re) = span(&xml, "<ds:Reference", "</ds:Reference>");
    let reference = &xml[rs..re];
    let cases = [
        xml.replacen(&uri, "URI=\"\"", 1),
        xml.replacen(&uri, "URI=\"http://attacker.test/x\"", 1),
        xml.replacen(&uri, "URI=\"#xpointer(/)\"", 1),
        xml.replacen(&uri, "", 1),
        format!("{}{reference}{}", &xml[..re], &xml[re..]),
        xml.replacen("</ds:SignedInfo>", "</ds:SignedInfo><ds:SignedInfo/>", 1),
        xml.replacen("</ds:SignatureValue>", "</ds:SignatureValue><ds:Object/>", 1),
        // A second signature, in the Subject.
        xml.replacen(
            "<saml2:NameID ",
            &format!(
                "{}<saml2:NameID ",
                &xml[span(&xml, "<ds:Signature", "</ds:Signature>").0
                    ..span(&xml, "<ds:Signature", "</ds:Signature>").1]
            ),
            1,
        ),
    ];
    for (i, bad) in cases.iter().enumerate() {
        assert_eq!(code(verify(&idp, bad)), "structure", "case {i}");
    }
}

#[test]
fn s13_s14_only_allowed_transforms_and_algorithms() {
    let idp = TestIdp::new("https://idp.test/saml");
    let xml = genuine(&idp);
    const EXC: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
    const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
    const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";
    let transform = |alg: &str| format!("<ds:Transform Algorithm=\"{alg}\"/>");
    let exc_transform = transform(EXC);
    let mut cases: Vec<String> = [
        "http://www.w3.org/TR/1999/REC-xslt-19991116",
        "http://www.w3.org/TR/1999/REC-xpath-19991116",
        "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
    ]
    .iter()
    .map(|alg| xml.replacen(&exc_transform, &transform(alg), 1))
    .collect();
    cases.push(xml.replacen(&exc_transform, &format!("{exc_transform}{exc_transform}"), 1));
    cases.push(xml.replacen(&exc_transform, "", 1));
    for weak in [
        "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
        "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256",
        "http://www.w3.org/2000/09/xmldsig#dsa-sha1",
        "http://www.w3.org/2001/04/xmldsig-more#rsa-md5",
    ] {
        cases.push(xml.replacen(RSA_SHA256, weak, 1));
    }
    cases.push(xml.replacen(SHA256, "http://www.w3.org/2000/09/xmldsig#sha1", 1));
    cases.push(xml.replacen(
        &format!("<ds:CanonicalizationMethod Algorithm=\"{EXC}\""),
        "<ds:CanonicalizationMethod Algorithm=\"http://example.test/c14n\"",
        1,
    ));
    for (i, bad) in cases.iter().enumerate() {
        assert_eq!(code(verify(&idp, bad)), "algorithm", "case {i}");
    }
    // An HMAC output length is a parameter no allowed algorithm takes.
    let hmac_length = xml.replacen(
        &format!("<ds:SignatureMethod Algorithm=\"{RSA_SHA256}\"/>"),
        &format!("<ds:SignatureMethod Algorithm=\"{RSA_SHA256}\"><ds:HMACOutputLength>8</ds:HMACOutputLength></ds:SignatureMethod>"),
        1,
    );
    assert_eq!(code(verify(&idp, &hmac_length)), "structure");
}

#[test]
fn a_digest_value_of_another_length_is_a_bad_signature_not_a_panic() {
    let idp = TestIdp::new("https://idp.test/saml");
    let xml = genuine(&idp);
    let (s, e) = span(&xml, "<ds:DigestValue>", "</ds:DigestValue>");
    for value in ["", "AAAA", "c2hvcnQ=", &"QUFB".repeat(30)] {
        let bad = format!("{}<ds:DigestValue>{value}</ds:DigestValue>{}", &xml[..s], &xml[e..]);
        assert_eq!(code(verify(&idp, &bad)), "signature", "{value}");
    }
}
