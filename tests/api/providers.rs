//! SAML providers: metadata is checked before it is trusted.
use crate::helpers::*;
use crate::test_idp::TestIdp;

/// A self-signed certificate for a fresh RSA key of `bits`, base64 DER.
fn certificate(bits: u32) -> String {
    TestIdp::with_key_bits("test idp", bits).cert_base64()
}

fn metadata(cert: &str, extra_attr: &str) -> String {
    format!(
        r#"<?xml version="1.0"?>
<!-- {padding} -->
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="https://idp.example.com/saml"{extra_attr}>
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.com/sso"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>"#,
        padding = "AWS wants at least 1000 characters of metadata. ".repeat(21)
    )
}

const BUILTIN: &str = "arn:aws:iam::111122223333:saml-provider/idbroker";
const ARN: &str = "arn:aws:iam::111122223333:saml-provider/Corp";

#[tokio::test]
async fn provider_life_cycle() {
    let app = spawn_app().await;
    let good = metadata(&certificate(2048), "");
    let r = app
        .admin(&[("Action", "CreateSAMLProvider"), ("Name", "Corp"), ("SAMLMetadataDocument", &good)])
        .await;
    r.ok();
    assert_eq!(r.text("SAMLProviderArn").as_deref(), Some(ARN));
    app.admin(&[("Action", "CreateSAMLProvider"), ("Name", "Corp"), ("SAMLMetadataDocument", &good)])
        .await
        .err(409, "EntityAlreadyExists");
    let r = app.admin(&[("Action", "GetSAMLProvider"), ("SAMLProviderArn", ARN)]).await;
    r.ok();
    assert!(r.text("SAMLMetadataDocument").unwrap().contains("idp.example.com"));
    let r = app.admin(&[("Action", "ListSAMLProviders")]).await;
    // Every account also has the built-in IdP's provider.
    assert_eq!(r.all("Arn"), vec![ARN, BUILTIN]);
    let newer = metadata(&certificate(2048), r#" validUntil="2030-01-01T00:00:00Z""#);
    app.admin(&[
        ("Action", "UpdateSAMLProvider"),
        ("SAMLProviderArn", ARN),
        ("SAMLMetadataDocument", &newer),
    ])
    .await
    .ok();
    let r = app.admin(&[("Action", "GetSAMLProvider"), ("SAMLProviderArn", ARN)]).await;
    assert_eq!(r.text("ValidUntil").as_deref(), Some("2030-01-01T00:00:00Z"));
    app.admin(&[
        ("Action", "TagSAMLProvider"),
        ("SAMLProviderArn", ARN),
        ("Tags.member.1.Key", "env"),
        ("Tags.member.1.Value", "prod"),
    ])
    .await
    .ok();
    // A misspelt idbroker switch is refused, not stored to do nothing.
    let switch = |key: &'static str| {
        [
            ("Action", "TagSAMLProvider"),
            ("SAMLProviderArn", ARN),
            ("Tags.member.1.Key", key),
            ("Tags.member.1.Value", "true"),
        ]
    };
    let r = app.admin(&switch("idbroker:RequireSPInitated")).await;
    r.err(400, "InvalidInput");
    assert!(r.body.contains("idbroker:RequireSPInitiated"), "{}", r.body);
    app.admin(&switch("idbroker:RequireSPInitiated")).await.ok();
    let r = app.admin(&[("Action", "ListSAMLProviderTags"), ("SAMLProviderArn", ARN)]).await;
    assert_eq!(r.all("Key"), vec!["env", "idbroker:RequireSPInitiated"]);
    app.admin(&[("Action", "DeleteSAMLProvider"), ("SAMLProviderArn", ARN)]).await.ok();
    app.admin(&[("Action", "GetSAMLProvider"), ("SAMLProviderArn", ARN)]).await.err(404, "NoSuchEntity");
}

#[tokio::test]
async fn untrustworthy_metadata_is_refused_with_the_reason() {
    let app = spawn_app().await;
    let cert = certificate(2048);
    let full = metadata(&cert, "");
    let no_idp = format!(
        "{}{}",
        &full[..full.find("<md:IDPSSODescriptor").unwrap()],
        &full[full.find("</md:IDPSSODescriptor>").unwrap() + "</md:IDPSSODescriptor>".len()..]
    );
    let no_cert = metadata("", "").replace(
        r#"<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate></ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"#,
        "",
    );
    let encryption_only = metadata(&cert, "").replace(r#"use="signing""#, r#"use="encryption""#);
    let doctype = format!("<!DOCTYPE x [<!ENTITY e \"boom\">]>{}", metadata(&cert, ""));
    let expired = metadata(&cert, r#" validUntil="2020-01-01T00:00:00Z""#);
    let cases = [
        (metadata(&certificate(1024), ""), "RSA 1024"),
        (no_idp, "IDPSSODescriptor"),
        (no_cert, "signing certificate"),
        (encryption_only, "signing certificate"),
        (doctype, "DOCTYPE"),
        (expired, "expired"),
        (metadata("bm90IGEgY2VydA==", "").to_string(), "not valid X.509"),
        (format!("{}<not-xml", "x".repeat(1000)), "not a valid EntityDescriptor"),
    ];
    for (doc, reason) in cases {
        let r = app
            .admin(&[("Action", "CreateSAMLProvider"), ("Name", "Bad"), ("SAMLMetadataDocument", &doc)])
            .await;
        r.err(400, "InvalidInput");
        assert!(r.text("Message").unwrap().contains(reason), "{reason}: {}", r.body);
    }
    app.admin(&[("Action", "CreateSAMLProvider"), ("Name", "Bad"), ("SAMLMetadataDocument", "<short/>")])
        .await
        .err(400, "ValidationError");
    let r = app.admin(&[("Action", "ListSAMLProviders")]).await;
    assert_eq!(r.all("Arn"), vec![BUILTIN]);
}

const KEY_A: &str = include_str!("../keys/encryption/sp-a.key");
const KEY_B: &str = include_str!("../keys/encryption/sp-b.key");

/// AWS's 2025 encryption settings: up to two private keys, never returned,
/// never in the audit record; `Required` needs a key.
#[tokio::test]
async fn private_keys_and_the_encryption_mode() {
    let app = spawn_app().await;
    let doc = metadata(&certificate(2048), "");
    let create = |extra: &'static [(&'static str, &'static str)]| {
        let mut pairs =
            vec![("Action", "CreateSAMLProvider"), ("Name", "Corp"), ("SAMLMetadataDocument", doc.as_str())];
        pairs.extend_from_slice(extra);
        pairs
    };
    app.admin(&create(&[("AssertionEncryptionMode", "Required")])).await.err(400, "InvalidInput");
    app.admin(&create(&[("AssertionEncryptionMode", "Sometimes"), ("AddPrivateKey", KEY_A)]))
        .await
        .err(400, "InvalidInput");
    app.admin(&create(&[(
        "AddPrivateKey",
        "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----",
    )]))
    .await
    .err(400, "InvalidInput");
    app.admin(&create(&[("AssertionEncryptionMode", "Required"), ("AddPrivateKey", KEY_A)])).await.ok();
    let r = app.admin(&[("Action", "GetSAMLProvider"), ("SAMLProviderArn", ARN)]).await;
    assert_eq!(r.text("AssertionEncryptionMode").as_deref(), Some("Required"));
    let first = r.all("KeyId");
    assert_eq!(first.len(), 1);
    assert!(
        (22..=64).contains(&first[0].len())
            && first[0].chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    );
    assert!(r.text("Timestamp").is_some());
    assert!(!r.body.contains("PRIVATE KEY") && !r.body.contains(&KEY_A[40..80]));

    // A second key for a rollover; a third is over the limit.
    update(&app, &[("AddPrivateKey", KEY_B)]).await.ok();
    update(&app, &[("AddPrivateKey", KEY_A)]).await.err(409, "LimitExceeded");
    // Removing a key it does not have, or the last key while Required, is refused.
    update(&app, &[("RemovePrivateKey", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")]).await.err(400, "InvalidInput");
    let r = app.admin(&[("Action", "GetSAMLProvider"), ("SAMLProviderArn", ARN)]).await;
    let both = r.all("KeyId");
    assert_eq!(both.len(), 2);
    update(&app, &[("RemovePrivateKey", &both[0])]).await.ok();
    update(&app, &[("RemovePrivateKey", &both[1])]).await.err(400, "InvalidInput");
    update(&app, &[("RemovePrivateKey", &both[1]), ("AssertionEncryptionMode", "Allowed")]).await.ok();
    let r = app.admin(&[("Action", "GetSAMLProvider"), ("SAMLProviderArn", ARN)]).await;
    assert_eq!(r.text("AssertionEncryptionMode").as_deref(), Some("Allowed"));
    assert!(r.all("KeyId").is_empty());
    // The metadata stays as it was: UpdateSAMLProvider no longer needs it.
    assert!(r.text("SAMLMetadataDocument").unwrap().contains("idp.example.com"));

    // The audit keeps that a key was added, never the key.
    let event = app
        .audit_event(|e| {
            e["eventName"] == "UpdateSAMLProvider" && e["requestParameters"]["AddPrivateKey"].is_string()
        })
        .await;
    assert_eq!(event["requestParameters"]["AddPrivateKey"], "HIDDEN_DUE_TO_SECURITY_REASONS");
}

async fn update(app: &TestApp, pairs: &[(&str, &str)]) -> Reply {
    let mut all = vec![("Action", "UpdateSAMLProvider"), ("SAMLProviderArn", ARN)];
    all.extend_from_slice(pairs);
    app.admin(&all).await
}
