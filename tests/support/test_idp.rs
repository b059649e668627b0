//! A test identity provider: an RSA-2048 key with a self-signed certificate,
//! metadata for it, and baseline SAML Responses signed with samael's signer
//! (xmlsec), for the integration tests and the benchmarks.
use chrono::{DateTime, Duration, Utc};
use openssl::asn1::Asn1Time;
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::rsa::Rsa;
use openssl::x509::{X509Builder, X509NameBuilder};
use samael::attribute::{Attribute, AttributeValue};
use samael::crypto::{CertificateDer, Crypto, CryptoProvider};
use samael::idp::response_builder::build_response_template;
use samael::schema::Response;
use samael::traits::ToXml;

pub const ATTR: &str = "https://aws.amazon.com/SAML/Attributes/";

/// Where the test responses are addressed (the default `server.public_url`).
pub struct Addressing<'a> {
    pub acs: &'a str,
    pub sp_entity: &'a str,
    pub role: &'a str,
    pub provider: &'a str,
}

/// Where responses verified without a server are addressed, and the fixed
/// time they are made and checked at (unit tests, the differential harness).
pub const OFFLINE: Addressing<'static> = Addressing {
    acs: "https://idb.test/saml/acs",
    sp_entity: "https://idb.test/saml/metadata",
    role: "arn:aws:iam::111122223333:role/Dev",
    provider: "arn:aws:iam::111122223333:saml-provider/Corp",
};

pub fn offline_now() -> DateTime<Utc> {
    use chrono::TimeZone;
    Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap()
}

pub struct TestIdp {
    pub entity_id: String,
    key_der: Vec<u8>,
    cert_der: Vec<u8>,
}

impl TestIdp {
    pub fn new(entity_id: &str) -> TestIdp {
        Self::with_key_bits(entity_id, 2048)
    }

    /// An IdP whose RSA key has `bits` bits (weak keys test the metadata checks).
    pub fn with_key_bits(entity_id: &str, bits: u32) -> TestIdp {
        let key = PKey::from_rsa(Rsa::generate(bits).unwrap()).unwrap();
        let mut name = X509NameBuilder::new().unwrap();
        name.append_entry_by_text("CN", entity_id).unwrap();
        let name = name.build();
        let mut b = X509Builder::new().unwrap();
        b.set_version(2).unwrap();
        b.set_subject_name(&name).unwrap();
        b.set_issuer_name(&name).unwrap();
        b.set_pubkey(&key).unwrap();
        b.set_not_before(&Asn1Time::days_from_now(0).unwrap()).unwrap();
        b.set_not_after(&Asn1Time::days_from_now(30).unwrap()).unwrap();
        b.sign(&key, MessageDigest::sha256()).unwrap();
        TestIdp {
            entity_id: entity_id.to_owned(),
            key_der: key.private_key_to_der().unwrap(),
            cert_der: b.build().to_der().unwrap(),
        }
    }

    pub fn metadata(&self) -> String {
        let cert = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &self.cert_der);
        format!(
            r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{}"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor><md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://idp.test/sso"/></md:IDPSSODescriptor></md:EntityDescriptor>"#,
            self.entity_id
        )
    }

    /// A baseline response for `now`, changed by `edit`, then signed (Response
    /// signature unless `edit` moves it to the Assertion) with `signer`'s key.
    pub fn response_signed_by(
        &self,
        signer: &TestIdp,
        to: &Addressing<'_>,
        now: DateTime<Utc>,
        edit: impl FnOnce(&mut Response),
    ) -> String {
        let cert = CertificateDer::from(signer.cert_der.clone());
        let mut r = build_response_template(&cert, "alice", to.sp_entity, &self.entity_id, to.acs, "", &[]);
        r.in_response_to = None;
        r.issue_instant = now;
        let a = r.assertion.as_mut().unwrap();
        a.issue_instant = now;
        let cond = a.conditions.as_mut().unwrap();
        cond.not_before = Some(now - Duration::seconds(60));
        cond.not_on_or_after = Some(now + Duration::seconds(300));
        let sc = &mut a.subject.as_mut().unwrap().subject_confirmations.as_mut().unwrap()[0];
        let data = sc.subject_confirmation_data.as_mut().unwrap();
        data.not_on_or_after = Some(now + Duration::seconds(300));
        data.in_response_to = None;
        a.attribute_statements.as_mut().unwrap()[0].attributes = vec![
            attribute("Role", &[&format!("{},{}", to.role, to.provider)]),
            attribute("RoleSessionName", &["alice"]),
        ];
        edit(&mut r);
        let xml = r
            .to_string()
            .unwrap()
            .replace("http://www.w3.org/2000/09/xmldsig#sha1", "http://www.w3.org/2001/04/xmlenc#sha256");
        Crypto::sign_xml(xml, &signer.key_der).unwrap()
    }

    pub fn response(
        &self,
        to: &Addressing<'_>,
        now: DateTime<Utc>,
        edit: impl FnOnce(&mut Response),
    ) -> String {
        self.response_signed_by(self, to, now, edit)
    }

    /// Signs a document holding a signature template with this IdP's key.
    pub fn sign(&self, xml: String) -> String {
        Crypto::sign_xml(xml, &self.key_der).unwrap()
    }

    /// A signed response (one signature) emptied of its signature values,
    /// changed by `edit`, and signed again with this key, as the IdP would
    /// sign such a document.
    pub fn resign(&self, xml: &str, edit: impl Fn(&str) -> String) -> String {
        let emptied = |x: &str, open: &str, close: &str| {
            let start = x.find(open).expect("a signature value") + open.len();
            let end = start + x[start..].find(close).expect("its end");
            format!("{}{}", &x[..start], &x[end..])
        };
        let template = emptied(xml, "<ds:SignatureValue>", "</ds:SignatureValue>");
        self.sign(edit(&emptied(&template, "<ds:DigestValue>", "</ds:DigestValue>")))
    }

    /// The certificate, base64 DER as metadata carries it.
    pub fn cert_base64(&self) -> String {
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &self.cert_der)
    }

    pub fn cert(&self) -> CertificateDer {
        CertificateDer::from(self.cert_der.clone())
    }
}

pub fn attribute(name: &str, values: &[&str]) -> Attribute {
    Attribute {
        friendly_name: None,
        name: Some(format!("{ATTR}{name}")),
        name_format: None,
        values: values
            .iter()
            .map(|v| AttributeValue { attribute_type: Some("xs:string".into()), value: Some(v.to_string()) })
            .collect(),
    }
}
