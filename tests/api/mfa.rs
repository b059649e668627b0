//! Virtual MFA devices with codes computed from the returned seed, at a fixed time.
use crate::helpers::*;
use base64::Engine;
use idbroker::crypto::Totp;

const SERIAL: &str = "arn:aws:iam::111122223333:mfa/bob-phone";

async fn create_device(app: &TestApp) -> Totp {
    let r = app.admin(&[("Action", "CreateVirtualMFADevice"), ("VirtualMFADeviceName", "bob-phone")]).await;
    r.ok();
    assert_eq!(r.text("SerialNumber").as_deref(), Some(SERIAL));
    let b64 = base64::engine::general_purpose::STANDARD;
    let png = b64.decode(r.text("QRCodePNG").unwrap()).unwrap();
    assert!(png.starts_with(b"\x89PNG"));
    let base32 = String::from_utf8(b64.decode(r.text("Base32StringSeed").unwrap()).unwrap()).unwrap();
    let seed = totp_rs::Secret::Encoded(base32).to_bytes().unwrap();
    Totp::new(seed, "test", "bob").unwrap()
}

fn step(app: &TestApp) -> i64 {
    Totp::step_of(app.clock_now().timestamp())
}

#[tokio::test]
async fn enabling_takes_two_consecutive_current_codes() {
    let app = spawn_app().await;
    app.admin(&[("Action", "CreateUser"), ("UserName", "bob")]).await.ok();
    let totp = create_device(&app).await;
    let now = step(&app);
    let enable = |c1: String, c2: String| {
        let app = &app;
        async move {
            app.admin(&[
                ("Action", "EnableMFADevice"),
                ("UserName", "bob"),
                ("SerialNumber", SERIAL),
                ("AuthenticationCode1", &c1),
                ("AuthenticationCode2", &c2),
            ])
            .await
        }
    };
    // Not consecutive, reversed, stale, or malformed: refused, nothing enabled.
    enable(totp.code_at_step(now - 1), totp.code_at_step(now + 1))
        .await
        .err(403, "InvalidAuthenticationCode");
    enable(totp.code_at_step(now), totp.code_at_step(now - 1)).await.err(403, "InvalidAuthenticationCode");
    enable(totp.code_at_step(now - 10), totp.code_at_step(now - 9))
        .await
        .err(403, "InvalidAuthenticationCode");
    enable("abcdef".into(), "123".into()).await.err(403, "InvalidAuthenticationCode");
    let r = app.admin(&[("Action", "ListMFADevices"), ("UserName", "bob")]).await;
    assert!(r.all("SerialNumber").is_empty());
    enable(totp.code_at_step(now - 1), totp.code_at_step(now)).await.ok();
    enable(totp.code_at_step(now), totp.code_at_step(now + 1)).await.err(409, "EntityAlreadyExists");
    let r = app.admin(&[("Action", "ListMFADevices"), ("UserName", "bob")]).await;
    assert_eq!(r.all("SerialNumber"), vec![SERIAL]);
    let r = app.admin(&[("Action", "ListVirtualMFADevices"), ("AssignmentStatus", "Assigned")]).await;
    assert_eq!(r.all("SerialNumber"), vec![SERIAL]);
    assert_eq!(r.text("UserName").as_deref(), Some("bob"));
}

#[tokio::test]
async fn an_enabled_device_is_deactivated_before_deletion() {
    let app = spawn_app().await;
    app.admin(&[("Action", "CreateUser"), ("UserName", "bob")]).await.ok();
    let totp = create_device(&app).await;
    app.admin(&[("Action", "CreateVirtualMFADevice"), ("VirtualMFADeviceName", "bob-phone")])
        .await
        .err(409, "EntityAlreadyExists");
    let now = step(&app);
    let (c1, c2) = (totp.code_at_step(now), totp.code_at_step(now + 1));
    app.admin(&[
        ("Action", "EnableMFADevice"),
        ("UserName", "bob"),
        ("SerialNumber", SERIAL),
        ("AuthenticationCode1", &c1),
        ("AuthenticationCode2", &c2),
    ])
    .await
    .ok();
    app.admin(&[("Action", "DeleteVirtualMFADevice"), ("SerialNumber", SERIAL)])
        .await
        .err(409, "DeleteConflict");
    app.admin(&[("Action", "DeleteUser"), ("UserName", "bob")]).await.err(409, "DeleteConflict");
    // Resync after drift: the phone is five minutes ahead.
    let ahead = now + 10;
    let (r1, r2) = (totp.code_at_step(ahead), totp.code_at_step(ahead + 1));
    app.admin(&[
        ("Action", "ResyncMFADevice"),
        ("UserName", "bob"),
        ("SerialNumber", SERIAL),
        ("AuthenticationCode1", &r1),
        ("AuthenticationCode2", &r2),
    ])
    .await
    .ok();
    app.admin(&[("Action", "DeactivateMFADevice"), ("UserName", "bob"), ("SerialNumber", SERIAL)]).await.ok();
    app.admin(&[("Action", "DeleteVirtualMFADevice"), ("SerialNumber", SERIAL)]).await.ok();
    app.admin(&[("Action", "DeleteVirtualMFADevice"), ("SerialNumber", SERIAL)])
        .await
        .err(404, "NoSuchEntity");
    app.admin(&[("Action", "DeleteUser"), ("UserName", "bob")]).await.ok();
}
