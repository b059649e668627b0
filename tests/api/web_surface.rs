//! The browser-facing surface: the built-in IdP's request checks and issued
//! assertions (I), redirects, reflection, CSRF and headers (W), oversized and
//! compressed input (R), and the ACS's own protocol checks.
use crate::browser::*;
use crate::helpers::*;
use base64::Engine;
use std::io::Write;

const SP2: &str = "https://sp2.test/metadata";
const SP2_ACS: &str = "https://sp2.test/acs";
const SP3: &str = "https://sp3.test/metadata";
const SSO: &str = "http://127.0.0.1:8080/idp/sso";

struct SpKey {
    key: openssl::pkey::PKey<openssl::pkey::Private>,
    cert_pem: String,
}

fn sp_key() -> SpKey {
    let (key, cert) = self_signed("sp3");
    SpKey { key, cert_pem: String::from_utf8(cert.to_pem().unwrap()).unwrap() }
}

async fn app_with_sps(sp3: &SpKey, directory_extra: &str) -> TestApp {
    let idp = format!(
        "service_providers = [{{ entity_id = \"{SP2}\", acs_urls = [\"{SP2_ACS}\"], sign_assertions = true }}, {{ entity_id = \"{SP3}\", acs_urls = [\"https://sp3.test/acs\"], signing_certificate = \"\"\"{}\"\"\" }}]",
        sp3.cert_pem
    );
    directory_app(directory_extra, &idp).await
}

fn authn_request(issuer: &str, id: &str, extra_attributes: &str, instant: &str) -> String {
    format!(
        r#"<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{id}" Version="2.0" IssueInstant="{instant}" {extra_attributes}><saml:Issuer>{issuer}</saml:Issuer></samlp:AuthnRequest>"#
    )
}

const NOW: &str = "2026-11-27T12:00:00Z";

fn deflate_b64(xml: &[u8]) -> String {
    let mut d = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    d.write_all(xml).unwrap();
    base64::engine::general_purpose::STANDARD.encode(d.finish().unwrap())
}

fn enc(s: &str) -> String {
    form(&[("x", s)])[2..].to_owned()
}

/// A Redirect-binding query for `xml`, signed with `key` when given.
fn redirect_query(xml: &str, relay: Option<&str>, key: Option<(&SpKey, &str)>) -> String {
    let mut q = format!("SAMLRequest={}", enc(&deflate_b64(xml.as_bytes())));
    if let Some(r) = relay {
        q.push_str(&format!("&RelayState={}", enc(r)));
    }
    if let Some((k, alg)) = key {
        let (uri, digest) = match alg {
            "sha1" => ("http://www.w3.org/2000/09/xmldsig#rsa-sha1", openssl::hash::MessageDigest::sha1()),
            _ => {
                ("http://www.w3.org/2001/04/xmldsig-more#rsa-sha256", openssl::hash::MessageDigest::sha256())
            }
        };
        q.push_str(&format!("&SigAlg={}", enc(uri)));
        let mut signer = openssl::sign::Signer::new(digest, &k.key).unwrap();
        signer.update(q.as_bytes()).unwrap();
        let sig = base64::engine::general_purpose::STANDARD.encode(signer.sign_to_vec().unwrap());
        q.push_str(&format!("&Signature={}", enc(&sig)));
    }
    q
}

#[tokio::test]
#[ignore = "needs the test directories: scripts/test.sh runs it"]
async fn i01_authn_requests_are_checked_before_any_login_form() {
    let sp3 = sp_key();
    let app = app_with_sps(&sp3, "").await;
    let b = Browser::new(&app);
    let ok = authn_request(SP2, "_req1", &format!(r#"Destination="{SSO}""#), NOW);
    assert_eq!(b.get(&format!("/idp/sso?{}", redirect_query(&ok, None, None))).await.status, 200);
    let bad = [
        authn_request(SP2, "_r", r#"AssertionConsumerServiceURL="https://evil.test/acs""#, NOW),
        authn_request(SP2, "_r", r#"AssertionConsumerServiceURL="javascript:alert(1)""#, NOW),
        authn_request("https://unknown.test", "_r", "", NOW),
        authn_request(SP2, "_r", r#"Destination="https://other-idp.test/sso""#, NOW),
        authn_request(SP2, "_r", "", "2026-11-27T11:00:00Z"),
        authn_request(SP2, "_r", "", NOW).replace(r#"Version="2.0""#, r#"Version="4.2""#),
        format!("<!DOCTYPE x [<!ENTITY e 'x'>]>{}", authn_request(SP2, "_r", "", NOW)),
    ];
    for xml in bad {
        let p = b.get(&format!("/idp/sso?{}", redirect_query(&xml, None, None))).await;
        assert_eq!(p.status, 400, "{xml}");
        assert!(!p.body.contains("name=\"password\""), "no login form for a refused request");
    }
    let q = redirect_query(&ok, None, None);
    assert_eq!(b.get(&format!("/idp/sso?{q}&{q}")).await.status, 400, "repeated parameters");
    // SP3 signs its requests: unsigned, SHA-1, tampered or signed by another key are refused.
    let r3 = authn_request(SP3, "_req3", "", NOW);
    let other = sp_key();
    let signed = redirect_query(&r3, Some("/a"), Some((&sp3, "sha256")));
    assert_eq!(b.get(&format!("/idp/sso?{signed}")).await.status, 200);
    for q in [
        redirect_query(&r3, Some("/a"), None),
        redirect_query(&r3, Some("/a"), Some((&sp3, "sha1"))),
        redirect_query(&r3, Some("/a"), Some((&other, "sha256"))),
        signed.replace("RelayState=%2Fa", "RelayState=%2Fb"),
    ] {
        assert_eq!(b.get(&format!("/idp/sso?{q}")).await.status, 400, "{q}");
    }
    // The POST binding: same checks.
    let posted = base64::engine::general_purpose::STANDARD.encode(authn_request(
        SP2,
        "_p",
        r#"AssertionConsumerServiceURL="https://evil.test/acs""#,
        NOW,
    ));
    assert_eq!(b.post("/idp/sso", &[("SAMLRequest", &posted)]).await.status, 400);
}

/// Signs in at SP2's request and returns the decoded Response and the auto-POST page.
async fn sign_in_for_sp2(app: &TestApp, user: &str, password: &str, relay: Option<&str>) -> (String, Page) {
    let b = Browser::new(app);
    let req = authn_request(SP2, "_sp2req", "", NOW);
    let form = b.get(&format!("/idp/sso?{}", redirect_query(&req, relay, None))).await;
    assert_eq!(form.status, 200, "{}", form.body);
    let page = b.submit_login(&form, user, password).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let xml = base64::engine::general_purpose::STANDARD.decode(page.field("SAMLResponse").unwrap()).unwrap();
    (String::from_utf8(xml).unwrap(), page)
}

#[tokio::test]
#[ignore = "needs the test directories: scripts/test.sh runs it"]
async fn i03_issued_assertions_are_addressed_signed_and_short_lived() {
    let app = app_with_sps(&sp_key(), "").await;
    let (xml, page) =
        sign_in_for_sp2(&app, "bob", "Bravo-Pass-2", Some("\"><script>alert(1)</script>")).await;
    assert!(xml.contains(&format!(r#"Destination="{SP2_ACS}""#)), "{xml}");
    assert!(
        xml.contains(&format!("<saml:Audience>{SP2}</saml:Audience>")) || xml.contains(&format!(">{SP2}</")),
        "{xml}"
    );
    assert!(xml.contains(&format!(r#"Recipient="{SP2_ACS}""#)));
    assert!(xml.contains(r#"InResponseTo="_sp2req""#));
    assert!(xml.contains("http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"));
    assert!(xml.contains("http://www.w3.org/2001/04/xmlenc#sha256"));
    assert_eq!(xml.matches("<ds:Signature ").count(), 2, "sign_assertions: the Assertion too");
    assert!(xml.contains(r#"NotOnOrAfter="2026-11-27T12:05:00"#), "five minutes at most: {xml}");
    assert!(!xml.contains("2026-11-27T12:05:01") && !xml.contains("T12:06"));
    // The auto-POST page escapes RelayState and lets the form post only there.
    assert!(!page.body.contains("<script>alert(1)"), "{}", page.body);
    assert_eq!(page.field("RelayState").as_deref(), Some("\"><script>alert(1)</script>"));
    let csp = page.header("content-security-policy");
    assert!(
        csp.contains(&format!("form-action 'self' {SP2_ACS}")) && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    // A response made for SP2 is refused by idbroker's own ACS.
    let b = Browser::new(&app);
    let encoded = page.field("SAMLResponse").unwrap();
    let p = b.post("/saml/acs", &[("SAMLResponse", &encoded)]).await;
    assert_eq!(p.status, 403, "{}", p.body);
    assert!(!p.set_cookies().iter().any(|c| c.starts_with("idbroker_session")));
}

#[tokio::test]
#[ignore = "needs the test directories: scripts/test.sh runs it"]
async fn i02_directory_values_cannot_inject_attributes() {
    let app = app_with_sps(&sp_key(), "tag_attributes = [\"title\"]").await;
    let (xml, _) = sign_in_for_sp2(&app, "inject", "Inject-Pass-8", None).await;
    let mut reader = quick_xml::Reader::from_str(&xml);
    let mut attributes = Vec::new();
    loop {
        match reader.read_event().unwrap() {
            quick_xml::events::Event::Start(e) if e.local_name().as_ref() == b"Attribute" => {
                let name = e.try_get_attribute("Name").unwrap().unwrap().value.into_owned();
                attributes.push(String::from_utf8(name).unwrap());
            }
            quick_xml::events::Event::Eof => break,
            _ => {}
        }
    }
    let after_name = xml.split("PrincipalTag:title\"").nth(1).unwrap_or_else(|| panic!("{xml}"));
    let value_start = after_name
        .find("AttributeValue")
        .and_then(|i| after_name[i..].find('>').map(|j| i + j + 1))
        .unwrap_or_else(|| panic!("{after_name}"));
    let value_end = after_name[value_start..].find("</").unwrap() + value_start;
    let title = Some(html_unescape(&after_name[value_start..value_end]));
    let prefix = "https://aws.amazon.com/SAML/Attributes/";
    let expected: Vec<String> = ["Role", "RoleSessionName", "SessionDuration", "PrincipalTag:title"]
        .iter()
        .map(|n| format!("{prefix}{n}"))
        .collect();
    assert_eq!(attributes, expected, "no extra attribute");
    assert_eq!(
        title.as_deref(),
        Some(r#"</saml:AttributeValue><saml:Attribute Name="role"><saml:AttributeValue>admin]]>&amp;"#)
    );
    // And idbroker's own SP accepts the same user's assertion as well-formed and signed.
    let console = Browser::new(&app).sign_in("inject", "Inject-Pass-8").await;
    assert_eq!(
        console.by_id("role-arn").as_deref(),
        Some("arn:aws:iam::111122223333:role/Injected"),
        "{}",
        console.body
    );
}

#[tokio::test]
#[ignore = "needs the test directories: scripts/test.sh runs it"]
async fn w01_redirects_stay_on_this_origin() {
    let app = directory_app("", "").await;
    for evil in [
        "https://evil.test",
        "//evil.test",
        "/\\evil.test",
        "https:evil.test",
        "/%2f%2fevil.test",
        "javascript:alert(1)",
    ] {
        let b = Browser::new(&app);
        let start = b.get(&format!("/saml/login?RelayState={}", enc(evil))).await;
        assert!(!start.location.as_deref().unwrap().contains("RelayState"), "{evil} is dropped");
    }
    // A same-origin path survives the round trip; an evil RelayState posted with a good response is ignored.
    let b = Browser::new(&app);
    let form = b.follow(b.get("/saml/login?RelayState=%2Fconsole%3Fwelcome%3D1").await).await;
    let page = b.submit_login(&form, "bob", "Bravo-Pass-2").await;
    assert_eq!(b.auto_post(&page).await.location.as_deref(), Some("/console?welcome=1"));
    let b = Browser::new(&app);
    let form = b.login_form().await;
    let page = b.submit_login(&form, "bob", "Bravo-Pass-2").await;
    let r = b
        .post(
            "/saml/acs",
            &[("SAMLResponse", &page.field("SAMLResponse").unwrap()), ("RelayState", "//evil.test")],
        )
        .await;
    assert_eq!(r.location.as_deref(), Some("/console"));
}

#[tokio::test]
#[ignore = "needs the test directories: scripts/test.sh runs it"]
async fn w02_w03_w05_pages_escape_check_tokens_and_send_headers() {
    let app = directory_app("", "").await;
    let b = Browser::new(&app);
    let form = b.login_form().await;
    for h in ["content-security-policy", "x-frame-options", "x-content-type-options", "cache-control"] {
        assert!(!form.header(h).is_empty(), "{h}");
    }
    assert!(form.header("content-security-policy").contains("frame-ancestors 'none'"));
    // Reflection: the typed name comes back escaped.
    let p = b.submit_login(&form, "\"><script>alert(1)</script>", "x").await;
    assert!(!p.body.contains("<script>alert(1)"));
    // CSRF: no token, a wrong token, a cross-site Origin.
    let request = form.field("request").unwrap();
    let csrf = form.field("csrf").unwrap();
    let fields = |csrf: &'static str| vec![("csrf", csrf), ("username", "bob"), ("password", "Bravo-Pass-2")];
    assert_eq!(b.post("/idp/login", &fields("")).await.status, 403);
    assert_eq!(b.post("/idp/login", &fields("00")).await.status, 403);
    let cross = b
        .post_with(
            "/idp/login",
            &[("csrf", &csrf), ("request", &request), ("username", "bob"), ("password", "Bravo-Pass-2")],
            &[("origin", "https://evil.test")],
        )
        .await;
    assert_eq!(cross.status, 403);
    // Another browser's token does not fit this browser's cookie.
    let other = Browser::new(&app);
    let p = other
        .post(
            "/idp/login",
            &[("csrf", &csrf), ("request", &request), ("username", "bob"), ("password", "Bravo-Pass-2")],
        )
        .await;
    assert_eq!(p.status, 403);
    // The ACS takes only a POSTed form.
    assert_ne!(b.get("/saml/acs?SAMLResponse=x").await.status, 200);
    let json = b
        .client
        .post(format!("{}/saml/acs", app.base))
        .header("content-type", "application/json")
        .body("{\"SAMLResponse\":\"x\"}")
        .send()
        .await
        .unwrap();
    assert_eq!(json.status().as_u16(), 400);
    // Invalid base64 gets a generic page that echoes nothing.
    let p = b.post("/saml/acs", &[("SAMLResponse", "<script>not base64</script>")]).await;
    assert_eq!(p.status, 403);
    assert!(!p.body.contains("<script>not"));
}

#[tokio::test]
#[ignore = "needs the test directories: scripts/test.sh runs it"]
async fn r01_r02_r05_oversized_and_compressed_input_is_refused_early() {
    let app = directory_app("", "").await;
    let b = Browser::new(&app);
    let huge = "A".repeat(10 * 1024 * 1024);
    let started = std::time::Instant::now();
    let p = b.post("/saml/acs", &[("SAMLResponse", &huge)]).await;
    assert_eq!(p.status, 413);
    let p = b.post("/idp/login", &[("username", &"a".repeat(1024 * 1024)), ("password", "x")]).await;
    assert_eq!(p.status, 413);
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    // A deflate bomb: 8 MB of `a` compressed to a few KB, refused at the inflate cap.
    let mut bomb = b"<samlp:AuthnRequest ".to_vec();
    bomb.extend(std::iter::repeat_n(b'a', 8 * 1024 * 1024));
    let q = format!("SAMLRequest={}", enc(&deflate_b64(&bomb)));
    let p = b.get(&format!("/idp/sso?{q}")).await;
    assert_eq!(p.status, 400);
    assert!(p.body.contains("too large"), "{}", p.body);
    // A long user name is refused before the directory is asked.
    let form = b.login_form().await;
    let p = b.submit_login(&form, &"a".repeat(300), "x").await;
    assert_eq!(p.status, 400);
    app.get("/healthz").await;
}

#[tokio::test]
#[ignore = "needs the test directories: scripts/test.sh runs it"]
async fn the_acs_holds_responses_to_their_request_and_browser() {
    let app = directory_app("", "").await;
    // A response answering browser A's request, posted by browser B, is refused.
    let a = Browser::new(&app);
    let form = a.login_form().await;
    let page = a.submit_login(&form, "bob", "Bravo-Pass-2").await;
    let response = page.field("SAMLResponse").unwrap();
    let b = Browser::new(&app);
    assert_eq!(b.post("/saml/acs", &[("SAMLResponse", &response)]).await.status, 403);
    // Browser A, which asked for it, signs in with it once; not twice (its request is used).
    assert_eq!(a.post("/saml/acs", &[("SAMLResponse", &response)]).await.status, 303);
    assert_eq!(a.post("/saml/acs", &[("SAMLResponse", &response)]).await.status, 403);
    // An IdP-initiated response (no request to use up) is held by the replay cache.
    let c = Browser::new(&app);
    let page = c.submit_login(&c.get("/idp/login").await, "bob", "Bravo-Pass-2").await;
    assert_eq!(c.auto_post(&page).await.status, 303);
    let refused = c.auto_post(&page).await;
    assert_eq!(refused.status, 403);
    let e = app
        .audit_event(|e| {
            e["eventName"] == "ConsoleSAMLLogin" && e["additionalEventData"]["failedCheck"] == "replay"
        })
        .await;
    assert_eq!(e["errorCode"], "InvalidIdentityToken");
    // The page names the failed check and the request id that finds this event.
    let request_id = e["requestID"].as_str().unwrap();
    assert!(refused.body.contains("failed check: replay"), "{}", refused.body);
    assert!(refused.body.contains(&format!("Request id: <code>{request_id}</code>")), "{}", refused.body);
    // A fresh request of A, answered once, works; the same answer again does not.
    let form = a.login_form().await;
    let page = a.submit_login(&form, "bob", "Bravo-Pass-2").await;
    assert_eq!(a.auto_post(&page).await.status, 303);
    assert_eq!(a.auto_post(&page).await.status, 403);
}

#[tokio::test]
#[ignore = "needs the test directories: scripts/test.sh runs it"]
async fn unsolicited_responses_are_accepted_unless_the_provider_requires_requests() {
    let app = directory_app("", "").await;
    // IdP-initiated: GET /idp/login without a request.
    let b = Browser::new(&app);
    let form = b.get("/idp/login").await;
    let page = b.submit_login(&form, "bob", "Bravo-Pass-2").await;
    assert_eq!(
        b.follow(b.auto_post(&page).await).await.by_id("role-arn").as_deref(),
        Some("arn:aws:iam::111122223333:role/Dev")
    );
    app.admin(&[
        ("Action", "TagSAMLProvider"),
        ("SAMLProviderArn", "arn:aws:iam::111122223333:saml-provider/idbroker"),
        ("Tags.member.1.Key", "idbroker:RequireSPInitiated"),
        ("Tags.member.1.Value", "true"),
    ])
    .await
    .ok();
    let b = Browser::new(&app);
    let form = b.get("/idp/login").await;
    let page = b.submit_login(&form, "bob", "Bravo-Pass-2").await;
    assert_eq!(b.auto_post(&page).await.status, 403);
    // SP-initiated still works.
    assert_eq!(Browser::new(&app).sign_in("bob", "Bravo-Pass-2").await.status, 200);
}

#[tokio::test]
#[ignore = "needs the test directories: scripts/test.sh runs it"]
async fn aws_registered_by_its_metadata_gets_idp_initiated_assertions() {
    let metadata = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/aws-sp-metadata.xml");
    let app = directory_app("", &format!("service_providers = [{{ metadata_file = \"{metadata}\" }}]")).await;
    let b = Browser::new(&app);
    let form = b.get("/idp/login?sp=urn%3Aamazon%3Awebservices").await;
    assert_eq!(form.status, 200, "{}", form.body);
    let page = b.submit_login(&form, "bob", "Bravo-Pass-2").await;
    let xml = String::from_utf8(
        base64::engine::general_purpose::STANDARD.decode(page.field("SAMLResponse").unwrap()).unwrap(),
    )
    .unwrap();
    assert!(xml.contains(r#"Destination="https://signin.aws.amazon.com/saml""#), "{xml}");
    assert!(xml.contains(">urn:amazon:webservices<"), "audience: {xml}");
    assert!(
        xml.contains("arn:aws:iam::111122223333:role/Dev,arn:aws:iam::111122223333:saml-provider/idbroker")
    );
    assert!(!xml.contains("InResponseTo"), "IdP-initiated");
    // AWS's metadata says WantAssertionsSigned: the Assertion is signed too.
    assert_eq!(xml.matches("<ds:Signature ").count(), 2, "{xml}");
    assert!(xml[xml.find("<saml:Assertion ").unwrap()..].contains("<ds:Signature "));
    assert!(page
        .header("content-security-policy")
        .contains("form-action 'self' https://signin.aws.amazon.com/saml"));
    // Only registered SPs.
    assert_eq!(b.get("/idp/login?sp=https%3A%2F%2Fevil.test").await.status, 400);
}

#[tokio::test]
#[ignore = "needs the test directories: scripts/test.sh runs it"]
async fn p10_a_response_is_used_once_across_the_acs_and_the_sts() {
    let app = directory_app("", "").await;
    let sts = |response: String| {
        let app = &app;
        async move {
            let body = form(&[
                ("Action", "AssumeRoleWithSAML"),
                ("Version", "2011-06-15"),
                ("RoleArn", "arn:aws:iam::111122223333:role/Dev"),
                ("PrincipalArn", "arn:aws:iam::111122223333:saml-provider/idbroker"),
                ("SAMLAssertion", &response),
            ]);
            app.raw(&body, &[]).await
        }
    };
    // ACS first, then the STS.
    let b = Browser::new(&app);
    let page = b.submit_login(&b.get("/idp/login").await, "bob", "Bravo-Pass-2").await;
    let signatures = |page: &Page| {
        let xml =
            base64::engine::general_purpose::STANDARD.decode(page.field("SAMLResponse").unwrap()).unwrap();
        String::from_utf8(xml).unwrap().matches("<ds:Signature ").count()
    };
    assert_eq!(signatures(&page), 1, "idbroker's own SP gets the Response signed");
    assert_eq!(b.auto_post(&page).await.status, 303);
    sts(page.field("SAMLResponse").unwrap()).await.err(400, "InvalidIdentityToken");
    // The STS first (the built-in IdP's assertion buys credentials there too), then the ACS.
    let b = Browser::new(&app);
    let page = b.submit_login(&b.get("/idp/login").await, "bob", "Bravo-Pass-2").await;
    let r = sts(page.field("SAMLResponse").unwrap()).await;
    r.ok();
    assert_eq!(r.text("Arn").as_deref(), Some("arn:aws:sts::111122223333:assumed-role/Dev/bob"));
    assert_eq!(b.auto_post(&page).await.status, 403);
}

#[tokio::test]
#[ignore = "needs the test directories: scripts/test.sh runs it"]
async fn r01_r03_r04_hostile_shapes_at_the_acs_are_refused_fast() {
    let app = directory_app("", "").await;
    let b = Browser::new(&app);
    let page = b.submit_login(&b.get("/idp/login").await, "bob", "Bravo-Pass-2").await;
    let genuine = String::from_utf8(
        base64::engine::general_purpose::STANDARD.decode(page.field("SAMLResponse").unwrap()).unwrap(),
    )
    .unwrap();
    let deep = genuine.replacen(
        "<saml:AttributeValue>",
        &format!("<saml:AttributeValue>{}{}", "<a>".repeat(50_000), "</a>".repeat(50_000)),
        1,
    );
    let wide_attributes: String = (0..100_000).map(|i| format!(" a{i}=\"x\"")).collect();
    let wide = genuine.replacen("<saml:Issuer>", &format!("<saml:Issuer{wide_attributes}>"), 1);
    let namespaces: String = (0..100_000).map(|i| format!(" xmlns:p{i}=\"urn:x:{i}\"")).collect();
    let many_ns = genuine.replacen("<saml:Issuer>", &format!("<saml:Issuer{namespaces}>"), 1);
    let signatures = genuine.replacen(
        "<saml:Issuer>",
        &format!(
            "{}<saml:Issuer>",
            "<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"></ds:Signature>".repeat(1000)
        ),
        1,
    );
    for (what, xml) in [("deep", deep), ("wide", wide), ("namespaces", many_ns), ("signatures", signatures)] {
        let started = std::time::Instant::now();
        let encoded = base64::engine::general_purpose::STANDARD.encode(&xml);
        let p = b.post("/saml/acs", &[("SAMLResponse", &encoded)]).await;
        assert!(p.status == 403 || p.status == 413, "{what}: {}", p.status);
        assert!(started.elapsed() < std::time::Duration::from_secs(2), "{what} took {:?}", started.elapsed());
    }
    // A 100 KB header is refused before any work, at the ACS, the STS and the login.
    for (method, path) in [("POST", "/saml/acs"), ("POST", "/"), ("POST", "/idp/login"), ("GET", "/")] {
        let r = b
            .client
            .request(method.parse().unwrap(), format!("{}{path}", app.base))
            .header("x-big", "a".repeat(100_000))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 431, "{method} {path}");
    }
    assert_eq!(app.get("/healthz").await.status, 200, "still up");
}
