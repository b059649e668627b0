//! The admin console (`/admin`), as an administrator uses it: every page and
//! form authorised by the signed-in principal's policies with the IAM action
//! it mirrors, CSRF-protected, and each change audited as that API call.
use crate::browser::*;
use crate::helpers::*;
use crate::saml::{pad, setup, PROVIDER, ROLE, TO};
use crate::test_idp::TestIdp;
use base64::Engine;

const ADMIN_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:*SAMLProvider*","iam:ListRoles","idbroker:*"],"Resource":"*"}]}"#;

/// A browser signed in at `/signin` as a new IAM user with `policy`.
async fn signed_in(app: &TestApp, user: &str, policy: Option<&str>) -> Browser {
    let password = "Admin-Pass-123!";
    app.admin(&[("Action", "CreateUser"), ("UserName", user)]).await.ok();
    app.admin(&[("Action", "CreateLoginProfile"), ("UserName", user), ("Password", password)]).await.ok();
    if let Some(document) = policy {
        app.admin(&[
            ("Action", "PutUserPolicy"),
            ("UserName", user),
            ("PolicyName", "admin"),
            ("PolicyDocument", document),
        ])
        .await
        .ok();
    }
    let b = Browser::new(app);
    let form = b.get("/signin").await;
    let csrf = form.field("csrf").unwrap();
    let fields = [
        ("csrf", csrf.as_str()),
        ("account", ACCOUNT),
        ("username", user),
        ("password", password),
        ("mfa", ""),
    ];
    let console = b.follow(b.post("/signin", &fields).await).await;
    assert_eq!(console.status, 200, "{}", console.body);
    b
}

/// A form's page, then the form posted with its CSRF token and `fields`.
async fn submit(b: &Browser, page: &str, action: &str, fields: &[(&str, &str)]) -> Page {
    let form = b.get(page).await;
    let csrf = form.field("csrf").expect("a form with a CSRF token");
    let mut all = vec![("csrf", csrf.as_str())];
    all.extend_from_slice(fields);
    b.follow(b.post(action, &all).await).await
}

fn encoded(xml: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(xml)
}

#[tokio::test]
async fn an_administrator_registers_configures_debugs_and_finds_the_event() {
    let (app, idp) = setup().await;
    let b = signed_in(&app, "ada", Some(ADMIN_POLICY)).await;
    let overview = b.get("/admin").await;
    assert_eq!(overview.status, 200, "{}", overview.body);
    assert!(overview.body.contains(">Corp</a>"));
    assert!(overview.header("content-security-policy").contains("script-src 'self'"));
    assert_eq!(overview.header("cache-control"), "no-store");

    // Register a provider by pasting its metadata.
    let other = TestIdp::new("https://idp.other.test/saml");
    let page = submit(
        &b,
        "/admin/providers/new",
        "/admin/providers/new",
        &[("name", "Other"), ("metadata", &pad(&other.metadata()))],
    )
    .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.by_id("entity-id").as_deref(), Some("https://idp.other.test/saml"));
    assert!(page.body.contains(&idbroker::crypto::sha256_hex(other.cert().der_data())));
    let refused = submit(
        &b,
        "/admin/providers/new",
        "/admin/providers/new",
        &[("name", "Broken"), ("metadata", "<x/>")],
    )
    .await;
    assert_eq!(refused.status, 400);
    assert!(refused.by_id("form-error").is_some(), "{}", refused.body);

    // A provider's page: its certificate, and the role that trusts it.
    let corp = b.get("/admin/providers/Corp").await;
    assert!(corp.body.contains(&idbroker::crypto::sha256_hex(idp.cert().der_data())));
    assert!(corp.body.contains(ROLE), "{}", corp.body);
    // The switches are settings, kept as the idbroker: tags AWS clients see.
    let saved = submit(
        &b,
        "/admin/providers/Corp",
        "/admin/providers/Corp/settings",
        &[("require_sp_initiated", "true")],
    )
    .await;
    assert!(saved.body.contains("Settings saved."), "{}", saved.body);
    let tags = app.admin(&[("Action", "ListSAMLProviderTags"), ("SAMLProviderArn", PROVIDER)]).await;
    assert_eq!(tags.all("Key"), vec!["idbroker:RequireSPInitiated"]);
    submit(&b, "/admin/providers/Corp", "/admin/providers/Corp/settings", &[]).await;
    let tags = app.admin(&[("Action", "ListSAMLProviderTags"), ("SAMLProviderArn", PROVIDER)]).await;
    assert!(tags.all("Key").is_empty());

    // The debugger: a response signed by a key that is not in the metadata.
    let stranger = TestIdp::new("https://idp.corp.test/saml");
    let forged = stranger.response(&TO, app.clock_now(), |_| {});
    let report =
        submit(&b, "/admin/debugger", "/admin/debugger", &[("SAMLResponse", &encoded(&forged))]).await;
    assert_eq!(report.by_id("failed-check").as_deref(), Some("signature"), "{}", report.body);
    let advice = report.by_id("advice").unwrap();
    assert!(advice.contains(&idbroker::crypto::sha256_hex(stranger.cert().der_data())), "{advice}");
    assert!(
        advice.contains(&format!("expected one of {}", idbroker::crypto::sha256_hex(idp.cert().der_data())))
    );
    // A genuine one passes every check, and its role is trusted; pasted as
    // XML too. It is not used up: AssumeRoleWithSAML takes it afterwards.
    let genuine = idp.response(&TO, app.clock_now(), |_| {});
    for pasted in [encoded(&genuine), genuine.clone()] {
        let report = submit(&b, "/admin/debugger", "/admin/debugger", &[("SAMLResponse", &pasted)]).await;
        assert!(report.by_id("failed-check").is_none(), "{}", report.body);
        assert!(report.body.contains("Every check passed"));
        assert!(report.body.contains("trusted: a sign-in would get this role"));
    }
    crate::saml::exchange_with(&app, &genuine, ROLE, PROVIDER, &[]).await.ok();
    // Used now: the debugger says so.
    let report =
        submit(&b, "/admin/debugger", "/admin/debugger", &[("SAMLResponse", &encoded(&genuine))]).await;
    assert_eq!(report.by_id("failed-check").as_deref(), Some("replay"));
    // Another audience: which side to change, and to what.
    let elsewhere = idp.response(&TO, app.clock_now(), |r| {
        let c = r.assertion.as_mut().unwrap().conditions.as_mut().unwrap();
        c.audience_restrictions.as_mut().unwrap()[0].audience = vec!["https://elsewhere.test".into()];
    });
    let report =
        submit(&b, "/admin/debugger", "/admin/debugger", &[("SAMLResponse", &encoded(&elsewhere))]).await;
    assert_eq!(report.by_id("failed-check").as_deref(), Some("audience"));
    assert!(report.by_id("advice").unwrap().contains("http://127.0.0.1:8080/saml/metadata"));

    // The history: the registration, found by its event name and by its request id.
    let events = b.get("/admin/events?event=CreateSAMLProvider").await;
    assert_eq!(events.status, 200);
    assert!(events.body.contains("CreateSAMLProvider") && events.body.contains("ada"), "{}", events.body);
    let event = app.audit_event(|e| e["eventName"] == "CreateSAMLProvider" && e["errorCode"].is_null()).await;
    let request_id = event["requestID"].as_str().unwrap();
    let found = b.get(&format!("/admin/events?request_id={request_id}")).await;
    assert!(found.body.contains(request_id));
    assert!(b.get("/admin/events?request_id=nothing-like-it").await.by_id("no-events").is_some());
    assert_eq!(b.get("/admin/events?from=yesterday").await.status, 400);

    // Deleting asks first, naming the roles that would lose the provider.
    let confirm = b.get("/admin/providers/Corp/delete").await;
    assert!(confirm.body.contains(ROLE));
    let deleted = submit(&b, "/admin/providers/Corp/delete", "/admin/providers/Corp/delete", &[]).await;
    assert_eq!(deleted.status, 200);
    app.admin(&[("Action", "GetSAMLProvider"), ("SAMLProviderArn", PROVIDER)]).await.err(404, "NoSuchEntity");
}

#[tokio::test]
async fn a_user_without_permissions_gets_none_of_it() {
    let (app, _) = setup().await;
    // Not signed in: the sign-in page.
    let anonymous = Browser::new(&app);
    let page = anonymous.get("/admin/providers").await;
    assert_eq!((page.status, page.header("location").as_str()), (303, "/"));

    let b = signed_in(&app, "nobody", None).await;
    let overview = b.get("/admin").await;
    assert_eq!(overview.status, 200);
    assert!(!overview.body.contains("Corp") && overview.body.contains("not authorized"), "{}", overview.body);
    for path in ["/admin/providers", "/admin/providers/Corp", "/admin/providers/Corp/delete", "/admin/events"]
    {
        let p = b.get(path).await;
        assert_eq!(p.status, 403, "{path}: {}", p.body);
        assert!(!p.body.contains("idp.corp.test"), "{path}");
    }
    let registered = submit(
        &b,
        "/admin/debugger",
        "/admin/providers/new",
        &[("name", "Mine"), ("metadata", &pad(&TestIdp::new("https://x.test").metadata()))],
    )
    .await;
    assert_eq!(registered.status, 403);
    let r = app.admin(&[("Action", "ListSAMLProviders")]).await;
    assert!(!r.body.contains("saml-provider/Mine"));
    let debugged = submit(&b, "/admin/debugger", "/admin/debugger", &[("SAMLResponse", "PHg+")]).await;
    assert_eq!(debugged.status, 403);
    // A form without its token changes nothing, whoever posts it.
    let admin = signed_in(&app, "ada", Some(ADMIN_POLICY)).await;
    let p = admin.post("/admin/providers/Corp/delete", &[]).await;
    assert_eq!(p.status, 403);
    app.admin(&[("Action", "GetSAMLProvider"), ("SAMLProviderArn", PROVIDER)]).await.ok();
}

/// The roles dave's sign-in at the built-in IdP (at `base`) is offered.
async fn offered_to_dave(base: &str) -> String {
    let b = Browser::at(base);
    let page = b.submit_login(&b.login_form().await, "dave", "Delta-Pass-4").await;
    let response = page.field("SAMLResponse").unwrap_or_default();
    String::from_utf8(base64::engine::general_purpose::STANDARD.decode(response).unwrap_or_default())
        .unwrap_or_default()
}

#[tokio::test]
#[ignore = "needs the test directories: scripts/test.sh runs it"]
async fn a_role_rule_previewed_and_saved_applies_on_every_node() {
    let app = directory_app("", "").await;
    let (other, _dir) = crate::keys::node_in_an_empty_folder(&app).await;
    let ops = "arn:aws:iam::111122223333:role/Ops";
    app.admin(&[("Action", "CreateRole"), ("RoleName", "Ops"), ("AssumeRolePolicyDocument", TRUST_IDBROKER)])
        .await
        .ok();
    let cycle = "cn=cycle-a,ou=groups,dc=example,dc=org";
    assert!(!offered_to_dave(&other).await.contains(ops));

    let b = signed_in(&app, "ada", Some(ADMIN_POLICY)).await;
    // The preview: dave's groups through the cycle, his role now, and the one the rule adds.
    let fields = [("group_dn", cycle), ("role_arn", ops), ("username", "dave"), ("do", "preview")];
    let preview = submit(&b, "/admin/mappings", "/admin/mappings", &fields).await;
    assert_eq!(preview.status, 200, "{}", preview.body);
    let groups = preview.body[preview.body.find("id=\"preview-groups\"").unwrap()..].to_owned();
    assert!(groups.contains("cycle-a") && groups.contains("cycle-b"), "{}", preview.body);
    assert!(preview.body.contains("arn:aws:iam::111122223333:role/Dev"));
    assert!(preview.body.contains(&format!("<code>{ops}</code> <strong>(with the rule above)")));
    // Nothing is saved by a preview.
    assert!(!offered_to_dave(&app.base).await.contains(ops));

    let saved = submit(
        &b,
        "/admin/mappings",
        "/admin/mappings",
        &[("group_dn", cycle), ("role_arn", ops), ("do", "save")],
    )
    .await;
    assert!(saved.by_id("mapping-message").is_some(), "{}", saved.body);
    let mut seen = String::new();
    for _ in 0..100 {
        seen = offered_to_dave(&other).await;
        if seen.contains(ops) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(seen.contains(ops), "the other node offers the new role: {seen}");
    // A role of another account cannot be mapped; the change is audited.
    let foreign = submit(
        &b,
        "/admin/mappings",
        "/admin/mappings",
        &[("group_dn", cycle), ("role_arn", "arn:aws:iam::999999999999:role/Ops"), ("do", "save")],
    )
    .await;
    assert_eq!(foreign.status, 403);
    let event = app.audit_event(|e| e["eventName"] == "CreateRoleMapping" && e["errorCode"].is_null()).await;
    assert_eq!(event["requestParameters"]["GroupDN"], cycle);

    // Removed: gone from the next sign-in.
    let removed = submit(
        &b,
        "/admin/mappings",
        "/admin/mappings",
        &[("group_dn", cycle), ("role_arn", ops), ("do", "delete")],
    )
    .await;
    assert!(removed.body.contains("Rule removed."), "{}", removed.body);
    assert!(!offered_to_dave(&app.base).await.contains(ops));
    // Someone without the permission sees no rule and changes none.
    let nobody = signed_in(&app, "nobody", None).await;
    assert_eq!(nobody.get("/admin/mappings").await.status, 403);
}

/// The keys' states on the keys page, in table order: (key id, state).
fn key_states(page: &Page, purpose: &str) -> Vec<(String, String)> {
    let table = &page.body[page.body.find(&format!("id=\"keys-{purpose}\"")).unwrap()..];
    let table = &table[..table.find("</table>").unwrap()];
    table
        .split("<tr><td><code>")
        .skip(1)
        .map(|row| {
            let id = row[..row.find('<').unwrap()].to_owned();
            let state =
                row[row.find("class=\"state\">").unwrap() + 14..].split('<').next().unwrap().to_owned();
            (id, state)
        })
        .collect()
}

#[tokio::test]
async fn an_operator_rolls_a_key_over_in_three_steps() {
    let app = spawn_app_with("[server]\noperator_accounts = [\"111122223333\"]\n").await;
    let b = signed_in(&app, "ada", Some(ADMIN_POLICY)).await;
    let page = b.get("/admin/keys").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let before = key_states(&page, "idp");
    assert_eq!(before.iter().filter(|(_, s)| s == "active").count(), 1, "{before:?}");
    let old = before.iter().find(|(_, s)| s == "active").unwrap().0.clone();

    let published = submit(&b, "/admin/keys", "/admin/keys", &[("do", "publish"), ("purpose", "idp")]).await;
    assert!(published.by_id("keys-message").is_some(), "{}", published.body);
    let new =
        key_states(&published, "idp").into_iter().find(|(id, s)| s == "published" && *id != old).unwrap().0;
    // Published: both certificates in the IdP metadata; the old key still signs.
    let metadata = app.get("/idp/metadata").await.body;
    assert_eq!(metadata.matches("<ds:X509Certificate>").count(), 2, "{metadata}");
    let activated = submit(&b, "/admin/keys", "/admin/keys", &[("do", "activate"), ("key_id", &new)]).await;
    let states = key_states(&activated, "idp");
    assert!(
        states.contains(&(new.clone(), "active".into()))
            && states.contains(&(old.clone(), "published".into())),
        "{states:?}"
    );
    let retired = submit(&b, "/admin/keys", "/admin/keys", &[("do", "retire"), ("key_id", &old)]).await;
    assert!(!key_states(&retired, "idp").iter().any(|(id, s)| *id == old && s != "retired"));
    // The active key cannot be retired: a clear refusal, nothing changed.
    let refused = submit(&b, "/admin/keys", "/admin/keys", &[("do", "retire"), ("key_id", &new)]).await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(key_states(&refused, "idp").contains(&(new, "active".into())));
    app.audit_event(|e| e["eventName"] == "ActivateSigningKey" && e["eventSource"] == "idbroker.operator")
        .await;

    // Outside an operator account: none of it.
    let elsewhere = spawn_app().await;
    let b = signed_in(&elsewhere, "ada", Some(ADMIN_POLICY)).await;
    assert_eq!(b.get("/admin/keys").await.status, 403);
}
