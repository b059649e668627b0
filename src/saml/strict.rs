//! A strict structural check of a SAML message before any signature work.
//! libxml2 (under xmlsec) recovers from malformed input and serde reads only
//! what it knows; this pass refuses anything that two parsers could read
//! differently, and anything a wrapping attack needs: DOCTYPE and entities,
//! processing instructions, comments and CDATA (text-node splitting), several
//! roots, trailing content, undeclared prefixes, duplicate attributes or IDs,
//! prefixed ID attributes, more than one Assertion, a Signature that signs
//! anything but its enclosing element, transforms and algorithms outside the
//! allow-list, `ds:Object`, and documents too deep, too wide or too large.
use super::SamlError;
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;
use std::collections::HashSet;

pub const SAML_ASSERTION_NS: &[u8] = b"urn:oasis:names:tc:SAML:2.0:assertion";
pub const SAML_PROTOCOL_NS: &[u8] = b"urn:oasis:names:tc:SAML:2.0:protocol";
const DSIG_NS: &[u8] = b"http://www.w3.org/2000/09/xmldsig#";

const MAX_DEPTH: usize = 48;
const MAX_ELEMENTS: usize = 4096;
const MAX_ATTRIBUTES: usize = 32;
const MAX_SIGNATURES: usize = 2;

const C14N: &[&str] =
    &["http://www.w3.org/2001/10/xml-exc-c14n#", "http://www.w3.org/2001/10/xml-exc-c14n#WithComments"];
const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
const STRONG_SIGNATURES: &[&str] = &[
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512",
];
/// Accepted only from an IdP explicitly allowed SHA-1.
const SHA1_SIGNATURE: &str = "http://www.w3.org/2000/09/xmldsig#rsa-sha1";
const SHA1_DIGEST: &str = "http://www.w3.org/2000/09/xmldsig#sha1";
const STRONG_DIGESTS: &[&str] = &[
    "http://www.w3.org/2001/04/xmlenc#sha256",
    "http://www.w3.org/2001/04/xmldsig-more#sha384",
    "http://www.w3.org/2001/04/xmlenc#sha512",
];

/// What the check learned of the message.
#[derive(Debug, Default)]
pub struct Shape {
    pub signatures: usize,
    /// The Response itself carries a signature (else only the Assertion can).
    pub response_signed: bool,
    /// `SPNameQualifier`s of NameIDs: each must name us (samael drops them).
    pub sp_name_qualifiers: Vec<String>,
}

fn bad(what: &'static str) -> SamlError {
    SamlError::Malformed(what)
}

struct Open {
    id: Option<String>,
    in_dsig: &'static str,
}

/// Checks `xml` (already known to be UTF-8).
/// `allows_sha1`: RSA-SHA1 signatures and SHA-1 digests pass too (an IdP's
/// explicit opt-in); every other algorithm outside the allow-list is refused.
pub fn check(xml: &str, max_bytes: usize, allows_sha1: bool) -> Result<Shape, SamlError> {
    if xml.len() > max_bytes {
        return Err(SamlError::TooLarge);
    }
    if xml.contains('\u{0}') || xml.starts_with('\u{feff}') {
        return Err(bad("control characters"));
    }
    let mut reader = NsReader::from_str(xml);
    let config = reader.config_mut();
    config.check_end_names = true;
    config.check_comments = true;
    config.expand_empty_elements = true;
    let mut stack: Vec<Open> = Vec::new();
    let mut ids: HashSet<String> = HashSet::new();
    let (mut roots, mut elements, mut assertions) = (0usize, 0usize, 0usize);
    let mut shape = Shape::default();
    let mut seen_any = false;
    // Per Signature: SignedInfo, references and transforms seen.
    let (mut signed_infos, mut references, mut transforms) = (0usize, 0usize, 0usize);
    loop {
        let (ns, event) = reader.read_resolved_event().map_err(|_| bad("not well-formed XML"))?;
        let ns: Option<Vec<u8>> = match ns {
            ResolveResult::Bound(n) => Some(n.as_ref().to_vec()),
            ResolveResult::Unbound => None,
            ResolveResult::Unknown(_) => return Err(bad("undeclared namespace prefix")),
        };
        match event {
            Event::Decl(d) => {
                if seen_any {
                    return Err(bad("XML declaration not at the start"));
                }
                if d.version().map_err(|_| bad("XML declaration"))?.as_ref() != b"1.0" {
                    return Err(bad("XML version other than 1.0"));
                }
                if let Some(enc) = d.encoding() {
                    let enc = enc.map_err(|_| bad("XML declaration"))?;
                    if !enc.eq_ignore_ascii_case(b"utf-8") {
                        return Err(bad("encoding other than UTF-8"));
                    }
                }
            }
            Event::DocType(_) => return Err(SamlError::Doctype),
            Event::PI(_) => return Err(bad("processing instruction")),
            Event::Comment(_) => return Err(bad("comment")),
            Event::CData(_) => return Err(bad("CDATA section")),
            Event::GeneralRef(r) => {
                let name: &[u8] = &r;
                let known = r.is_char_ref() || matches!(name, b"lt" | b"gt" | b"amp" | b"apos" | b"quot");
                if !known {
                    return Err(SamlError::Doctype);
                }
                if r.is_char_ref() {
                    // A character reference must name a legal XML 1.0 character.
                    match r.resolve_char_ref() {
                        Ok(Some(c)) if (c as u32) >= 0x20 || matches!(c, '\t' | '\n' | '\r') => {}
                        _ => return Err(bad("control characters")),
                    }
                }
            }
            Event::Text(t) => {
                if stack.is_empty() && t.iter().any(|b| !b.is_ascii_whitespace()) {
                    return Err(bad("content outside the root element"));
                }
            }
            Event::Start(e) => {
                if stack.is_empty() {
                    roots += 1;
                    if roots > 1 {
                        return Err(bad("more than one root element"));
                    }
                }
                elements += 1;
                if stack.len() >= MAX_DEPTH || elements > MAX_ELEMENTS {
                    return Err(SamlError::TooComplex);
                }
                let local = e.local_name();
                let local = local.as_ref();
                let in_dsig = ns.as_deref() == Some(DSIG_NS);
                let parent_dsig = stack.last().map(|o| o.in_dsig).unwrap_or("");
                if stack.is_empty() && (ns.as_deref() != Some(SAML_PROTOCOL_NS) || local != b"Response") {
                    return Err(bad("root is not a samlp:Response"));
                }
                if local == b"Assertion" || local == b"EncryptedAssertion" {
                    if ns.as_deref() != Some(SAML_ASSERTION_NS) || local == b"EncryptedAssertion" {
                        return Err(bad("assertion in an unexpected form"));
                    }
                    assertions += 1;
                }
                // Attributes: bounded, no duplicates, no prefixed IDs, values well-formed.
                let mut id = None;
                let mut algorithm = None;
                let mut uri = None;
                let mut count = 0;
                for attr in e.attributes().with_checks(true) {
                    let attr = attr.map_err(|_| bad("duplicate or malformed attribute"))?;
                    count += 1;
                    if count > MAX_ATTRIBUTES {
                        return Err(SamlError::TooComplex);
                    }
                    let value = attr
                        .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .map_err(|_| SamlError::Doctype)?;
                    let key = attr.key;
                    let local_key = key.local_name();
                    let prefixed = key.prefix().is_some();
                    match (local_key.as_ref(), prefixed) {
                        (b"ID" | b"Id" | b"AssertionID", true) => return Err(bad("prefixed ID attribute")),
                        (b"ID", false) => {
                            let valid = value.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_')
                                && value.chars().all(|c| c.is_alphanumeric() || "_-.".contains(c));
                            if !valid || !ids.insert(value.to_string()) {
                                return Err(bad("ID not a unique NCName"));
                            }
                            id = Some(value.to_string());
                        }
                        (b"Algorithm", false) => algorithm = Some(value.to_string()),
                        (b"SPNameQualifier", false) if local == b"NameID" => {
                            shape.sp_name_qualifiers.push(value.to_string())
                        }
                        (b"URI", false) => uri = Some(value.to_string()),
                        _ => {}
                    }
                }
                let mut this_dsig = "";
                if in_dsig {
                    this_dsig = match local {
                        b"Signature" => {
                            shape.signatures += 1;
                            if shape.signatures > MAX_SIGNATURES {
                                return Err(SamlError::TooComplex);
                            }
                            // The signature must sit directly in the element it signs.
                            let Some(parent) = stack.last() else { return Err(bad("signature as root")) };
                            if !parent.in_dsig.is_empty() || parent.id.is_none() {
                                return Err(bad("signature not inside an element with an ID"));
                            }
                            if stack.len() == 1 {
                                shape.response_signed = true;
                            }
                            signed_infos = 0;
                            references = 0;
                            transforms = 0;
                            "Signature"
                        }
                        b"Object" => return Err(bad("ds:Object")),
                        b"SignedInfo" if parent_dsig == "Signature" => {
                            signed_infos += 1;
                            if signed_infos > 1 {
                                return Err(bad("more than one SignedInfo"));
                            }
                            "SignedInfo"
                        }
                        b"CanonicalizationMethod" | b"SignatureMethod" if parent_dsig == "SignedInfo" => {
                            let alg = algorithm.as_deref().unwrap_or_default();
                            let ok = if local == b"CanonicalizationMethod" {
                                C14N.contains(&alg)
                            } else {
                                STRONG_SIGNATURES.contains(&alg) || (allows_sha1 && alg == SHA1_SIGNATURE)
                            };
                            if !ok {
                                return Err(SamlError::Algorithm);
                            }
                            "SignedInfoChild"
                        }
                        b"Reference" if parent_dsig == "SignedInfo" => {
                            references += 1;
                            if references > 1 {
                                return Err(bad("more than one Reference"));
                            }
                            // `#` + the ID of the element enclosing the Signature.
                            let depth = stack.iter().rposition(|o| o.in_dsig == "Signature").unwrap_or(0);
                            let owner = depth.checked_sub(1).and_then(|i| stack[i].id.clone());
                            let expected = owner.map(|id| format!("#{id}"));
                            if uri.is_none() || uri != expected {
                                return Err(bad("Reference does not name the enclosing element"));
                            }
                            "Reference"
                        }
                        b"Transforms" if parent_dsig == "Reference" => "Transforms",
                        b"Transform" if parent_dsig == "Transforms" => {
                            transforms += 1;
                            let alg = algorithm.as_deref().unwrap_or_default();
                            if transforms > 2 || !(alg == ENVELOPED || C14N.contains(&alg)) {
                                return Err(SamlError::Algorithm);
                            }
                            "Transform"
                        }
                        b"DigestMethod" if parent_dsig == "Reference" => {
                            let alg = algorithm.as_deref().unwrap_or_default();
                            if !(STRONG_DIGESTS.contains(&alg) || (allows_sha1 && alg == SHA1_DIGEST)) {
                                return Err(SamlError::Algorithm);
                            }
                            "DigestMethod"
                        }
                        b"DigestValue" | b"SignatureValue" | b"KeyInfo" | b"X509Data"
                        | b"X509Certificate" | b"X509IssuerSerial" | b"X509IssuerName"
                        | b"X509SerialNumber" | b"X509SubjectName" => "Leaf",
                        _ => return Err(bad("unexpected element in a signature")),
                    };
                } else if !parent_dsig.is_empty() && parent_dsig != "Leaf" {
                    return Err(bad("foreign element in a signature"));
                }
                stack.push(Open { id, in_dsig: this_dsig });
            }
            Event::End(_) => {
                if let Some(open) = stack.pop() {
                    if open.in_dsig == "Signature" && references != 1 {
                        return Err(bad("signature without exactly one Reference"));
                    }
                }
            }
            Event::Empty(_) => return Err(bad("not well-formed XML")),
            Event::Eof => break,
        }
        seen_any = true;
    }
    if roots != 1 || !stack.is_empty() {
        return Err(bad("not exactly one root element"));
    }
    if assertions != 1 {
        return Err(SamlError::AssertionCount);
    }
    Ok(shape)
}

#[cfg(test)]
mod tests {
    use super::*;

    const C14N_EXC: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
    const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
    const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";

    /// A Response whose Assertion carries a well-shaped signature (values unchecked here).
    fn doc(
        reference: &str,
        transforms: &str,
        extra_in_assertion: &str,
        extra_in_signed_info: &str,
    ) -> String {
        format!(
            r##"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" ID="_r1" Version="2.0"><saml:Assertion ID="_a1"><ds:Signature><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="{C14N_EXC}"/><ds:SignatureMethod Algorithm="{RSA_SHA256}"/>{reference}{extra_in_signed_info}</ds:SignedInfo><ds:SignatureValue>c2ln</ds:SignatureValue></ds:Signature>{extra_in_assertion}<saml:Subject/></saml:Assertion></samlp:Response>"##
        )
        .replace("TRANSFORMS", transforms)
    }

    fn reference(uri: &str) -> String {
        format!(
            r#"<ds:Reference URI="{uri}"><ds:Transforms>TRANSFORMS</ds:Transforms><ds:DigestMethod Algorithm="{SHA256}"/><ds:DigestValue>ZA==</ds:DigestValue></ds:Reference>"#
        )
    }

    fn transform(alg: &str) -> String {
        format!(r#"<ds:Transform Algorithm="{alg}"/>"#)
    }

    fn standard_transforms() -> String {
        transform(ENVELOPED) + &transform(C14N_EXC)
    }

    fn good() -> String {
        doc(&reference("#_a1"), &standard_transforms(), "", "")
    }

    #[test]
    fn a_well_shaped_message_passes() {
        let shape = check(&good(), 100_000, false).unwrap();
        assert_eq!(shape.signatures, 1);
        assert!(!shape.response_signed);
    }

    #[test]
    fn s08_ids_must_be_unique_unprefixed_ncnames() {
        let dup = good().replace("<saml:Subject/>", r#"<saml:Subject ID="_a1"/>"#);
        let prefixed = good().replace("<saml:Subject/>", r#"<saml:Subject xmlns:x="urn:x" x:ID="_a1"/>"#);
        let not_ncname =
            good().replace(r#"ID="_a1""#, r#"ID="element(/1/3)""#).replace("#_a1", "#element(/1/3)");
        for bad in [dup, prefixed, not_ncname] {
            assert!(matches!(check(&bad, 100_000, false), Err(SamlError::Malformed(_))), "{bad}");
        }
    }

    #[test]
    fn s09_s10_a_reference_names_only_its_enclosing_element() {
        for uri in [
            "#_r1",
            "",
            "http://attacker.test/x",
            "file:///etc/hostname",
            "#xpointer(/)",
            "#xpointer(id('_a1'))",
        ] {
            let bad = doc(&reference(uri), &standard_transforms(), "", "");
            assert!(matches!(check(&bad, 100_000, false), Err(SamlError::Malformed(_))), "{uri}");
        }
        let no_uri = good().replace(r##"URI="#_a1""##, "");
        assert!(check(&no_uri, 100_000, false).is_err());
    }

    #[test]
    fn s11_one_signed_info_one_reference_two_signatures_at_most() {
        let two_refs = doc(&(reference("#_a1") + &reference("#_a1")), &standard_transforms(), "", "");
        let two_signed_info = good().replace("</ds:SignedInfo>", "</ds:SignedInfo><ds:SignedInfo/>");
        for bad in [two_refs, two_signed_info] {
            assert!(matches!(check(&bad, 100_000, false), Err(SamlError::Malformed(_))), "{bad}");
        }
        let sig = good();
        let sig = &sig[sig.find("<ds:Signature>").unwrap()..sig.find("</ds:Signature>").unwrap() + 15];
        let three = good()
            .replace(
                "<saml:Subject/>",
                &format!("<saml:Subject ID=\"_s\">{}</saml:Subject>", sig.replace("#_a1", "#_s")),
            )
            .replace("</samlp:Response>", "")
            + &format!("{}</samlp:Response>", sig.replace("#_a1", "#_r1"));
        assert!(matches!(
            check(&three, 100_000, false),
            Err(SamlError::TooComplex | SamlError::Malformed(_))
        ));
    }

    #[test]
    fn s13_s14_only_allowed_transforms_and_algorithms() {
        let xslt = transform("http://www.w3.org/TR/1999/REC-xslt-19991116");
        let xpath = transform("http://www.w3.org/TR/1999/REC-xpath-19991116");
        let inclusive = transform("http://www.w3.org/TR/2001/REC-xml-c14n-20010315");
        let three = standard_transforms() + &transform(C14N_EXC);
        for t in [xslt, xpath, inclusive, three] {
            let bad = doc(&reference("#_a1"), &t, "", "");
            assert!(matches!(check(&bad, 100_000, false), Err(SamlError::Algorithm)), "{t}");
        }
        for (from, to) in [
            (RSA_SHA256, "http://www.w3.org/2000/09/xmldsig#rsa-sha1"),
            (RSA_SHA256, "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256"),
            (RSA_SHA256, "http://www.w3.org/2000/09/xmldsig#dsa-sha1"),
            (SHA256, "http://www.w3.org/2000/09/xmldsig#sha1"),
            (C14N_EXC, "http://example.test/unknown-c14n"),
        ] {
            let bad = good().replacen(from, to, 1);
            assert!(matches!(check(&bad, 100_000, false), Err(SamlError::Algorithm)), "{to}");
        }
        // An IdP allowed SHA-1 gets RSA-SHA1 and SHA-1 digests, nothing weaker.
        let sha1 = good().replacen(RSA_SHA256, "http://www.w3.org/2000/09/xmldsig#rsa-sha1", 1).replacen(
            SHA256,
            "http://www.w3.org/2000/09/xmldsig#sha1",
            1,
        );
        assert!(matches!(check(&sha1, 100_000, false), Err(SamlError::Algorithm)));
        assert!(check(&sha1, 100_000, true).is_ok());
        for weak in [
            "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256",
            "http://www.w3.org/2000/09/xmldsig#dsa-sha1",
        ] {
            let bad = good().replacen(RSA_SHA256, weak, 1);
            assert!(matches!(check(&bad, 100_000, true), Err(SamlError::Algorithm)), "{weak}");
        }
        let hmac_length = good().replace(
            &format!(r#"<ds:SignatureMethod Algorithm="{RSA_SHA256}"/>"#),
            &format!(r#"<ds:SignatureMethod Algorithm="{RSA_SHA256}"><ds:HMACOutputLength>8</ds:HMACOutputLength></ds:SignatureMethod>"#),
        );
        assert!(check(&hmac_length, 100_000, false).is_err());
        let object = good().replace("</ds:SignatureValue>", "</ds:SignatureValue><ds:Object/>");
        assert!(matches!(check(&object, 100_000, false), Err(SamlError::Malformed("ds:Object"))));
    }

    #[test]
    fn s07_assertions_in_other_forms_are_refused() {
        let evil_ns = good().replace(
            "<saml:Assertion ID=\"_a1\">",
            "<x:Assertion xmlns:x=\"urn:evil\" ID=\"_e\"/><saml:Assertion ID=\"_a1\">",
        );
        let default_ns = good().replace(
            "<saml:Assertion ID=\"_a1\">",
            "<Assertion xmlns=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"_e\"/><saml:Assertion ID=\"_a1\">",
        );
        let encrypted = good().replace("<saml:Subject/>", "<saml:Subject/><saml:EncryptedAssertion/>");
        assert!(matches!(check(&evil_ns, 100_000, false), Err(SamlError::Malformed(_))));
        assert!(matches!(check(&default_ns, 100_000, false), Err(SamlError::AssertionCount)));
        assert!(matches!(check(&encrypted, 100_000, false), Err(SamlError::Malformed(_))));
        let no_assertion = r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_r"/>"#;
        assert!(matches!(check(no_assertion, 100_000, false), Err(SamlError::AssertionCount)));
        let wrong_root = good().replace("samlp:Response", "samlp:AuthnRequest");
        assert!(check(&wrong_root, 100_000, false).is_err());
    }

    #[test]
    fn s17_parser_differentials_are_refused() {
        let g = good();
        let cases = [
            g.replacen("<saml:Subject/>", "<saml:Subject>", 1),
            g.replacen("<saml:Subject/>", r#"<saml:Subject a="1" a="2"/>"#, 1),
            g.replacen("<saml:Subject/>", "<y:Subject/>", 1),
            format!("<?xml version=\"1.1\"?>{g}"),
            format!("<?xml version=\"1.0\" encoding=\"UTF-16\"?>{g}"),
            format!(" <?xml version=\"1.0\"?>{g}").trim_start().replacen("?>", "?><!-- c -->", 1),
            g.replacen("<saml:Subject/>", "<saml:Subject>a&#0;b</saml:Subject>", 1),
            g.replacen("<saml:Subject/>", "<saml:Subject>\u{0}</saml:Subject>", 1),
            format!("{g}trailing"),
            format!("\u{feff}{g}"),
        ];
        for bad in cases {
            assert!(check(&bad, 100_000, false).is_err(), "{bad}");
        }
        assert!(matches!(check(&good(), 100, false), Err(SamlError::TooLarge)));
        let wide: String = (0..40).map(|i| format!(" a{i}=\"x\"")).collect();
        let too_wide = good().replacen("<saml:Subject/>", &format!("<saml:Subject{wide}/>"), 1);
        assert!(matches!(check(&too_wide, 100_000, false), Err(SamlError::TooComplex)));
    }
}
