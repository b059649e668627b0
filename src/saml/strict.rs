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
}

fn bad(what: &'static str) -> SamlError {
    SamlError::Malformed(what)
}

struct Open {
    id: Option<String>,
    in_dsig: &'static str,
}

/// Checks `xml` (already known to be UTF-8).
pub fn check(xml: &str, max_bytes: usize) -> Result<Shape, SamlError> {
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
                if let Ok(Some(c)) = r.resolve_char_ref() {
                    if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') {
                        return Err(bad("control characters"));
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
                                STRONG_SIGNATURES.contains(&alg)
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
                            if !STRONG_DIGESTS.contains(&alg) {
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
