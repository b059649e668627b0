//! XML Encryption of assertions (`saml:EncryptedAssertion`), both ways: the
//! SP side opens one with the provider's private keys; the built-in IdP seals
//! one to an SP's certificate. Key transport is RSA-OAEP only (RSA-1_5 is the
//! Bleichenbacher door); content is AES-GCM, or AES-CBC because Entra ID, Okta
//! and AD FS default to it.
//!
//! CBC is malleable and its padding check is an oracle, so opening never says
//! why it failed: a key that does not unwrap is replaced by a random one, bad
//! padding goes on to the parse like any other garbage, and the caller answers
//! every failure alike until a signature vouches for the plaintext.
use super::xml::{Document, XML_SPACE};
use super::{element_children, SamlError};
use base64::Engine;
use openssl::md::{Md, MdRef};
use openssl::pkey::{PKey, Private, Public};
use openssl::pkey_ctx::PkeyCtx;
use openssl::rsa::Padding;
use openssl::symm::{Cipher, Crypter, Mode};

pub const XENC_NS: &str = "http://www.w3.org/2001/04/xmlenc#";
const XENC11_NS: &str = "http://www.w3.org/2009/xmlenc11#";
const DSIG_NS: &str = "http://www.w3.org/2000/09/xmldsig#";
const ELEMENT_TYPE: &str = "http://www.w3.org/2001/04/xmlenc#Element";
const RSA_OAEP_MGF1P: &str = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p";
const RSA_OAEP: &str = "http://www.w3.org/2009/xmlenc11#rsa-oaep";
const SHA1: &str = "http://www.w3.org/2000/09/xmldsig#sha1";
const GCM_IV: usize = 12;
const GCM_TAG: usize = 16;
const CBC_IV: usize = 16;
/// More wrapped keys than this in one EncryptedAssertion is not a rollover.
const MAX_WRAPPED_KEYS: usize = 4;

/// A content-encryption algorithm of XML Encryption 1.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentCipher {
    Aes128Cbc,
    Aes256Cbc,
    Aes128Gcm,
    Aes256Gcm,
}

impl ContentCipher {
    pub fn uri(self) -> &'static str {
        match self {
            ContentCipher::Aes128Cbc => "http://www.w3.org/2001/04/xmlenc#aes128-cbc",
            ContentCipher::Aes256Cbc => "http://www.w3.org/2001/04/xmlenc#aes256-cbc",
            ContentCipher::Aes128Gcm => "http://www.w3.org/2009/xmlenc11#aes128-gcm",
            ContentCipher::Aes256Gcm => "http://www.w3.org/2009/xmlenc11#aes256-gcm",
        }
    }

    pub fn from_uri(uri: &str) -> Option<ContentCipher> {
        [
            ContentCipher::Aes128Cbc,
            ContentCipher::Aes256Cbc,
            ContentCipher::Aes128Gcm,
            ContentCipher::Aes256Gcm,
        ]
        .into_iter()
        .find(|c| c.uri() == uri)
    }

    fn cipher(self) -> Cipher {
        match self {
            ContentCipher::Aes128Cbc => Cipher::aes_128_cbc(),
            ContentCipher::Aes256Cbc => Cipher::aes_256_cbc(),
            ContentCipher::Aes128Gcm => Cipher::aes_128_gcm(),
            ContentCipher::Aes256Gcm => Cipher::aes_256_gcm(),
        }
    }

    fn is_gcm(self) -> bool {
        matches!(self, ContentCipher::Aes128Gcm | ContentCipher::Aes256Gcm)
    }
}

/// What opening an EncryptedAssertion gave: its plaintext, and whether CBC
/// padding was well-formed (known only to the caller's final verdict).
pub struct Opened {
    pub plaintext: Vec<u8>,
    pub padding_ok: bool,
}

/// Opens the EncryptedAssertion `encrypted` with one of `keys`. An error here
/// is about the message's clear text (its algorithms or shape); a wrong key,
/// a forged GCM tag or bad padding all end in the caller's one answer.
pub fn open(doc: &Document, encrypted: usize, keys: &[PKey<Private>]) -> Result<Opened, SamlError> {
    let children = element_children(doc, encrypted)?;
    let (data, siblings) = children.split_first().ok_or(SamlError::Encryption)?;
    if !doc.is(*data, XENC_NS, "EncryptedData")
        || doc.attribute(*data, "Type").is_some_and(|t| t != ELEMENT_TYPE)
    {
        return Err(SamlError::Encryption);
    }
    let mut method = None;
    let mut cipher_value = None;
    let mut wrapped = Vec::new();
    for child in element_children(doc, *data)? {
        if doc.is(child, XENC_NS, "EncryptionMethod") && method.is_none() {
            let uri = doc.attribute(child, "Algorithm").unwrap_or_default();
            method = Some(ContentCipher::from_uri(uri).ok_or(SamlError::EncryptionAlgorithm)?);
        } else if doc.is(child, DSIG_NS, "KeyInfo") {
            // Wrapped keys inside KeyInfo; a RetrievalMethod or KeyName names
            // one of the siblings below, which are all tried anyway.
            wrapped.extend(doc.child_elements(child).filter(|k| doc.is(*k, XENC_NS, "EncryptedKey")));
        } else if doc.is(child, XENC_NS, "CipherData") && cipher_value.is_none() {
            cipher_value = Some(cipher_value_of(doc, child)?);
        } else {
            return Err(SamlError::Encryption);
        }
    }
    for sibling in siblings {
        if !doc.is(*sibling, XENC_NS, "EncryptedKey") {
            return Err(SamlError::Encryption);
        }
        wrapped.push(*sibling);
    }
    let (method, ciphertext) =
        (method.ok_or(SamlError::Encryption)?, cipher_value.ok_or(SamlError::Encryption)?);
    if wrapped.is_empty() || wrapped.len() > MAX_WRAPPED_KEYS {
        return Err(SamlError::Encryption);
    }
    let transports = wrapped.iter().map(|k| wrapped_key(doc, *k)).collect::<Result<Vec<_>, _>>()?;
    let key = unwrap_content_key(&transports, keys, method.cipher().key_len());
    decrypt_content(method, &key, &ciphertext)
}

fn cipher_value_of(doc: &Document, cipher_data: usize) -> Result<Vec<u8>, SamlError> {
    let [value] = element_children(doc, cipher_data)?[..] else { return Err(SamlError::Encryption) };
    if !doc.is(value, XENC_NS, "CipherValue") {
        return Err(SamlError::Encryption);
    }
    let text = doc.text(value).ok_or(SamlError::Encryption)?;
    let compact: String = text.chars().filter(|c| !XML_SPACE.contains(c)).collect();
    base64::engine::general_purpose::STANDARD.decode(compact).map_err(|_| SamlError::Encryption)
}

/// An RSA-OAEP wrapped key: its ciphertext and the digests of its padding.
struct WrappedKey {
    ciphertext: Vec<u8>,
    digest: &'static MdRef,
    mgf1: &'static MdRef,
}

fn digest_of(uri: &str) -> Option<&'static MdRef> {
    Some(match uri {
        SHA1 => Md::sha1(),
        "http://www.w3.org/2001/04/xmlenc#sha256" => Md::sha256(),
        "http://www.w3.org/2001/04/xmldsig-more#sha384" => Md::sha384(),
        "http://www.w3.org/2001/04/xmlenc#sha512" => Md::sha512(),
        _ => return None,
    })
}

fn mgf_of(uri: &str) -> Option<&'static MdRef> {
    Some(match uri.strip_prefix("http://www.w3.org/2009/xmlenc11#mgf1")? {
        "sha1" => Md::sha1(),
        "sha256" => Md::sha256(),
        "sha384" => Md::sha384(),
        "sha512" => Md::sha512(),
        _ => return None,
    })
}

fn wrapped_key(doc: &Document, key: usize) -> Result<WrappedKey, SamlError> {
    let mut transport = None;
    let mut ciphertext = None;
    for child in element_children(doc, key)? {
        if doc.is(child, XENC_NS, "EncryptionMethod") && transport.is_none() {
            transport = Some(child);
        } else if doc.is(child, XENC_NS, "CipherData") && ciphertext.is_none() {
            ciphertext = Some(cipher_value_of(doc, child)?);
        } else if !(doc.is(child, DSIG_NS, "KeyInfo") || doc.is(child, XENC_NS, "ReferenceList")) {
            return Err(SamlError::Encryption);
        }
    }
    let transport = transport.ok_or(SamlError::Encryption)?;
    let algorithm = doc.attribute(transport, "Algorithm").unwrap_or_default();
    if algorithm != RSA_OAEP_MGF1P && algorithm != RSA_OAEP {
        return Err(SamlError::EncryptionAlgorithm);
    }
    let (mut digest, mut mgf1) = (Md::sha1(), Md::sha1());
    for param in element_children(doc, transport)? {
        let uri = doc.attribute(param, "Algorithm").unwrap_or_default();
        if doc.is(param, DSIG_NS, "DigestMethod") {
            digest = digest_of(uri).ok_or(SamlError::EncryptionAlgorithm)?;
        } else if doc.is(param, XENC11_NS, "MGF") && algorithm == RSA_OAEP {
            mgf1 = mgf_of(uri).ok_or(SamlError::EncryptionAlgorithm)?;
        } else {
            // OAEPparams (a label) is not used by any SAML peer.
            return Err(SamlError::Encryption);
        }
    }
    Ok(WrappedKey { ciphertext: ciphertext.ok_or(SamlError::Encryption)?, digest, mgf1 })
}

/// The content key: the first wrapped key that one of `keys` unwraps to the
/// right length; otherwise a random one, so that a key that did not unwrap
/// fails later, in the same place as a key that unwrapped to the wrong thing.
fn unwrap_content_key(wrapped: &[WrappedKey], keys: &[PKey<Private>], length: usize) -> Vec<u8> {
    let mut found = None;
    for w in wrapped {
        for key in keys {
            // Every pair is tried, found or not, so the time spent does not
            // say which one worked.
            if let Some(k) = rsa_oaep_decrypt(key, w).filter(|k| k.len() == length) {
                found.get_or_insert(k);
            }
        }
    }
    found.unwrap_or_else(|| {
        let mut random = vec![0; length];
        openssl::rand::rand_bytes(&mut random).ok();
        random
    })
}

fn rsa_oaep_decrypt(key: &PKey<Private>, w: &WrappedKey) -> Option<Vec<u8>> {
    let mut ctx = PkeyCtx::new(key).ok()?;
    ctx.decrypt_init().ok()?;
    ctx.set_rsa_padding(Padding::PKCS1_OAEP).ok()?;
    ctx.set_rsa_oaep_md(w.digest).ok()?;
    ctx.set_rsa_mgf1_md(w.mgf1).ok()?;
    let mut out = Vec::new();
    ctx.decrypt_to_vec(&w.ciphertext, &mut out).ok()?;
    Some(out)
}

fn decrypt_content(method: ContentCipher, key: &[u8], data: &[u8]) -> Result<Opened, SamlError> {
    let cipher = method.cipher();
    if method.is_gcm() {
        if data.len() < GCM_IV + GCM_TAG {
            return Err(SamlError::Encryption);
        }
        let (iv, rest) = data.split_at(GCM_IV);
        let (ciphertext, tag) = rest.split_at(rest.len() - GCM_TAG);
        let plaintext = openssl::symm::decrypt_aead(cipher, key, Some(iv), &[], ciphertext, tag)
            .map_err(|_| SamlError::Encryption)?;
        return Ok(Opened { plaintext, padding_ok: true });
    }
    if data.len() < 2 * CBC_IV || data.len() % CBC_IV != 0 {
        return Err(SamlError::Encryption);
    }
    let (iv, ciphertext) = data.split_at(CBC_IV);
    let mut crypter =
        Crypter::new(cipher, Mode::Decrypt, key, Some(iv)).map_err(|_| SamlError::Encryption)?;
    crypter.pad(false);
    let mut plaintext = vec![0; ciphertext.len() + CBC_IV];
    let mut n = crypter.update(ciphertext, &mut plaintext).map_err(|_| SamlError::Encryption)?;
    n += crypter.finalize(&mut plaintext[n..]).map_err(|_| SamlError::Encryption)?;
    plaintext.truncate(n);
    // XML Encryption's padding: the last byte counts the pad (1..=16); the
    // others are arbitrary. A bad count is not answered here.
    let pad = plaintext.last().copied().unwrap_or(0) as usize;
    let padding_ok = (1..=CBC_IV).contains(&pad);
    if padding_ok {
        plaintext.truncate(plaintext.len() - pad);
    }
    Ok(Opened { plaintext, padding_ok })
}

/// Encrypts `plaintext` (a signed Assertion, serialised with its own
/// namespace declarations) to `recipient` as an `saml:EncryptedAssertion`:
/// a fresh content key, wrapped with RSA-OAEP (MGF1 and digest SHA-1, the
/// form every SP reads). The text is in exclusive canonical form (the IdP
/// signs the Response around it as written).
pub fn seal(plaintext: &[u8], recipient: &PKey<Public>, method: ContentCipher) -> Result<String, SamlError> {
    let cipher = method.cipher();
    let mut key = vec![0; cipher.key_len()];
    let mut iv = vec![0; if method.is_gcm() { GCM_IV } else { CBC_IV }];
    openssl::rand::rand_bytes(&mut key).map_err(|_| SamlError::Encryption)?;
    openssl::rand::rand_bytes(&mut iv).map_err(|_| SamlError::Encryption)?;
    let mut data = iv.clone();
    if method.is_gcm() {
        let mut tag = [0; GCM_TAG];
        let body = openssl::symm::encrypt_aead(cipher, &key, Some(&iv), &[], plaintext, &mut tag)
            .map_err(|_| SamlError::Encryption)?;
        data.extend(body);
        data.extend(tag);
    } else {
        // OpenSSL's PKCS#7 padding is a valid XML Encryption padding.
        data.extend(
            openssl::symm::encrypt(cipher, &key, Some(&iv), plaintext).map_err(|_| SamlError::Encryption)?,
        );
    }
    let wrapped = {
        let mut ctx = PkeyCtx::new(recipient).map_err(|_| SamlError::Encryption)?;
        ctx.encrypt_init().map_err(|_| SamlError::Encryption)?;
        ctx.set_rsa_padding(Padding::PKCS1_OAEP).map_err(|_| SamlError::Encryption)?;
        let mut out = Vec::new();
        ctx.encrypt_to_vec(&key, &mut out).map_err(|_| SamlError::Encryption)?;
        out
    };
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    Ok(format!(
        concat!(
            r#"<saml:EncryptedAssertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">"#,
            r#"<xenc:EncryptedData xmlns:xenc="{xenc}" Type="{element}">"#,
            r#"<xenc:EncryptionMethod Algorithm="{method}"></xenc:EncryptionMethod>"#,
            r#"<ds:KeyInfo xmlns:ds="{ds}"><xenc:EncryptedKey>"#,
            r#"<xenc:EncryptionMethod Algorithm="{transport}"><ds:DigestMethod Algorithm="{sha1}"></ds:DigestMethod>"#,
            r#"</xenc:EncryptionMethod>"#,
            r#"<xenc:CipherData><xenc:CipherValue>{key}</xenc:CipherValue></xenc:CipherData>"#,
            r#"</xenc:EncryptedKey></ds:KeyInfo>"#,
            r#"<xenc:CipherData><xenc:CipherValue>{data}</xenc:CipherValue></xenc:CipherData>"#,
            r#"</xenc:EncryptedData></saml:EncryptedAssertion>"#
        ),
        xenc = XENC_NS,
        element = ELEMENT_TYPE,
        method = method.uri(),
        ds = DSIG_NS,
        transport = RSA_OAEP_MGF1P,
        sha1 = SHA1,
        key = b64(&wrapped),
        data = b64(&data),
    ))
}

/// The key of a certificate, for `seal`.
pub fn certificate_key(der: &[u8]) -> Option<PKey<Public>> {
    let cert = openssl::x509::X509::from_der(der).ok()?;
    let key = cert.public_key().ok()?;
    (key.id() == openssl::pkey::Id::RSA).then_some(key)
}

/// A private key that may decrypt assertions: RSA (OAEP is the only key
/// transport), 2048 bits or more, unencrypted PEM (PKCS#8 or PKCS#1).
pub fn decryption_key(pem: &str) -> Result<PKey<Private>, &'static str> {
    // With a passphrase given, OpenSSL never prompts a terminal for one.
    let key = PKey::private_key_from_pem_passphrase(pem.as_bytes(), b"")
        .map_err(|_| "not an unencrypted PEM private key")?;
    let rsa = key.rsa().map_err(|_| "not an RSA key")?;
    if rsa.size() < 256 {
        return Err("an RSA key of at least 2048 bits is required");
    }
    Ok(key)
}
