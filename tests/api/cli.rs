//! The command line's sign-in endpoints (`/cli/*`), walked as the command
//! and a browser would, against the test OpenLDAP: PKCE, single use, the
//! loopback return, the device code, expiry on a fixed clock, and the
//! password sign-in for CI jobs.
use crate::browser::*;
use crate::helpers::*;
use idbroker::console::cli::s256_challenge;

const VERIFIER: &str = "3a5f0c1e9b7d2468ace013579bdf2468ace013579bdf2468ace013579bdf2468";
const RETURN: &str = "http://127.0.0.1:5555/callback";
const DEV: &str = "arn:aws:iam::111122223333:role/Dev";

struct Json {
    status: u16,
    body: serde_json::Value,
}

async fn post_json(app: &TestApp, path: &str, fields: &[(&str, &str)]) -> Json {
    post_json_at(&app.base, path, fields).await
}

async fn post_json_at(base: &str, path: &str, fields: &[(&str, &str)]) -> Json {
    let resp = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(fields))
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    Json { status, body: resp.json().await.unwrap_or_default() }
}

fn error_of(j: &Json) -> &str {
    j.body["error"].as_str().unwrap_or_default()
}

fn keys_of(j: &Json) -> Keys {
    Keys {
        id: j.body["AccessKeyId"].as_str().unwrap().to_owned(),
        secret: j.body["SecretAccessKey"].as_str().unwrap().to_owned(),
        token: Some(j.body["SessionToken"].as_str().unwrap().to_owned()),
    }
}

fn authorize_path(challenge: &str, redirect_uri: &str, extra: &str) -> String {
    format!(
        "/cli/authorize?client_name=test&code_challenge={challenge}&code_challenge_method=S256&redirect_uri={}&state=st-1{extra}",
        form(&[("", redirect_uri)]).trim_start_matches('=')
    )
}

/// Signs `browser` in as alice from the approval page's redirect and returns the approval page.
async fn sign_in_to_approve(browser: &Browser, start: Page) -> Page {
    let login = browser.follow(start).await;
    assert!(login.field("csrf").is_some(), "{}", login.body);
    let posted = browser.submit_login(&login, "alice", "Alpha-Pass-1").await;
    let approval = browser.follow(browser.auto_post(&posted).await).await;
    assert_eq!(approval.status, 200, "{}", approval.body);
    assert!(approval.body.contains("Allow the command line?"), "{}", approval.body);
    approval
}

async fn decide(browser: &Browser, approval: &Page, role: &str, decision: &str) -> Page {
    let csrf = approval.field("csrf").unwrap();
    let request = approval.field("request").unwrap();
    browser
        .post(
            "/cli/approve",
            &[("csrf", &csrf), ("request", &request), ("role", role), ("decision", decision)],
        )
        .await
}

fn query_value(url: &str, name: &str) -> Option<String> {
    let url = url::Url::parse(url).ok()?;
    url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

#[tokio::test]
#[ignore = "needs the test directories: scripts/test.sh runs it"]
async fn the_browser_flow_gives_the_command_its_credentials_once_for_its_verifier() {
    let app = directory_app("", "").await;
    let browser = Browser::new(&app);
    let start = browser.get(&authorize_path(&s256_challenge(VERIFIER), RETURN, "")).await;
    assert_eq!(start.status, 303, "{}", start.body);
    let approval = sign_in_to_approve(&browser, start).await;
    // alice has two roles: both offered, none chosen for her.
    assert!(approval.body.contains(DEV) && approval.body.contains("role/Admin"), "{}", approval.body);
    assert!(approval.header("content-security-policy").contains("form-action 'self' http://127.0.0.1:5555"));

    let back = decide(&browser, &approval, DEV, "allow").await;
    assert_eq!(back.status, 303);
    let location = back.location.unwrap();
    assert!(location.starts_with("http://127.0.0.1:5555/callback?code="), "{location}");
    assert_eq!(query_value(&location, "state").as_deref(), Some("st-1"));
    let code = query_value(&location, "code").unwrap();

    let redeem = |verifier: &'static str, redirect_uri: &'static str| {
        let (app, code) = (&app, code.clone());
        async move {
            let fields = [
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", redirect_uri),
                ("code_verifier", verifier),
            ];
            post_json(app, "/cli/token", &fields).await
        }
    };
    // Another verifier, or another return address, redeems nothing.
    let wrong = redeem("0000000000000000000000000000000000000000000000000000000000000000", RETURN).await;
    assert_eq!((wrong.status, error_of(&wrong)), (400, "invalid_grant"));
    let moved = redeem(VERIFIER, "http://127.0.0.1:6666/callback").await;
    assert_eq!((moved.status, error_of(&moved)), (400, "invalid_grant"));

    let issued = redeem(VERIFIER, RETURN).await;
    assert_eq!(issued.status, 200, "{}", issued.body);
    assert_eq!(issued.body["Version"], 1);
    assert_eq!(issued.body["RoleArn"], DEV);
    let me = app.sts(&keys_of(&issued), &[("Action", "GetCallerIdentity")]).await;
    assert_eq!(me.text("Arn").as_deref(), Some("arn:aws:sts::111122223333:assumed-role/Dev/alice"));

    // Once only.
    let again = redeem(VERIFIER, RETURN).await;
    assert_eq!((again.status, error_of(&again)), (400, "invalid_grant"));
    let granted = app.audit_event(|e| e["eventName"] == "CommandLineGrant" && e["errorCode"].is_null()).await;
    assert_eq!(granted["additionalEventData"]["roleArn"], DEV);
    app.audit_event(|e| e["eventName"] == "CommandLineRedeem" && e["errorCode"] == "InvalidGrant").await;
}

#[tokio::test]
#[ignore = "needs the test directories: scripts/test.sh runs it"]
async fn a_request_is_refused_unless_it_returns_to_loopback_with_an_s256_challenge() {
    let app = directory_app("", "").await;
    let browser = Browser::new(&app);
    let challenge = s256_challenge(VERIFIER);
    for (challenge, uri) in [
        (challenge.as_str(), "https://127.0.0.1:5555/callback"),
        (challenge.as_str(), "http://evil.test:5555/callback"),
        (challenge.as_str(), "http://127.0.0.1/callback"),
        ("plain-verifier", RETURN),
    ] {
        let page = browser.get(&authorize_path(challenge, uri, "")).await;
        assert_eq!(page.status, 400, "{uri}: {}", page.body);
    }
    let plain = browser
        .get(
            &authorize_path(&challenge, RETURN, "")
                .replace("code_challenge_method=S256", "code_challenge_method=plain"),
        )
        .await;
    assert_eq!(plain.status, 400);
    // An unknown request is a clear page, not a sign-in.
    let unknown = browser.get("/cli/approve?request=0123456789abcdef").await;
    assert_eq!(unknown.status, 404, "{}", unknown.body);
    assert!(unknown.body.contains("Run the command again"));
}

#[tokio::test]
#[ignore = "needs the test directories: scripts/test.sh runs it"]
async fn the_decision_needs_the_signed_in_browser_and_its_form_token() {
    let app = directory_app("", "").await;
    let browser = Browser::new(&app);
    let start = browser.get(&authorize_path(&s256_challenge(VERIFIER), RETURN, "")).await;
    let approval = sign_in_to_approve(&browser, start).await;
    let request = approval.field("request").unwrap();
    // Another browser, with no session, cannot decide for her.
    let stranger = Browser::new(&app);
    let forged = stranger
        .post("/cli/approve", &[("csrf", "x"), ("request", &request), ("role", DEV), ("decision", "allow")])
        .await;
    assert_eq!(forged.status, 403);
    // Her own browser without the form's token cannot either.
    let no_token =
        browser.post("/cli/approve", &[("request", &request), ("role", DEV), ("decision", "allow")]).await;
    assert_eq!(no_token.status, 403);
    // A role she is not offered is refused.
    let other = decide(&browser, &approval, "arn:aws:iam::111122223333:role/Paren", "allow").await;
    assert_eq!(other.status, 403, "{}", other.body);
    // Denying sends the browser back with access_denied; the code is then refused.
    let denied = decide(&browser, &approval, "", "deny").await;
    let location = denied.location.unwrap();
    assert_eq!(query_value(&location, "error").as_deref(), Some("access_denied"));
    assert!(query_value(&location, "code").is_none());
}

#[tokio::test]
#[ignore = "needs the test directories: scripts/test.sh runs it"]
async fn the_device_flow_polls_until_approved_and_expires_on_the_clock() {
    let app = directory_app("", "").await;
    let challenge = s256_challenge(VERIFIER);
    let start_fields = [
        ("client_name", "ci"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
        ("role", DEV),
    ];
    let start = post_json(&app, "/cli/device/code", &start_fields).await;
    assert_eq!(start.status, 200, "{}", start.body);
    let user_code = start.body["user_code"].as_str().unwrap().to_owned();
    let device_code = start.body["device_code"].as_str().unwrap().to_owned();
    assert_eq!(start.body["verification_uri"], "http://127.0.0.1:8080/cli/device");
    let poll = |verifier: &'static str| {
        let (app, device_code) = (&app, device_code.clone());
        async move {
            let fields = [
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                ("device_code", device_code.as_str()),
                ("code_verifier", verifier),
            ];
            post_json(app, "/cli/token", &fields).await
        }
    };
    assert_eq!(error_of(&poll(VERIFIER).await), "authorization_pending");
    assert_eq!(error_of(&poll(VERIFIER).await), "slow_down");

    // The user types the code loosely (lower case, no dash) and approves.
    let browser = Browser::new(&app);
    let typed = user_code.replace('-', " ").to_lowercase();
    let entered = browser.get(&format!("/cli/device?user_code={}", typed.replace(' ', "+"))).await;
    assert_eq!(entered.status, 303, "{}", entered.body);
    let approval = sign_in_to_approve(&browser, entered).await;
    assert_eq!(approval.by_id("user-code").as_deref(), Some(user_code.as_str()));
    let done = decide(&browser, &approval, DEV, "allow").await;
    assert_eq!(done.status, 200);
    assert!(done.body.contains("return to your terminal"));

    let wrong = poll("0000000000000000000000000000000000000000000000000000000000000000").await;
    assert_eq!(error_of(&wrong), "invalid_grant");
    app.clock.advance(chrono::Duration::seconds(10));
    let issued = poll(VERIFIER).await;
    assert_eq!(issued.status, 200, "{}", issued.body);
    let me = app.sts(&keys_of(&issued), &[("Action", "GetCallerIdentity")]).await;
    assert_eq!(me.text("Arn").as_deref(), Some("arn:aws:sts::111122223333:assumed-role/Dev/alice"));
    assert_eq!(error_of(&poll(VERIFIER).await), "expired_token");

    // A request nobody approves is gone after ten minutes.
    let late = post_json(&app, "/cli/device/code", &start_fields).await;
    app.clock.advance(chrono::Duration::seconds(601));
    let fields = [
        ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
        ("device_code", late.body["device_code"].as_str().unwrap()),
        ("code_verifier", VERIFIER),
    ];
    assert_eq!(error_of(&post_json(&app, "/cli/token", &fields).await), "expired_token");
}

#[tokio::test]
#[ignore = "needs the test directories: scripts/test.sh runs it"]
async fn user_codes_cannot_be_guessed() {
    let app = directory_app("", "max_failures_per_address = 5\n").await;
    let browser = Browser::new(&app);
    for _ in 0..5 {
        let miss = browser.get("/cli/device?user_code=BCDF-GHJK").await;
        assert_eq!(miss.status, 400, "{}", miss.body);
        assert!(miss.body.contains("not known or has expired"));
    }
    let blocked = browser.get("/cli/device?user_code=BCDF-GHJL").await;
    assert_eq!(blocked.status, 429, "{}", blocked.body);
    // The approval page, where a device request's id is its code, counts the same misses.
    let direct = browser.get("/cli/approve?request=BCDFGHJL").await;
    assert_eq!(direct.status, 429, "{}", direct.body);
}

#[tokio::test]
#[ignore = "needs the test directories: scripts/test.sh runs it"]
async fn codes_guessed_at_the_approval_page_are_throttled_too() {
    let app = directory_app("", "max_failures_per_address = 3\n").await;
    let browser = Browser::new(&app);
    for _ in 0..3 {
        assert_eq!(browser.get("/cli/approve?request=BCDFGHJK").await.status, 404);
    }
    assert_eq!(browser.get("/cli/approve?request=BCDFGHJL").await.status, 429);
}

#[tokio::test]
#[ignore = "needs the test directories: scripts/test.sh runs it"]
async fn a_ci_job_signs_in_with_a_password_and_chooses_among_its_roles() {
    let app = directory_app("", "").await;
    let wrong = post_json(&app, "/cli/password", &[("username", "alice"), ("password", "nope")]).await;
    assert_eq!((wrong.status, error_of(&wrong)), (401, "invalid_credentials"));
    app.audit_event(|e| e["eventName"] == "DirectoryLogin" && e["errorCode"] == "InvalidCredentials").await;

    let several =
        post_json(&app, "/cli/password", &[("username", "alice"), ("password", "Alpha-Pass-1")]).await;
    assert_eq!((several.status, error_of(&several)), (409, "role_required"), "{}", several.body);
    let roles = &several.body["accounts"][0]["roles"];
    assert_eq!(roles.as_array().map(Vec::len), Some(2), "{}", several.body);
    let choice = several.body["choice"].as_str().unwrap().to_owned();

    let chosen =
        post_json(&app, "/cli/password", &[("choice", &choice), ("role", DEV), ("duration", "900")]).await;
    assert_eq!(chosen.status, 200, "{}", chosen.body);
    let me = app.sts(&keys_of(&chosen), &[("Action", "GetCallerIdentity")]).await;
    assert_eq!(me.text("Arn").as_deref(), Some("arn:aws:sts::111122223333:assumed-role/Dev/alice"));
    let expires = chrono::DateTime::parse_from_rfc3339(chosen.body["Expiration"].as_str().unwrap()).unwrap();
    assert_eq!((expires.timestamp() - app.clock_now().timestamp()), 900);

    // A choice altered, or kept past its assertion, is no sign-in.
    let mut altered = choice.clone();
    altered.replace_range(10..11, if &choice[10..11] == "A" { "B" } else { "A" });
    let forged = post_json(&app, "/cli/password", &[("choice", &altered), ("role", DEV)]).await;
    assert_eq!((forged.status, error_of(&forged)), (400, "invalid_grant"));
    app.clock.advance(chrono::Duration::seconds(600));
    let stale = post_json(&app, "/cli/password", &[("choice", &choice), ("role", DEV)]).await;
    assert_eq!((stale.status, error_of(&stale)), (400, "expired_token"));
    // A duration beyond the role's maximum is a clear refusal.
    let long = post_json(
        &app,
        "/cli/password",
        &[("username", "alice"), ("password", "Alpha-Pass-1"), ("role", DEV), ("duration", "43200")],
    )
    .await;
    assert_eq!((long.status, error_of(&long)), (400, "invalid_request"), "{}", long.body);
}

#[tokio::test]
async fn an_external_idps_sign_in_approves_the_command_as_well() {
    let (app, idp) = crate::saml::setup().await;
    let browser = Browser::new(&app);
    let provider = "&provider=arn%3Aaws%3Aiam%3A%3A111122223333%3Asaml-provider%2FCorp";
    let start = browser.get(&authorize_path(&s256_challenge(VERIFIER), RETURN, provider)).await;
    let approval_path = start.location.unwrap();
    // Not signed in: off to that provider's sign-in, coming back to the approval.
    let to_sign_in = browser.get(&approval_path).await;
    let location = to_sign_in.location.unwrap();
    assert!(
        location.starts_with(
            "/saml/login?provider=arn%3Aaws%3Aiam%3A%3A111122223333%3Asaml-provider%2FCorp&RelayState="
        ),
        "{location}"
    );
    // The IdP answers with the approval page as RelayState.
    let xml = idp.response(&crate::saml::TO, epoch(), |_| {});
    let encoded = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, xml);
    let posted =
        browser.post("/saml/acs", &[("SAMLResponse", &encoded), ("RelayState", &approval_path)]).await;
    let approval = browser.follow(posted).await;
    assert!(approval.body.contains("Allow the command line?"), "{}", approval.body);
    let role = "arn:aws:iam::111122223333:role/SamlDev";
    let back = decide(&browser, &approval, role, "allow").await;
    let code = query_value(&back.location.unwrap(), "code").unwrap();
    let fields = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", RETURN),
        ("code_verifier", VERIFIER),
    ];
    let issued = post_json(&app, "/cli/token", &fields).await;
    assert_eq!(issued.status, 200, "{}", issued.body);
    let me = app.sts(&keys_of(&issued), &[("Action", "GetCallerIdentity")]).await;
    assert_eq!(me.text("Arn").as_deref(), Some("arn:aws:sts::111122223333:assumed-role/SamlDev/alice"));
}

#[tokio::test]
#[ignore = "needs the test directories: scripts/test.sh runs it"]
async fn a_password_sign_in_asks_for_the_totp_code_its_groups_require() {
    let app = directory_app("", "mfa_groups = [\"admins\"]").await;
    let password = [("username", "alice"), ("password", "Alpha-Pass-1"), ("role", DEV)];
    // Not enrolled yet: that happens in a browser, where the QR code can be shown.
    let first = post_json(&app, "/cli/password", &password).await;
    assert_eq!((first.status, error_of(&first)), (403, "mfa_enrolment_required"));
    let b = Browser::new(&app);
    let enrol = b.submit_login(&b.login_form().await, "alice", "Alpha-Pass-1").await;
    let secret = enrol.by_id("totp-secret").unwrap();
    let seed = totp_rs::Secret::Encoded(secret).to_bytes().unwrap();
    let totp = idbroker::crypto::Totp::new(seed, "t", "alice").unwrap();
    let step = idbroker::crypto::Totp::step_of(app.clock_now().timestamp());
    let (csrf, pending) = (enrol.field("csrf").unwrap(), enrol.field("pending").unwrap());
    let code = totp.code_at_step(step);
    let enrolled = b.post("/idp/login", &[("csrf", &csrf), ("pending", &pending), ("code", &code)]).await;
    assert!(enrolled.field("SAMLResponse").is_some(), "{}", enrolled.body);

    let without = post_json(&app, "/cli/password", &password).await;
    assert_eq!((without.status, error_of(&without)), (401, "mfa_required"));
    let with = |code: String| {
        let app = &app;
        async move {
            let mut fields = password.to_vec();
            fields.push(("totp", &code));
            post_json(app, "/cli/password", &fields).await
        }
    };
    let wrong = with("000000".into()).await;
    assert_eq!((wrong.status, error_of(&wrong)), (401, "invalid_mfa_code"));
    let right = with(totp.code_at_step(step + 1)).await;
    assert_eq!(right.status, 200, "{}", right.body);
    // A code is good once.
    let replayed = with(totp.code_at_step(step + 1)).await;
    assert_eq!((replayed.status, error_of(&replayed)), (401, "invalid_mfa_code"));
}

#[tokio::test]
#[ignore = "needs the test directories: scripts/test.sh runs it"]
async fn a_request_started_on_one_node_is_approved_and_redeemed_on_others() {
    let app = directory_app("", "").await;
    let (other, _dir) = crate::keys::node_in_an_empty_folder(&app).await;
    let challenge = s256_challenge(VERIFIER);
    let start = post_json_at(
        &other,
        "/cli/device/code",
        &[("code_challenge", challenge.as_str()), ("code_challenge_method", "S256"), ("role", DEV)],
    )
    .await;
    let user_code = start.body["user_code"].as_str().unwrap().to_owned();
    let browser = Browser::new(&app);
    let entered = browser.get(&format!("/cli/device?user_code={user_code}")).await;
    let approval = sign_in_to_approve(&browser, entered).await;
    assert_eq!(decide(&browser, &approval, DEV, "allow").await.status, 200);
    let fields = [
        ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
        ("device_code", start.body["device_code"].as_str().unwrap()),
        ("code_verifier", VERIFIER),
    ];
    let issued = post_json_at(&other, "/cli/token", &fields).await;
    assert_eq!(issued.status, 200, "{}", issued.body);
    assert_eq!(
        error_of(&post_json(&app, "/cli/token", &fields).await),
        "expired_token",
        "used on the other node"
    );
}
