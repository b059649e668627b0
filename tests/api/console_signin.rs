//! Password sign-in to the console (IAM users and root, with MFA) and AWS's
//! federation endpoint (T11): tokens single use, 15 minutes, same-origin
//! destinations only.
use crate::browser::*;
use crate::helpers::*;
use base64::Engine;
use chrono::Duration;
use idbroker::crypto::Totp;

async fn user_with_password(app: &TestApp, name: &str, password: &str) {
    app.admin(&[("Action", "CreateUser"), ("UserName", name)]).await.ok();
    app.admin(&[("Action", "CreateLoginProfile"), ("UserName", name), ("Password", password)]).await.ok();
}

async fn signin(b: &Browser, account: &str, user: &str, password: &str, mfa: &str) -> Page {
    let form = b.get("/signin").await;
    let csrf = form.field("csrf").unwrap();
    b.post(
        "/signin",
        &[("csrf", &csrf), ("account", account), ("username", user), ("password", password), ("mfa", mfa)],
    )
    .await
}

#[tokio::test]
async fn iam_users_sign_in_by_account_id_or_alias() {
    let app = spawn_app().await;
    user_with_password(&app, "carol", "Carol-Pass-123!").await;
    app.admin(&[("Action", "CreateAccountAlias"), ("AccountAlias", "example-corp")]).await.ok();
    for account in [ACCOUNT, "example-corp"] {
        let b = Browser::new(&app);
        let console = b.follow(signin(&b, account, "carol", "Carol-Pass-123!", "").await).await;
        assert_eq!(
            console.by_id("arn").as_deref(),
            Some("arn:aws:iam::111122223333:user/carol"),
            "{}",
            console.body
        );
        let who = app.sts(&Browser::credentials(&console), &[("Action", "GetCallerIdentity")]).await;
        assert_eq!(who.text("Arn").as_deref(), Some("arn:aws:iam::111122223333:user/carol"));
    }
    // Wrong password, unknown user, unknown account, user without a password: one answer.
    app.admin(&[("Action", "CreateUser"), ("UserName", "nopass")]).await.ok();
    let b = Browser::new(&app);
    let mut bodies = Vec::new();
    for (account, user, pw) in [
        (ACCOUNT, "carol", "wrong"),
        (ACCOUNT, "nobody", "x"),
        ("999999999999", "carol", "x"),
        (ACCOUNT, "nopass", "x"),
    ] {
        let p = signin(&b, account, user, pw, "").await;
        assert_eq!(p.status, 401);
        assert!(p.body.contains("Your authentication information is incorrect"));
        bodies.push(
            p.body.replace(&format!("value=\"{user}\""), "").replace(&format!("value=\"{account}\""), ""),
        );
    }
    assert!(bodies.windows(2).all(|w| w[0] == w[1]));
    // Without the form's token, nothing happens.
    assert_eq!(
        b.post("/signin", &[("account", ACCOUNT), ("username", "carol"), ("password", "Carol-Pass-123!")])
            .await
            .status,
        403
    );
}

#[tokio::test]
async fn a_user_with_an_mfa_device_needs_a_fresh_code() {
    let app = spawn_app().await;
    user_with_password(&app, "bob", "Bob-Pass-123!").await;
    let r = app.admin(&[("Action", "CreateVirtualMFADevice"), ("VirtualMFADeviceName", "bob-phone")]).await;
    let b64 = base64::engine::general_purpose::STANDARD;
    let base32 = String::from_utf8(b64.decode(r.text("Base32StringSeed").unwrap()).unwrap()).unwrap();
    let totp = Totp::new(totp_rs::Secret::Encoded(base32).to_bytes().unwrap(), "t", "bob").unwrap();
    let step = Totp::step_of(app.clock_now().timestamp());
    app.admin(&[
        ("Action", "EnableMFADevice"),
        ("UserName", "bob"),
        ("SerialNumber", "arn:aws:iam::111122223333:mfa/bob-phone"),
        ("AuthenticationCode1", &totp.code_at_step(step - 2)),
        ("AuthenticationCode2", &totp.code_at_step(step - 1)),
    ])
    .await
    .ok();
    let b = Browser::new(&app);
    let p = signin(&b, ACCOUNT, "bob", "Bob-Pass-123!", "").await;
    assert_eq!(p.status, 401);
    assert!(p.body.contains("MFA device"), "{}", p.body);
    assert_eq!(signin(&b, ACCOUNT, "bob", "Bob-Pass-123!", "000000").await.status, 401);
    let code = totp.code_at_step(step);
    let console = b.follow(signin(&b, ACCOUNT, "bob", "Bob-Pass-123!", &code).await).await;
    assert_eq!(console.status, 200, "{}", console.body);
    // The same code is not accepted twice.
    assert_eq!(signin(&Browser::new(&app), ACCOUNT, "bob", "Bob-Pass-123!", &code).await.status, 401);
}

#[tokio::test]
async fn root_sign_in_is_flagged_and_warned_without_mfa() {
    let app = spawn_app().await;
    let (email, password) = app.root.clone();
    let b = Browser::new(&app);
    let console = b.follow(signin(&b, "", &email, &password, "").await).await;
    assert_eq!(console.by_id("arn").as_deref(), Some("arn:aws:iam::111122223333:root"), "{}", console.body);
    assert!(console.body.contains("root user, which has no MFA device"));
    let e = app
        .audit_event(|e| {
            e["eventName"] == "ConsoleLogin"
                && e["additionalEventData"]["rootSignIn"] == true
                && e["errorCode"].is_null()
        })
        .await;
    assert_eq!(e["userIdentity"]["type"], "Root");
    assert_eq!(signin(&Browser::new(&app), "", &email, "wrong", "").await.status, 401);
}

/// Role credentials from AssumeRole, as a custom broker would hold them.
async fn role_credentials(app: &TestApp) -> Keys {
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"sts:AssumeRole"}]}"#;
    app.admin(&[("Action", "CreateRole"), ("RoleName", "Console"), ("AssumeRolePolicyDocument", trust)])
        .await
        .ok();
    let r = app
        .sts(
            &app.admin.clone(),
            &[
                ("Action", "AssumeRole"),
                ("RoleArn", "arn:aws:iam::111122223333:role/Console"),
                ("RoleSessionName", "broker"),
            ],
        )
        .await;
    r.ok();
    Keys::from_credentials(&r)
}

fn session_json(k: &Keys) -> String {
    serde_json::json!({ "sessionId": k.id, "sessionKey": k.secret, "sessionToken": k.token }).to_string()
}

async fn signin_token(b: &Browser, keys: &Keys, extra: &str) -> Page {
    b.get(&format!(
        "/federation?Action=getSigninToken&Session={}{extra}",
        form(&[("x", &session_json(keys))])[2..].to_owned()
    ))
    .await
}

#[tokio::test]
async fn t11_federation_tokens_are_single_use_short_lived_and_stay_on_this_origin() {
    let app = spawn_app().await;
    let keys = role_credentials(&app).await;
    let b = Browser::new(&app);
    let issued = signin_token(&b, &keys, "").await;
    assert_eq!(issued.status, 200, "{}", issued.body);
    let token: serde_json::Value = serde_json::from_str(&issued.body).unwrap();
    let token = token["SigninToken"].as_str().unwrap().to_owned();
    let login = |t: &str, dest: &str| {
        format!(
            "/federation?Action=login&Issuer=https%3A%2F%2Fevil.test&Destination={}&SigninToken={t}",
            form(&[("x", dest)])[2..].to_owned()
        )
    };
    let first = b.get(&login(&token, "https://evil.test/")).await;
    assert_eq!(first.status, 303);
    assert_eq!(first.location.as_deref(), Some("/console"), "evil destination replaced");
    let console = b.follow(first).await;
    assert_eq!(
        console.by_id("arn").as_deref(),
        Some("arn:aws:sts::111122223333:assumed-role/Console/broker")
    );
    // Single use: a second browser (or the same) cannot use it again.
    assert_eq!(Browser::new(&app).get(&login(&token, "/console")).await.status, 400);
    // Destinations: only paths of this origin survive.
    for (dest, expected) in [
        ("//evil.test", "/console"),
        ("javascript:alert(1)", "/console"),
        ("http://127.0.0.1:8080/console?x=1", "/console?x=1"),
    ] {
        let t: serde_json::Value = serde_json::from_str(&signin_token(&b, &keys, "").await.body).unwrap();
        let p = Browser::new(&app).get(&login(t["SigninToken"].as_str().unwrap(), dest)).await;
        assert_eq!(p.location.as_deref(), Some(expected), "{dest}");
    }
    // Fifteen minutes: an older token is refused.
    let t: serde_json::Value = serde_json::from_str(&signin_token(&b, &keys, "").await.body).unwrap();
    app.clock.advance(Duration::seconds(901));
    assert_eq!(
        Browser::new(&app).get(&login(t["SigninToken"].as_str().unwrap(), "/console")).await.status,
        400
    );
    // SessionDuration outside 900..43200, long-term keys, a wrong secret: refused.
    for extra in ["&SessionDuration=899", "&SessionDuration=43201", "&SessionDuration=abc"] {
        assert_eq!(signin_token(&b, &keys, extra).await.status, 400, "{extra}");
    }
    let wrong = Keys { secret: "x".repeat(40), ..keys.clone() };
    assert_eq!(signin_token(&b, &wrong, "").await.status, 403);
    let long_term = Keys { token: Some("not-a-token".into()), ..app.admin.clone() };
    assert_eq!(signin_token(&b, &long_term, "").await.status, 403);
}
