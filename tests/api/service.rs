//! Health, metrics, limits and the audit trail of the running service.
use crate::helpers::*;

#[tokio::test]
async fn health_readiness_and_metrics() {
    let app = spawn_app().await;
    assert_eq!(app.get("/healthz").await.status, 200);
    assert_eq!(app.get("/readyz").await.status, 200);
    app.admin(&[("Action", "ListUsers")]).await.ok();
    app.admin(&[("Action", "GetUser"), ("UserName", "nobody")]).await.err(404, "NoSuchEntity");
    let m = app.get("/metrics").await;
    assert!(
        m.body.contains(r#"idbroker_requests_total{action="ListUsers",outcome="success",service="iam"} 1"#),
        "{}",
        m.body
    );
    assert!(m
        .body
        .contains(r#"idbroker_requests_total{action="GetUser",outcome="NoSuchEntity",service="iam"} 1"#));
    assert!(m.body.contains("idbroker_request_duration_seconds_bucket"));
}

#[tokio::test]
async fn oversized_bodies_are_refused_before_parsing() {
    let app = spawn_app().await;
    let huge =
        form(&[("Version", "2010-05-08"), ("Action", "CreateUser"), ("UserName", &"a".repeat(300_000))]);
    app.signed("iam", &app.admin, &huge, 0).await.err(413, "RequestEntityTooLarge");
    // Unknown API versions and actions get AWS's code, not a crash.
    app.raw(&form(&[("Version", "1999-01-01"), ("Action", "X")]), &[]).await.err(400, "InvalidAction");
}

#[tokio::test]
async fn every_call_is_audited_without_secrets() {
    let app = spawn_app().await;
    let bob = app.user_with_key("bob").await;
    app.admin(&[("Action", "CreateLoginProfile"), ("UserName", "bob"), ("Password", "a-Very-secret-pw-1")])
        .await
        .ok();
    app.iam(&bob, &[("Action", "DeleteUser"), ("UserName", "admin")]).await.err(403, "AccessDenied");
    let wrong = Keys::long_term(bob.id.clone(), "y".repeat(40));
    app.iam(&wrong, &[("Action", "ListUsers")]).await.err(403, "SignatureDoesNotMatch");
    // Give the background writer a moment to store the batch.
    let store = idbroker::store::Store::connect(&app.settings.database.url, 1).await.unwrap();
    let mut events = Vec::new();
    for _ in 0..50 {
        events = store.recent_audit_events(20).await.unwrap();
        if events.len() >= 6 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    store.close().await;
    let all = events.join("\n");
    assert!(!all.contains("a-Very-secret-pw-1"), "{all}");
    assert!(!all.contains(&bob.secret));
    let parsed: Vec<serde_json::Value> = events.iter().map(|e| serde_json::from_str(e).unwrap()).collect();
    let denied = parsed.iter().find(|e| e["eventName"] == "DeleteUser").unwrap();
    assert_eq!(denied["errorCode"], "AccessDenied");
    assert_eq!(denied["userIdentity"]["arn"], "arn:aws:iam::111122223333:user/bob");
    assert_eq!(denied["eventSource"], "iam.amazonaws.com");
    assert!(denied["requestID"].as_str().unwrap().len() > 30);
    let bad_sig = parsed.iter().find(|e| e["errorCode"] == "SignatureDoesNotMatch").unwrap();
    assert_eq!(bad_sig["userIdentity"]["type"], "Unknown");
    let created = parsed.iter().find(|e| e["eventName"] == "CreateLoginProfile").unwrap();
    assert_eq!(created["requestParameters"]["Password"], "HIDDEN_DUE_TO_SECURITY_REASONS");
}

#[tokio::test]
async fn concurrent_writes_never_fail() {
    let app = std::sync::Arc::new(spawn_app().await);
    let mut tasks = Vec::new();
    for i in 0..24 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            let name = format!("c{i}");
            let mut statuses = Vec::new();
            statuses.push(app.admin(&[("Action", "CreateUser"), ("UserName", &name)]).await.status);
            // Tagging and key creation read, then write, in one transaction.
            for t in 0..3 {
                let key = format!("k{t}");
                let tag = [
                    ("Action", "TagUser"),
                    ("UserName", &name),
                    ("Tags.member.1.Key", &key),
                    ("Tags.member.1.Value", "v"),
                ];
                statuses.push(app.admin(&tag).await.status);
            }
            statuses.push(app.admin(&[("Action", "CreateAccessKey"), ("UserName", &name)]).await.status);
            statuses
        }));
    }
    for t in tasks {
        assert!(t.await.unwrap().iter().all(|s| *s == 200));
    }
    let r = app.admin(&[("Action", "ListUsers"), ("MaxItems", "100")]).await;
    assert_eq!(r.all("UserName").len(), 25);
}

/// A PostgreSQL URL that refuses connections stops start-up at once with the
/// cause, not "pool timed out" ten seconds later.
#[tokio::test]
async fn an_unreachable_database_is_named_with_its_cause() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let err = idbroker::store::Store::connect(&format!("postgres://idbroker@127.0.0.1:{closed}/idbroker"), 2)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("cannot be reached") && err.contains("refused"), "{err}");
}

/// Log lines written to a file (not a terminal) carry no colour codes.
#[tokio::test]
async fn logs_to_a_file_have_no_colour_codes() {
    let dir = tempfile::tempdir().unwrap();
    let log = std::fs::File::create(dir.path().join("serve.log")).unwrap();
    let mut serve = std::process::Command::new(env!("CARGO_BIN_EXE_idbroker"))
        .arg("serve")
        .env("IDBROKER__SERVER__LISTEN", "127.0.0.1:0")
        .env("IDBROKER__SERVER__DATA_DIR", dir.path().join("data"))
        .env("IDBROKER__DATABASE__URL", format!("sqlite://{}/db.sqlite", dir.path().display()))
        .env("IDBROKER__LOG__LEVEL", "info")
        .stderr(log)
        .spawn()
        .unwrap();
    let path = dir.path().join("serve.log");
    let mut text = String::new();
    for _ in 0..200 {
        text = std::fs::read_to_string(&path).unwrap();
        if text.contains("idbroker serving") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    serve.kill().unwrap();
    serve.wait().unwrap();
    assert!(text.contains("idbroker serving"), "{text}");
    assert!(!text.contains('\u{1b}'), "{text:?}");
}

/// HEAD is answered like GET, without a body; an unknown address gets the
/// branded 404 page.
#[tokio::test]
async fn head_is_answered_like_get_and_unknown_pages_are_branded() {
    let app = spawn_app().await;
    for path in ["/healthz", "/saml/metadata", "/idp/metadata", "/signin"] {
        let get = app.client.get(format!("{}{path}", app.base)).send().await.unwrap();
        let head = app.client.head(format!("{}{path}", app.base)).send().await.unwrap();
        assert_eq!(head.status(), get.status(), "{path}");
        assert_eq!(head.headers().get("content-type"), get.headers().get("content-type"), "{path}");
        assert!(head.bytes().await.unwrap().is_empty(), "{path}");
    }
    let missing = app.get("/no/such/page").await;
    assert_eq!(missing.status, 404);
    assert!(missing.body.contains("Page not found") && missing.body.contains("<html"), "{}", missing.body);
    // Every error page carries a request id, logged with the failure.
    let id = missing.body.split("Request id: <code>").nth(1).and_then(|t| t.split("</code>").next());
    assert!(id.is_some_and(|id| uuid::Uuid::parse_str(id).is_ok()), "{}", missing.body);
}
