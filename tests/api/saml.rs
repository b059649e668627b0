//! AssumeRoleWithSAML: a genuine signed response from a test IdP is exchanged
//! for credentials; every attack is built from such a response and refused
//! with no credentials issued.
use crate::helpers::*;
use crate::test_idp::{attribute, Addressing, TestIdp};
use chrono::Duration;
use samael::attribute::Attribute;
use samael::schema::{Response, Status, StatusCode};
use samael::signature::Signature;

pub(crate) const PROVIDER: &str = "arn:aws:iam::111122223333:saml-provider/Corp";
pub(crate) const ROLE: &str = "arn:aws:iam::111122223333:role/SamlDev";
const ACS: &str = "http://127.0.0.1:8080/saml/acs";
const SP_ENTITY: &str = "http://127.0.0.1:8080/saml/metadata";
pub(crate) const TO: Addressing<'static> =
    Addressing { acs: ACS, sp_entity: SP_ENTITY, role: ROLE, provider: PROVIDER };

fn set_attributes(r: &mut Response, attrs: Vec<Attribute>) {
    r.assertion.as_mut().unwrap().attribute_statements.as_mut().unwrap()[0].attributes = attrs;
}

/// Moves the signature from the Response to the Assertion.
pub(crate) fn sign_assertion_instead(r: &mut Response, idp: &TestIdp) {
    r.signature = None;
    let a = r.assertion.as_mut().unwrap();
    a.signature = Some(Signature::template(&a.id, &idp.cert()));
}

async fn setup_with_trust(trust_condition: &str) -> (TestApp, TestIdp) {
    let app = spawn_app().await;
    let idp = TestIdp::new("https://idp.corp.test/saml");
    app.admin(&[
        ("Action", "CreateSAMLProvider"),
        ("Name", "Corp"),
        ("SAMLMetadataDocument", &pad(&idp.metadata())),
    ])
    .await
    .ok();
    let trust = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Federated":"{PROVIDER}"}},"Action":["sts:AssumeRoleWithSAML","sts:TagSession","sts:SetSourceIdentity"]{trust_condition}}}]}}"#
    );
    app.admin(&[
        ("Action", "CreateRole"),
        ("RoleName", "SamlDev"),
        ("AssumeRolePolicyDocument", &trust),
        ("MaxSessionDuration", "7200"),
    ])
    .await
    .ok();
    app.admin(&[
        ("Action", "PutRolePolicy"),
        ("RoleName", "SamlDev"),
        ("PolicyName", "list"),
        ("PolicyDocument", r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:List*","Resource":"*"}]}"#),
    ])
    .await
    .ok();
    (app, idp)
}

pub(crate) async fn setup() -> (TestApp, TestIdp) {
    setup_with_trust(&format!(r#","Condition":{{"StringEquals":{{"SAML:aud":"{ACS}"}}}}"#)).await
}

/// Metadata must be at least 1000 characters, as on AWS.
pub(crate) fn pad(metadata: &str) -> String {
    metadata.replacen("><md:IDPSSODescriptor", &format!(" {}><md:IDPSSODescriptor", " ".repeat(1000)), 1)
}

pub(crate) async fn exchange_with(
    app: &TestApp,
    xml: &str,
    role: &str,
    provider: &str,
    extra: &[(&str, &str)],
) -> Reply {
    let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, xml);
    let mut pairs = vec![
        ("Version", "2011-06-15"),
        ("Action", "AssumeRoleWithSAML"),
        ("RoleArn", role),
        ("PrincipalArn", provider),
        ("SAMLAssertion", &b64),
    ];
    pairs.extend_from_slice(extra);
    app.raw(&form(&pairs), &[]).await
}

pub(crate) async fn exchange(app: &TestApp, xml: &str) -> Reply {
    exchange_with(app, xml, ROLE, PROVIDER, &[]).await
}

/// Refused, with no credentials in the answer and no echo of the assertion.
#[track_caller]
pub(crate) fn refused(r: &Reply, status: u16, code: &str) {
    r.err(status, code);
    assert!(!r.body.contains("SessionToken") && !r.body.contains("alice"), "{}", r.body);
}

#[tokio::test]
async fn a_signed_response_buys_working_credentials() {
    let (app, idp) = setup().await;
    let xml = idp.response(&TO, epoch(), |_| {});
    let r = exchange(&app, &xml).await;
    r.ok();
    assert_eq!(r.text("Arn").as_deref(), Some("arn:aws:sts::111122223333:assumed-role/SamlDev/alice"));
    assert_eq!(r.text("Subject").as_deref(), Some("alice"));
    assert_eq!(r.text("SubjectType").as_deref(), Some("unspecified"));
    assert_eq!(r.text("Issuer").as_deref(), Some("https://idp.corp.test/saml"));
    assert_eq!(r.text("Audience").as_deref(), Some(ACS));
    assert_eq!(r.text("Expiration").as_deref(), Some("2026-11-27T13:00:00Z"));
    let creds = Keys::from_credentials(&r);
    let me = app.sts(&creds, &[("Action", "GetCallerIdentity")]).await;
    assert_eq!(me.text("Arn").as_deref(), Some("arn:aws:sts::111122223333:assumed-role/SamlDev/alice"));
    app.iam(&creds, &[("Action", "ListUsers")]).await.ok();
    app.iam(&creds, &[("Action", "CreateUser"), ("UserName", "x")]).await.err(403, "AccessDenied");
    // An assertion signed on the Assertion alone is accepted too.
    let signed_assertion = idp.response(&TO, epoch(), |r| sign_assertion_instead(r, &idp));
    exchange(&app, &signed_assertion).await.ok();
}

#[tokio::test]
async fn a_response_is_accepted_once() {
    let (app, idp) = setup().await;
    let xml = idp.response(&TO, epoch(), |_| {});
    exchange(&app, &xml).await.ok();
    refused(&exchange(&app, &xml).await, 400, "InvalidIdentityToken");
}

#[tokio::test]
async fn s01_unsigned_or_altered_responses_are_refused() {
    let (app, idp) = setup().await;
    let xml = idp.response(&TO, epoch(), |_| {});
    let start = xml.find("<ds:Signature").unwrap();
    let end = xml.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
    let stripped = format!("{}{}", &xml[..start], &xml[end..]);
    refused(&exchange(&app, &stripped).await, 400, "InvalidIdentityToken");
    let empty_value = regex_replace(&xml, "<ds:SignatureValue>", "</ds:SignatureValue>", "");
    refused(&exchange(&app, &empty_value).await, 400, "InvalidIdentityToken");
    let admin = xml.replace(">alice<", ">admin<");
    assert_ne!(admin, xml);
    refused(&exchange(&app, &admin).await, 400, "InvalidIdentityToken");
}

/// Replaces the text between `open` and `close` (first occurrence).
fn regex_replace(s: &str, open: &str, close: &str, with: &str) -> String {
    let a = s.find(open).unwrap() + open.len();
    let b = a + s[a..].find(close).unwrap();
    format!("{}{with}{}", &s[..a], &s[b..])
}

#[tokio::test]
async fn s02_s03_only_the_providers_own_keys_verify() {
    let (app, idp) = setup().await;
    // Re-signed by an attacker who embeds their own certificate.
    let attacker = TestIdp::new("https://idp.corp.test/saml");
    let forged = idp.response_signed_by(&attacker, &TO, epoch(), |_| {});
    assert!(forged.contains("X509Certificate"));
    refused(&exchange(&app, &forged).await, 400, "InvalidIdentityToken");
    // A second trusted provider's key does not vouch for the first one's Issuer.
    let other = TestIdp::new("https://idp.other.test/saml");
    app.admin(&[
        ("Action", "CreateSAMLProvider"),
        ("Name", "Other"),
        ("SAMLMetadataDocument", &pad(&other.metadata())),
    ])
    .await
    .ok();
    let cross = idp.response_signed_by(&other, &TO, epoch(), |_| {});
    refused(&exchange(&app, &cross).await, 400, "InvalidIdentityToken");
    // The other provider's genuine response, presented as Corp's.
    let genuine_other = other.response(&TO, epoch(), |_| {});
    refused(&exchange(&app, &genuine_other).await, 400, "InvalidIdentityToken");
}

#[tokio::test]
async fn s04_s06_wrapped_and_extra_assertions_are_refused() {
    let (app, idp) = setup().await;
    // XSW3: an evil unsigned Assertion placed before the signed one.
    let signed = idp.response(&TO, epoch(), |r| sign_assertion_instead(r, &idp));
    let a_start = signed.find("<saml2:Assertion").unwrap();
    let a_end = signed.find("</saml2:Assertion>").unwrap() + "</saml2:Assertion>".len();
    let original = &signed[a_start..a_end];
    let sig_start = original.find("<ds:Signature").unwrap();
    let sig_end = original.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
    let evil = format!("{}{}", &original[..sig_start], &original[sig_end..])
        .replace(">alice<", ">admin<")
        .replacen("ID=\"", "ID=\"evil", 1);
    let xsw3 = format!("{}{evil}{}", &signed[..a_start], &signed[a_start..]);
    refused(&exchange(&app, &xsw3).await, 400, "InvalidIdentityToken");
    // XSW4: the signed assertion moved inside the evil one.
    let evil_open_end = evil.find("</saml2:Assertion>").unwrap();
    let xsw4 = format!(
        "{}{}{original}</saml:Assertion>{}",
        &signed[..a_start],
        &evil[..evil_open_end],
        &signed[a_end..]
    );
    refused(&exchange(&app, &xsw4).await, 400, "InvalidIdentityToken");
    // A Response-signed message with a second, unsigned assertion appended.
    let response_signed = idp.response(&TO, epoch(), |_| {});
    let at = response_signed.find("</saml2p:Response>").unwrap();
    let two = format!("{}{evil}{}", &response_signed[..at], &response_signed[at..]);
    refused(&exchange(&app, &two).await, 400, "InvalidIdentityToken");
}

#[tokio::test]
async fn s14_weak_algorithms_are_refused() {
    let (app, idp) = setup().await;
    // A response signed with RSA-SHA1 and a SHA-1 digest by the genuine key.
    let sha1_signed = || {
        let sha1 = idp.response(&TO, epoch(), |_| {});
        let s = sha1.find("<ds:SignatureValue>").unwrap() + "<ds:SignatureValue>".len();
        let e = sha1.find("</ds:SignatureValue>").unwrap();
        let mut t = format!("{}{}", &sha1[..s], &sha1[e..]);
        t = regex_replace(&t, "<ds:DigestValue>", "</ds:DigestValue>", "");
        let unsigned = t
            .replace(
                "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
                "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
            )
            .replace("http://www.w3.org/2001/04/xmlenc#sha256", "http://www.w3.org/2000/09/xmldsig#sha1");
        let resigned = idp.sign(unsigned);
        assert!(resigned.contains("xmldsig#rsa-sha1"));
        resigned
    };
    let resigned = sha1_signed();
    refused(&exchange(&app, &resigned).await, 400, "InvalidIdentityToken");

    // A provider whose IdP cannot do better is allowed SHA-1 explicitly, by a
    // tag; "false" (or no tag) holds it to SHA-2 again.
    let tag = |value: &'static str| {
        let app = &app;
        async move {
            app.admin(&[
                ("Action", "TagSAMLProvider"),
                ("SAMLProviderArn", PROVIDER),
                ("Tags.member.1.Key", "idbroker:AllowSHA1Signatures"),
                ("Tags.member.1.Value", value),
            ])
            .await
        }
    };
    tag("true").await.ok();
    exchange(&app, &resigned).await.ok();
    tag("false").await.ok();
    refused(&exchange(&app, &sha1_signed()).await, 400, "InvalidIdentityToken");
}

#[tokio::test]
async fn s15_s16_s17_parser_tricks_are_refused() {
    let (app, idp) = setup().await;
    // The IdP signs a NameID the attacker owns; a comment splits it afterwards.
    let xml = idp.response(&TO, epoch(), |r| {
        r.assertion.as_mut().unwrap().subject.as_mut().unwrap().name_id.as_mut().unwrap().value =
            "admin@corp.test.evil.test".into();
    });
    let split = xml.replace("admin@corp.test.evil.test", "admin@corp.test<!---->.evil.test");
    refused(&exchange(&app, &split).await, 400, "InvalidIdentityToken");
    let genuine = idp.response(&TO, epoch(), |_| {});
    // Comments are refused anywhere, not only where they split a value.
    let commented = genuine.replacen("</saml2:Subject>", "<!-- note --></saml2:Subject>", 1);
    assert_ne!(commented, genuine);
    refused(&exchange(&app, &commented).await, 400, "InvalidIdentityToken");
    let doctype = format!("<!DOCTYPE r [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>{genuine}");
    refused(&exchange(&app, &doctype).await, 400, "InvalidIdentityToken");
    let pi = genuine.replacen("<saml2:Assertion", "<?x y?><saml:Assertion", 1);
    refused(&exchange(&app, &pi).await, 400, "InvalidIdentityToken");
    let trailing = format!("{genuine}<saml2p:Response/>");
    refused(&exchange(&app, &trailing).await, 400, "InvalidIdentityToken");
    let undefined_entity = genuine.replacen(">alice<", ">&evil;<", 1);
    refused(&exchange(&app, &undefined_entity).await, 400, "InvalidIdentityToken");
    let billion = format!(
        "<!DOCTYPE l [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">]>{genuine}"
    );
    refused(&exchange(&app, &billion).await, 400, "InvalidIdentityToken");
    // Deeply nested junk is refused quickly, and the service stays up.
    let deep = genuine.replacen(
        "<saml2:Assertion",
        &format!("{}{}<saml:Assertion", "<x>".repeat(5000), "</x>".repeat(5000)),
        1,
    );
    refused(&exchange(&app, &deep).await, 400, "InvalidIdentityToken");
    exchange(&app, &genuine).await.ok();
}

#[tokio::test]
async fn p01_to_p06_protocol_checks() {
    let (app, idp) = setup().await;
    let now = epoch();
    type Edit = Box<dyn FnOnce(&mut Response)>;
    let cases: Vec<(&str, Edit)> = vec![
        (
            "status",
            Box::new(|r: &mut Response| {
                r.status = Some(Status {
                    status_code: StatusCode {
                        value: Some("urn:oasis:names:tc:SAML:2.0:status:Responder".into()),
                    },
                    status_message: None,
                    status_detail: None,
                })
            }),
        ),
        (
            "destination",
            Box::new(|r: &mut Response| r.destination = Some("https://evil.test/saml/acs".into())),
        ),
        (
            "response issuer",
            Box::new(|r: &mut Response| r.issuer.as_mut().unwrap().value = Some("https://evil.test".into())),
        ),
        (
            "assertion issuer",
            Box::new(|r: &mut Response| {
                r.assertion.as_mut().unwrap().issuer.value = Some("https://evil.test".into())
            }),
        ),
        (
            "audience",
            Box::new(|r: &mut Response| {
                r.assertion
                    .as_mut()
                    .unwrap()
                    .conditions
                    .as_mut()
                    .unwrap()
                    .audience_restrictions
                    .as_mut()
                    .unwrap()[0]
                    .audience = vec!["urn:amazon:webservices".into()]
            }),
        ),
        (
            "no audience restriction",
            Box::new(|r: &mut Response| {
                r.assertion.as_mut().unwrap().conditions.as_mut().unwrap().audience_restrictions = None
            }),
        ),
        (
            "recipient",
            Box::new(|r: &mut Response| {
                let a = r.assertion.as_mut().unwrap();
                a.subject.as_mut().unwrap().subject_confirmations.as_mut().unwrap()[0]
                    .subject_confirmation_data
                    .as_mut()
                    .unwrap()
                    .recipient = Some("https://signin.aws.amazon.com/saml".into())
            }),
        ),
        (
            "not bearer",
            Box::new(|r: &mut Response| {
                r.assertion
                    .as_mut()
                    .unwrap()
                    .subject
                    .as_mut()
                    .unwrap()
                    .subject_confirmations
                    .as_mut()
                    .unwrap()[0]
                    .method = Some("urn:oasis:names:tc:SAML:2.0:cm:sender-vouches".into())
            }),
        ),
        (
            "empty name id",
            Box::new(|r: &mut Response| {
                r.assertion.as_mut().unwrap().subject.as_mut().unwrap().name_id.as_mut().unwrap().value =
                    " ".into()
            }),
        ),
    ];
    for (what, edit) in cases {
        let xml = idp.response(&TO, now, edit);
        let r = exchange(&app, &xml).await;
        assert_eq!(
            (r.status, r.code().as_deref()),
            (400, Some("InvalidIdentityToken")),
            "{what}: {}",
            r.body
        );
    }
}

#[tokio::test]
async fn p09_time_windows_use_the_clock() {
    let (app, idp) = setup().await;
    let now = epoch();
    let xml = idp.response(&TO, now, |_| {});
    // NotOnOrAfter is now+300 s; with 120 s of skew the assertion dies at now+420 s.
    app.clock.advance(Duration::seconds(420));
    refused(&exchange(&app, &xml).await, 400, "ExpiredTokenException");
    let future = idp.response(&TO, epoch() + Duration::seconds(420 + 600), |_| {});
    refused(&exchange(&app, &future).await, 400, "ExpiredTokenException");
    let not_yet = idp.response(&TO, epoch() + Duration::seconds(420), |r| {
        r.assertion.as_mut().unwrap().conditions.as_mut().unwrap().not_before =
            Some(epoch() + Duration::seconds(420 + 300));
    });
    refused(&exchange(&app, &not_yet).await, 400, "InvalidIdentityToken");
    let session_over = idp.response(&TO, epoch() + Duration::seconds(420), |r| {
        r.assertion.as_mut().unwrap().authn_statements.as_mut().unwrap()[0].session_not_on_or_after =
            Some(epoch() + Duration::seconds(400));
    });
    refused(&exchange(&app, &session_over).await, 400, "ExpiredTokenException");
    let fresh = idp.response(&TO, epoch() + Duration::seconds(420), |_| {});
    exchange(&app, &fresh).await.ok();
}

#[tokio::test]
async fn t09_p12_the_role_must_be_offered_exactly() {
    let (app, idp) = setup().await;
    let now = epoch();
    for value in [
        format!("{ROLE} ,{PROVIDER}"),
        format!("{},{PROVIDER}", ROLE.to_lowercase()),
        format!("{ROLE},arn:aws:iam::111122223333:saml-provider/Other"),
        format!("{ROLE}x,{PROVIDER}"),
    ] {
        let xml = idp.response(&TO, now, |r| {
            set_attributes(r, vec![attribute("Role", &[&value]), attribute("RoleSessionName", &["alice"])])
        });
        refused(&exchange(&app, &xml).await, 403, "AccessDenied");
    }
    // Several roles offered: the one asked for must be among them (either order).
    let xml = idp.response(&TO, now, |r| {
        set_attributes(
            r,
            vec![
                attribute(
                    "Role",
                    &[
                        "arn:aws:iam::111122223333:role/Other,arn:aws:iam::111122223333:saml-provider/Corp",
                        &format!("{PROVIDER},{ROLE}"),
                    ],
                ),
                attribute("RoleSessionName", &["alice"]),
            ],
        )
    });
    exchange(&app, &xml).await.ok();
    // Another provider's ARN as PrincipalArn.
    let xml = idp.response(&TO, now, |_| {});
    refused(
        &exchange_with(&app, &xml, ROLE, "arn:aws:iam::111122223333:saml-provider/Nope", &[]).await,
        400,
        "InvalidIdentityToken",
    );
    for name in ["a", "has space", &"x".repeat(65)] {
        let xml = idp.response(&TO, now, |r| {
            set_attributes(
                r,
                vec![
                    attribute("Role", &[&format!("{ROLE},{PROVIDER}")]),
                    attribute("RoleSessionName", &[name]),
                ],
            )
        });
        refused(&exchange(&app, &xml).await, 400, "InvalidIdentityToken");
    }
    let xml = idp
        .response(&TO, now, |r| set_attributes(r, vec![attribute("Role", &[&format!("{ROLE},{PROVIDER}")])]));
    refused(&exchange(&app, &xml).await, 400, "InvalidIdentityToken");
    let big = "x".repeat(100_001);
    app.raw(
        &form(&[
            ("Version", "2011-06-15"),
            ("Action", "AssumeRoleWithSAML"),
            ("RoleArn", ROLE),
            ("PrincipalArn", PROVIDER),
            ("SAMLAssertion", &big),
        ]),
        &[],
    )
    .await
    .err(400, "ValidationError");
}

#[tokio::test]
async fn durations_take_the_earliest_limit() {
    let (app, idp) = setup().await;
    let now = epoch();
    let with_duration = |secs: &'static str| {
        idp.response(&TO, now, move |r| {
            set_attributes(
                r,
                vec![
                    attribute("Role", &[&format!("{ROLE},{PROVIDER}")]),
                    attribute("RoleSessionName", &["alice"]),
                    attribute("SessionDuration", &[secs]),
                ],
            )
        })
    };
    let r = exchange_with(&app, &with_duration("1800"), ROLE, PROVIDER, &[("DurationSeconds", "7200")]).await;
    assert_eq!(r.text("Expiration").as_deref(), Some("2026-11-27T12:30:00Z"), "{}", r.body);
    let r =
        exchange_with(&app, &idp.response(&TO, now, |_| {}), ROLE, PROVIDER, &[("DurationSeconds", "7201")])
            .await;
    refused(&r, 400, "ValidationError");
    let r = exchange_with(&app, &with_duration("100"), ROLE, PROVIDER, &[]).await;
    refused(&r, 400, "InvalidIdentityToken");
}

#[tokio::test]
async fn the_trust_policy_sees_the_saml_keys() {
    let (app, idp) = setup_with_trust(r#","Condition":{"StringEquals":{"SAML:sub":"bob"}}"#).await;
    refused(&exchange(&app, &idp.response(&TO, epoch(), |_| {})).await, 403, "AccessDenied");
    let bob = idp.response(&TO, epoch(), |r| {
        r.assertion.as_mut().unwrap().subject.as_mut().unwrap().name_id.as_mut().unwrap().value =
            "bob".into();
    });
    exchange(&app, &bob).await.ok();
}

#[tokio::test]
async fn rejections_are_audited_with_the_failed_check() {
    let (app, idp) = setup().await;
    let xml = idp.response(&TO, epoch(), |_| {}).replace(">alice<", ">admin<");
    refused(&exchange(&app, &xml).await, 400, "InvalidIdentityToken");
    let store = idbroker::store::Store::connect(&app.settings.database.url, 1).await.unwrap();
    let mut found = None;
    for _ in 0..50 {
        let events = store.recent_audit_events(10).await.unwrap();
        found = events.into_iter().find(|e| e.contains("AssumeRoleWithSAML"));
        if found.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    store.close().await;
    let event: serde_json::Value = serde_json::from_str(&found.unwrap()).unwrap();
    assert_eq!(event["errorCode"], "InvalidIdentityToken");
    assert_eq!(event["additionalEventData"]["failedCheck"], "signature");
    // The principal the assertion claimed, marked as not verified.
    assert_eq!(event["userIdentity"]["userName"], "admin");
    assert_eq!(event["userIdentity"]["issuer"], "https://idp.corp.test/saml");
    assert_eq!(event["userIdentity"]["roleSessionName"], "admin");
    assert_eq!(event["userIdentity"]["identityProvider"], PROVIDER);
    assert_eq!(event["userIdentity"]["verified"], false);
    assert_eq!(event["requestParameters"]["SAMLAssertion"], "HIDDEN_DUE_TO_SECURITY_REASONS");
}

/// A second node of `app`: the same database and key folder, its own port.
/// Its base URL.
pub(crate) async fn second_node(app: &TestApp) -> String {
    let clock = std::sync::Arc::new(app.clock.clone());
    let node = idbroker::startup::Application::build(&app.settings, clock).await.unwrap();
    let url = format!("http://127.0.0.1:{}", node.port());
    tokio::spawn(node.run());
    url
}

/// `exchange`, sent to the node at `base`: the status and the body.
pub(crate) async fn exchange_on(app: &TestApp, base: &str, xml: &str) -> (u16, String) {
    let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, xml);
    let body = form(&[
        ("Version", "2011-06-15"),
        ("Action", "AssumeRoleWithSAML"),
        ("RoleArn", ROLE),
        ("PrincipalArn", PROVIDER),
        ("SAMLAssertion", &b64),
    ]);
    let r = app
        .client
        .post(base)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test]
async fn p10_replay_is_refused_on_a_second_node() {
    let (app, idp) = setup().await;
    let node2_url = second_node(&app).await;
    let xml = idp.response(&TO, epoch(), |_| {});
    let r = exchange(&app, &xml).await;
    r.ok();
    let (status, body) = exchange_on(&app, &node2_url, &xml).await;
    assert_eq!(status, 400);
    assert!(body.contains("InvalidIdentityToken"));
    // Credentials issued by node 1 verify on node 2 without any shared state but the keys.
    let creds = Keys::from_credentials(&r);
    let whoami = form(&[("Version", "2011-06-15"), ("Action", "GetCallerIdentity")]);
    let (authorization, date) = app.sign("sts", &creds, &whoami, 0);
    let me = app
        .client
        .post(&node2_url)
        .header("content-type", "application/x-www-form-urlencoded; charset=utf-8")
        .header("host", app.host.clone())
        .header("authorization", authorization)
        .header("x-amz-date", date)
        .header("x-amz-security-token", creds.token.clone().unwrap())
        .body(whoami)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status().as_u16(), 200);
}

/// The replay cache's one statement: an id is taken once; a live entry
/// refuses it; once its entry has expired, the id can be taken again.
#[tokio::test]
async fn the_replay_cache_takes_an_id_once_until_it_expires() {
    let app = spawn_app().await;
    let store = idbroker::store::Store::connect(&app.settings.database.url, 2).await.unwrap();
    // Times after the app's clock, so its sweeper (which forgets entries
    // expired by then) leaves these alone.
    let t0 = epoch().timestamp() + 3600;
    let using = |now: i64, expires_at: i64| idbroker::store::AssertionUse {
        issuer: "https://idp.test".into(),
        assertion_id: "_a1".into(),
        expires_at: t0 + expires_at,
        now: t0 + now,
    };
    assert!(store.record_assertion_use(using(100, 200)).await.unwrap());
    assert!(!store.record_assertion_use(using(150, 300)).await.unwrap(), "live entry");
    assert!(!store.record_assertion_use(using(200, 300)).await.unwrap(), "live until its expiry");
    assert!(store.record_assertion_use(using(201, 400)).await.unwrap(), "expired entry");
    assert!(!store.record_assertion_use(using(250, 500)).await.unwrap(), "taken again");
}

/// A refused role answers one AccessDenied for every case, and the audit
/// names the case: the assertion does not offer the role, the role is
/// missing, or its trust policy refuses.
#[tokio::test]
async fn a_refused_role_is_audited_with_its_reason() {
    let (app, idp) = setup().await;
    let ghost = "arn:aws:iam::111122223333:role/Ghost";
    app.admin(&[
        ("Action", "CreateRole"),
        ("RoleName", "Closed"),
        ("AssumeRolePolicyDocument", r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"sts:AssumeRoleWithSAML"}]}"#),
    ])
    .await
    .ok();
    let closed = "arn:aws:iam::111122223333:role/Closed";
    let offering = |roles: Vec<String>| {
        idp.response(&TO, epoch(), move |r| {
            let offered: Vec<&str> = roles.iter().map(String::as_str).collect();
            set_attributes(r, vec![attribute("Role", &offered), attribute("RoleSessionName", &["alice"])])
        })
    };
    let cases = [
        (offering(vec![format!("{ROLE},{PROVIDER}")]), ghost, "role", "role-not-offered"),
        (offering(vec![format!("{ghost},{PROVIDER}")]), ghost, "role", "role-missing"),
        (offering(vec![format!("{closed},{PROVIDER}")]), closed, "trust-policy", "trust-policy"),
    ];
    let mut bodies = Vec::new();
    for (xml, role, check, reason) in cases {
        let r = exchange_with(&app, &xml, role, PROVIDER, &[]).await;
        refused(&r, 403, "AccessDenied");
        bodies.push(r.body.split("<RequestId>").next().unwrap().to_owned());
        let event = app
            .audit_event(|e| {
                e["eventName"] == "AssumeRoleWithSAML" && e["additionalEventData"]["reason"] == reason
            })
            .await;
        assert_eq!(event["additionalEventData"]["failedCheck"], check);
        assert_eq!(event["requestParameters"]["RoleArn"], role);
    }
    assert!(bodies.iter().all(|b| *b == bodies[0]), "{bodies:?}");
}
