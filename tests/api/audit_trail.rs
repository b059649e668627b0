//! The audit trail loses nothing: with the database held, requests wait for
//! room and are refused retryably when there is none, every answered request
//! has its event once the database is back, read-only calls can be left out,
//! and retention exports before it deletes.
use crate::helpers::{epoch, spawn_app, spawn_app_with, TestApp};
use idbroker::audit::AuditExport;
use idbroker::store::Store;
use sqlx::Connection;
use std::collections::HashSet;
use std::time::Duration;

/// A connection holding the database's write lock (SQLite) or the audit
/// table's (PostgreSQL) until dropped or committed: the audit writer stalls.
async fn hold_audit_table(app: &TestApp) -> sqlx::AnyConnection {
    sqlx::any::install_default_drivers();
    let url = &app.settings.database.url;
    let mut conn = sqlx::AnyConnection::connect(url).await.unwrap();
    let lock = if url.starts_with("sqlite:") {
        "BEGIN IMMEDIATE"
    } else {
        "BEGIN; LOCK TABLE audit_events IN SHARE ROW EXCLUSIVE MODE"
    };
    sqlx::raw_sql(lock).execute(&mut conn).await.unwrap();
    conn
}

async fn stored_request_ids(app: &TestApp) -> HashSet<String> {
    let store = Store::connect(&app.settings.database.url, 1).await.unwrap();
    let ids = store
        .recent_audit_events(100_000)
        .await
        .unwrap()
        .iter()
        .map(|e| {
            serde_json::from_str::<serde_json::Value>(e).unwrap()["requestID"].as_str().unwrap().to_owned()
        })
        .collect();
    store.close().await;
    ids
}

#[tokio::test]
async fn with_the_trail_full_requests_wait_or_are_refused_and_no_event_is_lost() {
    let app = spawn_app_with("[audit]\nqueue = 4\nmax_wait_ms = 300\n").await;
    let identity = [("Action", "GetCallerIdentity"), ("Version", "2011-06-15")];
    app.sts(&app.admin, &identity).await.ok();
    let held = hold_audit_table(&app).await;
    let burst: Vec<_> = (0..24).map(|_| app.sts(&app.admin, &identity)).collect();
    let replies =
        tokio::time::timeout(Duration::from_secs(30), futures_util::future::join_all(burst)).await.unwrap();
    // The writer has been stalled all along: at most 4 answered, the rest
    // refused with a retryable error after waiting for room.
    let mut answered = HashSet::new();
    let mut refused = 0;
    for r in &replies {
        match r.status {
            200 => {
                answered.insert(r.headers["x-amzn-requestid"].to_str().unwrap().to_owned());
            }
            503 => {
                assert_eq!(r.code().as_deref(), Some("ServiceUnavailable"));
                assert_eq!(r.headers["retry-after"], "1");
                refused += 1;
            }
            other => panic!("unexpected status {other}: {}", r.body),
        }
    }
    assert!(answered.len() <= 4 && refused >= 20, "answered {}, refused {refused}", answered.len());
    let metrics = app.get("/metrics").await;
    assert!(metrics.body.contains("idbroker_audit_refusals_total 2"), "{}", metrics.body);
    assert!(metrics.body.contains("idbroker_audit_queue_depth"));

    held.close().await.unwrap();
    // Once the database is back, every answered request has its event, and
    // new requests get room again.
    for _ in 0..200 {
        if answered.is_subset(&stored_request_ids(&app).await) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(answered.is_subset(&stored_request_ids(&app).await));
    let after = app.sts(&app.admin, &identity).await;
    after.ok();
    let id = after.headers["x-amzn-requestid"].to_str().unwrap().to_owned();
    app.audit_event(|e| e["requestID"] == id.as_str()).await;
}

#[tokio::test]
async fn read_only_calls_can_be_left_out_but_their_errors_cannot() {
    let app = spawn_app_with("[audit]\nskip_read_only = true\n").await;
    let read = app.sts(&app.admin, &[("Action", "GetCallerIdentity"), ("Version", "2011-06-15")]).await;
    read.ok();
    let read_id = read.headers["x-amzn-requestid"].to_str().unwrap().to_owned();
    app.admin(&[("Action", "GetUser"), ("UserName", "nobody")]).await.err(404, "NoSuchEntity");
    app.admin(&[("Action", "CreateUser"), ("UserName", "carol")]).await.ok();
    let created = app.audit_event(|e| e["eventName"] == "CreateUser").await;
    assert_eq!(created["readOnly"], false);
    let missing = app.audit_event(|e| e["eventName"] == "GetUser").await;
    assert_eq!(
        (missing["readOnly"].as_bool(), missing["errorCode"].as_str()),
        (Some(true), Some("NoSuchEntity"))
    );
    assert!(!stored_request_ids(&app).await.contains(&read_id));

    // By default they are kept, marked read-only.
    let app = spawn_app().await;
    app.sts(&app.admin, &[("Action", "GetCallerIdentity"), ("Version", "2011-06-15")]).await.ok();
    let kept = app.audit_event(|e| e["eventName"] == "GetCallerIdentity").await;
    assert_eq!(kept["readOnly"], true);
}

/// A client can put a NUL in the action's name; PostgreSQL text cannot hold
/// one, and the event (and the group commit it rides in) must not fail.
#[tokio::test]
async fn an_action_named_with_nul_is_still_audited() {
    let app = spawn_app().await;
    let r = app.iam(&app.admin, &[("Action", "List\0Users"), ("Version", "2010-05-08")]).await;
    r.err(400, "InvalidAction");
    let id = r.headers["x-amzn-requestid"].to_str().unwrap().to_owned();
    let event = app.audit_event(|e| e["requestID"] == id.as_str()).await;
    assert_eq!(event["eventName"], "List\u{0}Users");
}

#[tokio::test]
async fn retention_exports_old_events_before_deleting_them() {
    let app = spawn_app().await;
    for name in ["old1", "old2"] {
        app.admin(&[("Action", "CreateUser"), ("UserName", name)]).await.ok();
    }
    app.audit_event(|e| e["requestParameters"]["UserName"] == "old2").await;
    app.clock.advance(chrono::Duration::days(3));
    app.admin(&[("Action", "CreateUser"), ("UserName", "fresh")]).await.ok();
    app.audit_event(|e| e["requestParameters"]["UserName"] == "fresh").await;

    let store = Store::connect(&app.settings.database.url, 2).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("audit.jsonl");
    let export = AuditExport::from_setting(file.to_str().unwrap(), 1 << 20).unwrap();
    let now = app.clock_now();
    let deleted = idbroker::store::apply_audit_retention(
        &store,
        Some(&export),
        now - chrono::Duration::days(1),
        now,
        None,
    )
    .await
    .unwrap();
    let exported: Vec<serde_json::Value> =
        std::fs::read_to_string(&file).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(exported.len() as u64, deleted);
    let names: Vec<_> = exported.iter().filter_map(|e| e["requestParameters"]["UserName"].as_str()).collect();
    assert!(names.contains(&"old1") && names.contains(&"old2") && !names.contains(&"fresh"), "{names:?}");
    let left = store.recent_audit_events(1000).await.unwrap();
    assert!(left.iter().all(|e| !e.contains("\"old1\"") && !e.contains("\"old2\"")));
    assert!(left.iter().any(|e| e.contains("\"fresh\"")));

    // One node at a time: a lease held by one node is not taken by another
    // until it expires.
    // (The app took the lease at start-up, at the epoch; it has expired by then.)
    let t = epoch().timestamp() + 10 * 86_400;
    assert!(idbroker::store::retention_turn(&store, "node-a", t).await.unwrap());
    assert!(!idbroker::store::retention_turn(&store, "node-b", t + 60).await.unwrap());
    assert!(idbroker::store::retention_turn(&store, "node-a", t + 60).await.unwrap());
    assert!(idbroker::store::retention_turn(&store, "node-b", t + 60 + 15 * 60).await.unwrap());
    store.close().await;
}
