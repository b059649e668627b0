//! Behind a proxy (`server.trusted_proxies`), the client's address comes from
//! the forwarding headers, and the throttle tells familiar addresses from
//! unfamiliar ones (src/console/throttle.rs): a spray or one person's typos
//! from the company's one NAT address lock out nobody who signed in from there
//! before.
use crate::browser::{directory_app_serving, Browser};
use crate::helpers::*;

const BEHIND_PROXY: &str = "trusted_proxies = [\"127.0.0.1/32\"]";
/// The company's NAT address, and an attacker's elsewhere.
const OFFICE: &str = "198.51.100.10";
const ELSEWHERE: &str = "203.0.113.66";

async fn company_app() -> TestApp {
    directory_app_serving(BEHIND_PROXY, "", "max_failures_per_user = 3\nmax_failures_per_address = 6").await
}

async fn login(browser: &Browser, user: &str, password: &str) -> u16 {
    browser.submit_login(&browser.login_form().await, user, password).await.status
}

#[tokio::test]
#[ignore = "needs the test directories: scripts/test.sh runs it"]
async fn a_spray_from_the_office_address_spares_those_who_signed_in_there_before() {
    let app = company_app().await;
    let office = Browser::relayed_from(&app, OFFICE);
    assert_eq!(login(&office, "alice", "Alpha-Pass-1").await, 200, "alice has signed in from the office");
    // A spray from the same address: two wrong passwords for each of three accounts.
    for user in ["bob", "carol", "dave"] {
        for _ in 0..2 {
            assert_eq!(login(&office, user, "Spring2026!").await, 401);
        }
    }
    // The address's budget is spent for accounts it is not familiar to...
    assert_eq!(login(&office, "bob", "Bravo-Pass-2").await, 429);
    // ...but alice keeps signing in from the office.
    assert_eq!(login(&office, "alice", "Alpha-Pass-1").await, 200);
    // And bob, from his own address, is not held by the office's failures.
    assert_eq!(login(&Browser::relayed_from(&app, "192.0.2.44"), "bob", "Bravo-Pass-2").await, 200);
}

#[tokio::test]
#[ignore = "needs the test directories: scripts/test.sh runs it"]
async fn guessing_one_account_from_elsewhere_does_not_lock_its_owner_out_at_the_office() {
    let app = company_app().await;
    let office = Browser::relayed_from(&app, OFFICE);
    assert_eq!(login(&office, "alice", "Alpha-Pass-1").await, 200);
    let attacker = Browser::relayed_from(&app, ELSEWHERE);
    for _ in 0..3 {
        assert_eq!(login(&attacker, "alice", "guess").await, 401);
    }
    assert_eq!(login(&attacker, "alice", "Alpha-Pass-1").await, 429, "the guessing stops");
    // From a third, also unfamiliar, address the same budget is spent.
    assert_eq!(login(&Browser::relayed_from(&app, "192.0.2.9"), "alice", "Alpha-Pass-1").await, 429);
    assert_eq!(login(&office, "alice", "Alpha-Pass-1").await, 200, "alice is not locked out at the office");
}

#[tokio::test]
#[ignore = "needs the test directories: scripts/test.sh runs it"]
async fn one_persons_typos_at_the_office_hold_only_that_person() {
    let app = company_app().await;
    let office = Browser::relayed_from(&app, OFFICE);
    for (user, password) in [("alice", "Alpha-Pass-1"), ("bob", "Bravo-Pass-2")] {
        assert_eq!(login(&office, user, password).await, 200);
    }
    for _ in 0..3 {
        assert_eq!(login(&office, "alice", "Alpha-Pass-l").await, 401);
    }
    assert_eq!(login(&office, "alice", "Alpha-Pass-1").await, 429);
    assert_eq!(login(&office, "bob", "Bravo-Pass-2").await, 200);
    // Newcomers at the office are not held either: familiar failures do not
    // spend the address's budget.
    assert_eq!(login(&office, "carol", "Charlie-Pass-3").await, 200);
}

/// The audit records the client's address, not the proxy's; a client that
/// is not a trusted proxy cannot choose its address with the header.
#[tokio::test]
#[ignore = "needs the test directories: scripts/test.sh runs it"]
async fn the_audit_records_the_relayed_address_only_from_a_trusted_proxy() {
    for (server, recorded) in [(BEHIND_PROXY, OFFICE), ("", "127.0.0.1")] {
        let app = directory_app_serving(server, "", "").await;
        login(&Browser::relayed_from(&app, OFFICE), "alice", "wrong").await;
        let event = app.audit_event(|e| e["eventName"] == "DirectoryLogin").await;
        assert_eq!(event["sourceIPAddress"], recorded, "trusted_proxies = {server:?}");
    }
}
