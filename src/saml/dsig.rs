//! XML Signature verification of one enveloped `ds:Signature` over the element
//! that contains it, in the single shape SAML uses: one Reference to the
//! parent's ID, the enveloped-signature transform then exclusive c14n, an
//! algorithm on the allow-list, and a key from the provider's metadata only
//! (KeyInfo is never read). Both canonical forms are computed from the parsed
//! tree, so what is verified is exactly what the claims are read from.
use super::c14n;
use super::xml::{Document, XML_SPACE};
use super::{element_children, structure, SamlError};
use base64::Engine;
use openssl::bn::BigNum;
use openssl::ecdsa::EcdsaSig;
use openssl::hash::MessageDigest;
use openssl::pkey::{Id, PKey, Public};
use openssl::sign::Verifier;

pub const DSIG_NS: &str = "http://www.w3.org/2000/09/xmldsig#";
const EXC_C14N_NS: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
const EXC_C14N: &[&str] =
    &["http://www.w3.org/2001/10/xml-exc-c14n#", "http://www.w3.org/2001/10/xml-exc-c14n#WithComments"];
const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyKind {
    Rsa,
    Ec,
}

/// A signature algorithm: the key it needs and the digest it signs with.
fn signature_method(uri: &str, allows_sha1: bool) -> Option<(KeyKind, MessageDigest)> {
    Some(match uri {
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256" => (KeyKind::Rsa, MessageDigest::sha256()),
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384" => (KeyKind::Rsa, MessageDigest::sha384()),
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512" => (KeyKind::Rsa, MessageDigest::sha512()),
        "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256" => (KeyKind::Ec, MessageDigest::sha256()),
        "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384" => (KeyKind::Ec, MessageDigest::sha384()),
        "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512" => (KeyKind::Ec, MessageDigest::sha512()),
        "http://www.w3.org/2000/09/xmldsig#rsa-sha1" if allows_sha1 => (KeyKind::Rsa, MessageDigest::sha1()),
        _ => return None,
    })
}

fn digest_method(uri: &str, allows_sha1: bool) -> Option<MessageDigest> {
    Some(match uri {
        "http://www.w3.org/2001/04/xmlenc#sha256" => MessageDigest::sha256(),
        "http://www.w3.org/2001/04/xmldsig-more#sha384" => MessageDigest::sha384(),
        "http://www.w3.org/2001/04/xmlenc#sha512" => MessageDigest::sha512(),
        "http://www.w3.org/2000/09/xmldsig#sha1" if allows_sha1 => MessageDigest::sha1(),
        _ => return None,
    })
}

/// The one child `{DSIG_NS}local` expected at `children[at]`.
fn expect_dsig(
    doc: &Document,
    children: &[usize],
    at: usize,
    local: &'static str,
) -> Result<usize, SamlError> {
    match children.get(at) {
        Some(&e) if doc.is(e, DSIG_NS, local) => Ok(e),
        _ => Err(structure("signature not in the ds:Signature shape")),
    }
}

/// A c14n method element (CanonicalizationMethod or Transform) whose algorithm
/// is exclusive c14n: its PrefixList, if any.
fn exclusive_prefixes<'d>(doc: &'d Document, method: usize) -> Result<Vec<&'d str>, SamlError> {
    let algorithm = doc.attribute(method, "Algorithm").unwrap_or_default();
    if !EXC_C14N.contains(&algorithm) {
        return Err(SamlError::Algorithm);
    }
    let mut prefixes = Vec::new();
    for child in element_children(doc, method)? {
        if !doc.is(child, EXC_C14N_NS, "InclusiveNamespaces")
            || !prefixes.is_empty()
            || !element_children(doc, child)?.is_empty()
        {
            return Err(structure("unexpected element in a c14n method"));
        }
        let list =
            doc.attribute(child, "PrefixList").ok_or(structure("InclusiveNamespaces without PrefixList"))?;
        prefixes = list.split(XML_SPACE).filter(|p| !p.is_empty()).collect();
    }
    Ok(prefixes)
}

fn decode_base64(doc: &Document, id: usize) -> Result<Vec<u8>, SamlError> {
    let text = doc.text(id).ok_or(structure("element in a base64 value"))?;
    let compact: String = text.chars().filter(|c| !XML_SPACE.contains(c)).collect();
    base64::engine::general_purpose::STANDARD.decode(compact).map_err(|_| SamlError::Signature)
}

/// Verifies the `ds:Signature` element `signature`, a child of `signed`, with
/// one of `keys`. Everything short of a valid signature is an error.
pub fn verify(
    doc: &Document,
    signed: usize,
    signature: usize,
    keys: &[PKey<Public>],
    allows_sha1: bool,
) -> Result<(), SamlError> {
    let parts = element_children(doc, signature)?;
    let signed_info = expect_dsig(doc, &parts, 0, "SignedInfo")?;
    let signature_value = expect_dsig(doc, &parts, 1, "SignatureValue")?;
    match parts.get(2) {
        None => {}
        Some(&k) if doc.is(k, DSIG_NS, "KeyInfo") && parts.len() == 3 => {}
        Some(_) => return Err(structure("ds:Object or another element in a signature")),
    }

    let info = element_children(doc, signed_info)?;
    if info.len() != 3 {
        return Err(structure("SignedInfo must have exactly one Reference"));
    }
    let c14n_method = expect_dsig(doc, &info, 0, "CanonicalizationMethod")?;
    let method = expect_dsig(doc, &info, 1, "SignatureMethod")?;
    let reference = expect_dsig(doc, &info, 2, "Reference")?;
    let info_prefixes = exclusive_prefixes(doc, c14n_method)?;
    if !element_children(doc, method)?.is_empty() {
        return Err(structure("parameters in SignatureMethod"));
    }
    let (key_kind, signature_digest) =
        signature_method(doc.attribute(method, "Algorithm").unwrap_or_default(), allows_sha1)
            .ok_or(SamlError::Algorithm)?;

    // The Reference names the element the signature sits in, by its ID.
    let id = doc.attribute(signed, "ID").ok_or(structure("signed element without an ID"))?;
    let uri = doc.attribute(reference, "URI").unwrap_or_default();
    if uri.strip_prefix('#') != Some(id) {
        return Err(structure("Reference does not name the enclosing element"));
    }
    let steps = element_children(doc, reference)?;
    if steps.len() != 3 {
        return Err(structure("Reference must have Transforms, DigestMethod and DigestValue"));
    }
    let transforms = element_children(doc, expect_dsig(doc, &steps, 0, "Transforms")?)?;
    let digest_method_element = expect_dsig(doc, &steps, 1, "DigestMethod")?;
    let digest_value = expect_dsig(doc, &steps, 2, "DigestValue")?;
    let [enveloped, exclusive] = transforms[..] else { return Err(SamlError::Algorithm) };
    if !doc.is(enveloped, DSIG_NS, "Transform")
        || !doc.is(exclusive, DSIG_NS, "Transform")
        || doc.attribute(enveloped, "Algorithm") != Some(ENVELOPED)
    {
        return Err(SamlError::Algorithm);
    }
    // The enveloped-signature transform takes no parameters. xml-crypto (behind
    // samlify and node-saml IdPs) writes its InclusiveNamespaces into it too,
    // as libxmlsec1 and AWS accept: that one element is ignored, nothing else.
    for parameter in element_children(doc, enveloped)? {
        if doc.element(parameter).local != "InclusiveNamespaces"
            || !element_children(doc, parameter)?.is_empty()
        {
            return Err(SamlError::Algorithm);
        }
    }
    let reference_prefixes = exclusive_prefixes(doc, exclusive)?;
    if !element_children(doc, digest_method_element)?.is_empty() {
        return Err(structure("parameters in DigestMethod"));
    }
    let digest =
        digest_method(doc.attribute(digest_method_element, "Algorithm").unwrap_or_default(), allows_sha1)
            .ok_or(SamlError::Algorithm)?;

    let mut canonical = Vec::with_capacity(8192);
    c14n::exclusive(doc, signed, Some(signature), &reference_prefixes, &mut canonical);
    let computed = openssl::hash::hash(digest, &canonical).map_err(|_| SamlError::Signature)?;
    let expected = decode_base64(doc, digest_value)?;
    // (memcmp::eq panics on different lengths: the length is checked first.)
    if computed.len() != expected.len() || !openssl::memcmp::eq(&computed, &expected) {
        return Err(SamlError::Signature);
    }

    canonical.clear();
    c14n::exclusive(doc, signed_info, None, &info_prefixes, &mut canonical);
    let value = decode_base64(doc, signature_value)?;
    if keys.iter().any(|key| verifies(key, key_kind, signature_digest, &canonical, &value)) {
        Ok(())
    } else {
        Err(SamlError::Signature)
    }
}

/// One key's verdict; a key of the wrong kind or a malformed value is "no".
fn verifies(key: &PKey<Public>, kind: KeyKind, digest: MessageDigest, data: &[u8], value: &[u8]) -> bool {
    let der;
    let value = match (kind, key.id()) {
        (KeyKind::Rsa, Id::RSA) => value,
        (KeyKind::Ec, Id::EC) => {
            // XML Signature carries ECDSA as r || s, each the size of the curve order.
            let Some(raw) = ecdsa_der(value) else { return false };
            der = raw;
            &der
        }
        _ => return false,
    };
    let Ok(mut verifier) = Verifier::new(digest, key) else { return false };
    verifier.verify_oneshot(value, data).unwrap_or(false)
}

fn ecdsa_der(raw: &[u8]) -> Option<Vec<u8>> {
    if raw.is_empty() || raw.len() % 2 != 0 {
        return None;
    }
    let (r, s) = raw.split_at(raw.len() / 2);
    let sig =
        EcdsaSig::from_private_components(BigNum::from_slice(r).ok()?, BigNum::from_slice(s).ok()?).ok()?;
    sig.to_der().ok()
}
