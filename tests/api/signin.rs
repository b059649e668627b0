//! Directory sign-in through the browser flow against the real test
//! OpenLDAP: built-in IdP → ACS → role picker → console, and the L cases of
//! security.md (each refused with the same page, the reason in the audit).
use crate::browser::*;
use crate::helpers::*;

const REFUSED: &str = "Incorrect user name or password.";

#[tokio::test]
#[ignore = "needs the test directories: scripts/test.sh runs it"]
async fn one_role_goes_straight_to_a_console_with_working_credentials() {
    let app = directory_app("", "").await;
    let browser = Browser::new(&app);
    let console = browser.sign_in("bob", "Bravo-Pass-2").await;
    assert_eq!(console.status, 200, "{}", console.body);
    assert_eq!(console.by_id("role-arn").as_deref(), Some("arn:aws:iam::111122223333:role/Dev"));
    assert_eq!(console.header("cache-control"), "no-store");
    let keys = Browser::credentials(&console);
    assert!(keys.id.starts_with("ASIA"), "{}", keys.id);
    let who = app.sts(&keys, &[("Action", "GetCallerIdentity")]).await;
    who.ok();
    assert_eq!(who.text("Arn").as_deref(), Some("arn:aws:sts::111122223333:assumed-role/Dev/bob"));
    let e =
        app.audit_event(|e| e["eventName"] == "ConsoleLogin" && e["userIdentity"]["userName"] == "bob").await;
    assert_eq!(
        e["principalArn"].as_str().or(e["userIdentity"]["arn"].as_str()),
        Some("arn:aws:sts::111122223333:assumed-role/Dev/bob")
    );
}

#[tokio::test]
#[ignore = "needs the test directories: scripts/test.sh runs it"]
async fn several_roles_go_through_the_picker_which_needs_its_token() {
    let app = directory_app("", "").await;
    let browser = Browser::new(&app);
    let picker = browser.sign_in("alice", "Alpha-Pass-1").await;
    assert_eq!(picker.status, 200);
    assert!(picker.body.contains("arn:aws:iam::111122223333:role/Admin"), "{}", picker.body);
    assert!(picker.body.contains("arn:aws:iam::111122223333:role/Dev"));
    let csrf = picker.field("csrf").unwrap();
    // No token, another token, a role not offered: refused, nothing opened.
    let p = browser.post("/console/roles", &[("role", "arn:aws:iam::111122223333:role/Admin")]).await;
    assert_eq!(p.status, 403);
    let p = browser
        .post(
            "/console/roles",
            &[("csrf", &"0".repeat(64)), ("role", "arn:aws:iam::111122223333:role/Admin")],
        )
        .await;
    assert_eq!(p.status, 403);
    let p = browser
        .post("/console/roles", &[("csrf", &csrf), ("role", "arn:aws:iam::111122223333:role/Paren")])
        .await;
    assert_eq!(p.status, 400);
    // Nothing chosen: the picker again, with a message.
    let again = browser.post("/console/roles", &[("csrf", &csrf)]).await;
    assert_eq!(again.status, 400);
    assert!(
        again.body.contains("Choose one of the roles below") && again.body.contains("role/Dev"),
        "{}",
        again.body
    );
    assert_eq!(browser.get("/console").await.location.as_deref(), Some("/"));
    let console = browser
        .follow(
            browser
                .post("/console/roles", &[("csrf", &csrf), ("role", "arn:aws:iam::111122223333:role/Admin")])
                .await,
        )
        .await;
    assert_eq!(console.by_id("arn").as_deref(), Some("arn:aws:sts::111122223333:assumed-role/Admin/alice"));
    assert!(console.body.contains("href=\"/console/roles\""), "switch role is offered");
}

#[tokio::test]
#[ignore = "needs the test directories: scripts/test.sh runs it"]
async fn nested_groups_three_deep_and_cycles_resolve() {
    let app = directory_app("", "").await;
    // carol: engineering -> staff -> AWS-111122223333-Dev.
    let console = Browser::new(&app).sign_in("carol", "Charlie-Pass-3").await;
    assert_eq!(
        console.by_id("role-arn").as_deref(),
        Some("arn:aws:iam::111122223333:role/Dev"),
        "{}",
        console.body
    );
    // dave is also in cycle-b <-> cycle-a: the walk ends.
    let console = Browser::new(&app).sign_in("dave", "Delta-Pass-4").await;
    assert_eq!(console.by_id("role-arn").as_deref(), Some("arn:aws:iam::111122223333:role/Dev"));
}

#[tokio::test]
#[ignore = "needs the test directories: scripts/test.sh runs it"]
async fn l01_empty_and_blank_passwords_never_reach_a_bind() {
    let app = directory_app("", "").await;
    let browser = Browser::new(&app);
    let form = browser.login_form().await;
    for (user, password) in [
        ("alice", ""),
        ("alice", " "),
        ("alice", "\0Alpha-Pass-1"),
        ("", ""),
        ("uid=alice,ou=people,dc=example,dc=org", ""),
    ] {
        let p = browser.submit_login(&form, user, password).await;
        assert_eq!(p.status, 401, "{user:?}/{password:?}");
        assert!(p.body.contains(REFUSED));
    }
    assert_eq!(refusal_reason(&app, "alice").await, "empty-password");
}

#[tokio::test]
#[ignore = "needs the test directories: scripts/test.sh runs it"]
async fn l02_filter_injection_matches_nothing() {
    let app = directory_app("", "max_failures_per_address = 100\nmax_failures_per_user = 100").await;
    let browser = Browser::new(&app);
    let form = browser.login_form().await;
    // RFC 4515 filter characters (L02), then DN syntax (L03): nothing matches.
    for user in [
        "*",
        "adm*",
        "a*",
        "alice)(|(objectClass=*)",
        "*)(uid=*))(|(uid=*",
        "alice\\00",
        "\\2a",
        "alice,ou=admins",
        "x,cn=admin",
        "admin+cn=x",
        "#41",
        "\"alice\"",
        "<alice>",
        "alice;",
        "bob@other.test",
        "OTHER\\bob",
    ] {
        let p = browser.submit_login(&form, user, "Alpha-Pass-1").await;
        assert_eq!(p.status, 401, "{user}");
        // Unescaped, `*` and `a*` would match several entries (ambiguous) or alice.
        assert_eq!(refusal_reason(&app, user).await, "unknown-user", "{user}");
    }
    // A user whose name holds filter characters signs in, literally (and the
    // group filter built from their DN is escaped too: they get their role).
    let console = Browser::new(&app).sign_in("eve(x)*", "Eve-Pass-7").await;
    assert_eq!(
        console.by_id("role-arn").as_deref(),
        Some("arn:aws:iam::111122223333:role/Paren"),
        "{}",
        console.body
    );
}

#[tokio::test]
#[ignore = "needs the test directories: scripts/test.sh runs it"]
async fn l04_a_name_matching_two_entries_is_refused() {
    let app = directory_app("", "").await;
    let browser = Browser::new(&app);
    let p = browser.submit_login(&browser.login_form().await, "twin", "Twin-Pass-1").await;
    assert_eq!(p.status, 401);
    assert_eq!(refusal_reason(&app, "twin").await, "ambiguous-user");
}

#[tokio::test]
#[ignore = "needs the test directories: scripts/test.sh runs it"]
async fn l05_l06_locked_unknown_and_wrong_password_look_the_same() {
    let app = directory_app("", "max_failures_per_address = 1000\nmax_failures_per_user = 1000").await;
    let browser = Browser::new(&app);
    let form = browser.login_form().await;
    // The page echoes the typed name and carries a fresh sealed request; the rest must match.
    let normalise = |p: &Page, user: &str| {
        let request = p.field("request").unwrap();
        p.body.replace(&request, "REQUEST").replace(&format!("value=\"{user}\""), "value=\"USER\"")
    };
    let cases = [("mallory", "Mike-Pass-6"), ("nosuchuser", "Alpha-Pass-1"), ("bob", "wrong-password")];
    let mut bodies = Vec::new();
    let mut medians = Vec::new();
    for (user, password) in cases {
        let mut times = Vec::new();
        let mut last = None;
        for _ in 0..15 {
            let started = std::time::Instant::now();
            let p = browser.submit_login(&form, user, password).await;
            times.push(started.elapsed());
            assert_eq!(p.status, 401, "{user}");
            assert_eq!(p.set_cookies(), Vec::<String>::new(), "no cookie differs");
            last = Some(p);
        }
        times.sort();
        medians.push(times[times.len() / 2]);
        bodies.push(normalise(last.as_ref().unwrap(), user));
    }
    assert_eq!(bodies[0], bodies[1]);
    assert_eq!(bodies[1], bodies[2]);
    let (min, max) = (medians.iter().min().unwrap(), medians.iter().max().unwrap());
    assert!(*max - *min < std::time::Duration::from_millis(50), "medians {medians:?}");
}

#[tokio::test]
#[ignore = "needs the test directories: scripts/test.sh runs it"]
async fn l07_repeated_failures_are_throttled_per_user_and_address() {
    let app = directory_app("", "max_failures_per_user = 5\nmax_failures_per_address = 8").await;
    let browser = Browser::new(&app);
    let form = browser.login_form().await;
    for _ in 0..5 {
        assert_eq!(browser.submit_login(&form, "bob", "wrong").await.status, 401);
    }
    // Now even the right password waits: the directory is not asked.
    let p = browser.submit_login(&form, "bob", "Bravo-Pass-2").await;
    assert_eq!(p.status, 429, "{}", p.body);
    // Another user from this address still may, until the address limit.
    for _ in 0..3 {
        assert_eq!(browser.submit_login(&form, "carol", "wrong").await.status, 401);
    }
    assert_eq!(browser.submit_login(&form, "dave", "Delta-Pass-4").await.status, 429);
}

#[tokio::test]
#[ignore = "needs the test directories: scripts/test.sh runs it"]
async fn l09_transport_fails_closed() {
    let ldaps = std::env::var("OPENLDAPS_URL").expect("OPENLDAPS_URL");
    let app = directory_app("starttls = true", "").await;
    // StartTLS on a port that speaks TLS from the first byte: the upgrade fails, no bind follows.
    let ldaps_port = ldaps.rsplit(':').next().unwrap();
    let refused_starttls = spawn_app_with(
        &openldap_toml("starttls = true", "")
            .replace(&std::env::var("OPENLDAP_URL").unwrap(), &format!("ldap://127.0.0.1:{ldaps_port}")),
    )
    .await;
    // LDAPS with a CA bundle that does not hold the directory's CA: settings
    // that can never work stop start-up, naming the cause.
    let untrusted = {
        let other_ca = std::env::temp_dir().join(format!("untrusted-ca-{}.pem", std::process::id()));
        std::fs::write(&other_ca, self_signed("Other CA").1.to_pem().unwrap()).unwrap();
        let toml = openldap_toml("", "")
            .replace(&std::env::var("OPENLDAP_URL").unwrap(), &ldaps)
            .replace(&std::env::var("OPENLDAP_CA_CERT").unwrap(), &other_ca.display().to_string());
        start_up_error(&toml).await
    };
    assert!(untrusted.contains("TLS") && untrusted.contains("certificate"), "{untrusted}");
    for broken in [&refused_starttls] {
        let browser = Browser::new(broken);
        let p = browser.submit_login(&browser.login_form().await, "bob", "Bravo-Pass-2").await;
        assert_eq!(p.status, 503, "{}", p.body);
        assert!(p.body.contains("cannot be reached"));
        // The API keeps serving, and /metrics shows the directory down.
        broken.admin(&[("Action", "GetUser")]).await.ok();
        assert!(broken.get("/metrics").await.body.contains("idbroker_directory_up 0"));
    }
    // StartTLS where the server offers it, with the right CA: works.
    let console = Browser::new(&app).sign_in("bob", "Bravo-Pass-2").await;
    assert_eq!(console.status, 200, "{}", console.body);
    // And LDAPS with the right CA.
    let toml = openldap_toml("", "").replace(&std::env::var("OPENLDAP_URL").unwrap(), &ldaps);
    let over_ldaps = spawn_app_with(&toml).await;
    over_ldaps
        .admin(&[("Action", "CreateRole"), ("RoleName", "Dev"), ("AssumeRolePolicyDocument", TRUST_IDBROKER)])
        .await
        .ok();
    let console = Browser::new(&over_ldaps).sign_in("bob", "Bravo-Pass-2").await;
    assert_eq!(console.status, 200, "{}", console.body);
}

#[tokio::test]
#[ignore = "needs the test directories: scripts/test.sh runs it"]
async fn a_directory_that_is_down_gives_a_clear_page_and_the_api_serves() {
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let toml = openldap_toml("timeout_seconds = 2", "")
        .replace(&std::env::var("OPENLDAP_URL").unwrap(), &format!("ldap://127.0.0.1:{closed}"));
    let app = spawn_app_with(&toml).await;
    let browser = Browser::new(&app);
    let p = browser.submit_login(&browser.login_form().await, "bob", "Bravo-Pass-2").await;
    assert_eq!(p.status, 503);
    assert!(p.body.contains("cannot be reached"), "{}", p.body);
    app.admin(&[("Action", "ListUsers")]).await.ok();
    assert!(app.get("/metrics").await.body.contains("idbroker_directory_up 0"));
    // Still ready (it serves the API), and says what is down.
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status, 200);
    assert!(ready.body.contains("database: up\ndirectory: unreachable"), "{}", ready.body);
    let reachable = directory_app("", "").await.get("/readyz").await;
    assert!(reachable.body.contains("directory: up"), "{}", reachable.body);
}

#[tokio::test]
#[ignore = "needs the test directories: scripts/test.sh runs it"]
async fn l11_the_session_carries_the_directory_name_not_the_typed_one() {
    let app = directory_app("", "").await;
    for typed in ["BOB", "bob ", " Bob"] {
        let console = Browser::new(&app).sign_in(typed, "Bravo-Pass-2").await;
        assert_eq!(
            console.by_id("arn").as_deref(),
            Some("arn:aws:sts::111122223333:assumed-role/Dev/bob"),
            "{typed:?}"
        );
        assert_eq!(console.by_id("user").as_deref(), Some("bob"));
    }
}

#[tokio::test]
#[ignore = "needs the test directories: scripts/test.sh runs it"]
async fn a_user_without_a_mapped_role_gets_a_clear_page() {
    let app = directory_app("", "").await;
    let browser = Browser::new(&app);
    let p = browser.submit_login(&browser.login_form().await, "norole", "Norole-Pass-9").await;
    assert_eq!(p.status, 200);
    assert!(p.body.contains("No role for your account"), "{}", p.body);
    assert!(p.field("SAMLResponse").is_none(), "no assertion is issued");
}

#[tokio::test]
#[ignore = "needs the test directories: scripts/test.sh runs it"]
async fn explicit_rules_map_a_group_dn_to_a_role() {
    let groups = std::env::var("OPENLDAP_GROUPS_DN").unwrap();
    let rules = format!("role_mappings = [{{ group_dn = \"cn=admins,{groups}\", role_arn = \"arn:aws:iam::111122223333:role/Paren\" }}]");
    let app = directory_app("", &rules).await;
    let picker = Browser::new(&app).sign_in("alice", "Alpha-Pass-1").await;
    assert!(picker.body.contains("arn:aws:iam::111122223333:role/Paren"), "{}", picker.body);
}

#[tokio::test]
#[ignore = "needs the test directories: scripts/test.sh runs it"]
async fn logout_ends_the_session_on_the_server_and_sign_in_renews_the_id() {
    let app = directory_app("", "").await;
    let browser = Browser::new(&app);
    // A cookie planted before sign-in (fixation) is replaced.
    let url: reqwest::Url = app.base.parse().unwrap();
    browser.jar.add_cookie_str("idbroker_session=planted-by-attacker; Path=/", &url);
    let form = browser.login_form().await;
    let posted = browser.submit_login(&form, "bob", "Bravo-Pass-2").await;
    let acs = browser.auto_post(&posted).await;
    assert_eq!(acs.status, 303);
    let set = acs.set_cookies().join("\n");
    assert!(set.contains("idbroker_session="), "{set}");
    assert!(!set.contains("planted-by-attacker"));
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Lax") && set.contains("Path=/"), "{set}");
    let session = set.split("idbroker_session=").nth(1).unwrap().split(';').next().unwrap().to_owned();
    let console = browser.follow(acs).await;
    let csrf = console.field("csrf").unwrap();
    // Logout needs its token.
    assert_eq!(browser.post("/console/logout", &[]).await.status, 403);
    let out = browser.post("/console/logout", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, 303);
    // The old cookie, replayed, opens nothing.
    let replay = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let r = replay
        .get(format!("{}/console", app.base))
        .header("cookie", format!("idbroker_session={session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    assert!(!r.text().await.unwrap().contains("ASIA"));
}

#[tokio::test]
#[ignore = "needs the test directories: scripts/test.sh runs it"]
async fn members_of_an_mfa_group_enrol_then_give_a_fresh_code_each_time() {
    let app = directory_app("", "mfa_groups = [\"admins\"]").await;
    let b = Browser::new(&app);
    let form = b.login_form().await;
    let enrol = b.submit_login(&form, "alice", "Alpha-Pass-1").await;
    assert_eq!(enrol.status, 200);
    assert!(enrol.body.contains("data:image/png;base64,"), "a QR code to enrol");
    assert!(enrol.field("SAMLResponse").is_none(), "no assertion before the code");
    let secret = enrol.by_id("totp-secret").unwrap();
    let totp = idbroker::crypto::Totp::new(
        totp_rs::Secret::Encoded(secret.clone()).to_bytes().unwrap(),
        "t",
        "alice",
    )
    .unwrap();
    let step = idbroker::crypto::Totp::step_of(app.clock_now().timestamp());
    let send = |page: &Page, code: String| {
        let (csrf, pending) = (page.field("csrf").unwrap(), page.field("pending").unwrap());
        let b = &b;
        async move { b.post("/idp/login", &[("csrf", &csrf), ("pending", &pending), ("code", &code)]).await }
    };
    let wrong = send(&enrol, "000000".into()).await;
    assert_eq!(wrong.status, 401);
    let done = send(&wrong, totp.code_at_step(step)).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.field("SAMLResponse").is_some());
    // Enrolled: the next sign-in asks for a code (no QR), and a used code fails.
    let ask = b.submit_login(&b.login_form().await, "alice", "Alpha-Pass-1").await;
    assert!(ask.field("pending").is_some() && !ask.body.contains("data:image/png"));
    assert_eq!(send(&ask, totp.code_at_step(step)).await.status, 401);
    let ok = send(&ask, totp.code_at_step(step + 1)).await;
    assert!(ok.field("SAMLResponse").is_some(), "{}", ok.body);
    // Users outside the group sign in with the password alone.
    assert!(Browser::new(&app).sign_in("bob", "Bravo-Pass-2").await.by_id("access-key-id").is_some());

    // A lost authenticator: the operator resets the enrolment, and the next
    // sign-in enrols again with a new QR code.
    let reset = |dn: String| {
        std::process::Command::new(env!("CARGO_BIN_EXE_idbroker"))
            .args(["reset-directory-mfa", "--dn", &dn])
            .env("IDBROKER__DATABASE__URL", &app.settings.database.url)
            .env("IDBROKER__SERVER__DATA_DIR", &app.settings.server.data_dir)
            .env("IDBROKER__LOG__LEVEL", "warn")
            .output()
            .unwrap()
    };
    let people = directory_env("OPENLDAP_PEOPLE_DN", "the test OpenLDAP");
    let done = reset(format!("uid=alice,{people}"));
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    assert_eq!(reset(format!("uid=alice,{people}")).status.code(), Some(1), "nothing left to reset");
    let again = b.submit_login(&b.login_form().await, "alice", "Alpha-Pass-1").await;
    assert!(again.body.contains("data:image/png;base64,"), "enrols again");
    assert_ne!(again.by_id("totp-secret"), Some(secret), "with a new seed");
}

#[tokio::test]
#[ignore = "needs the test directories: scripts/test.sh runs it"]
async fn l08_referrals_are_never_followed() {
    // The seeded referral points at this listener: it must see no connection.
    let listener = std::net::TcpListener::bind("127.0.0.1:3899").expect("port 3899 for the referral target");
    listener.set_nonblocking(true).unwrap();
    let app = directory_app("", "").await;
    let browser = Browser::new(&app);
    let form = browser.login_form().await;
    assert_eq!(browser.submit_login(&form, "zed", "Zed-Pass-1").await.status, 401);
    assert_eq!(refusal_reason(&app, "zed").await, "unknown-user");
    let console = Browser::new(&app).sign_in("bob", "Bravo-Pass-2").await;
    assert_eq!(console.status, 200);
    assert!(
        matches!(listener.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "a referral was chased"
    );
}

#[tokio::test]
#[ignore = "needs the test directories: scripts/test.sh runs it"]
async fn l10_more_groups_than_a_page_are_all_read() {
    // `many` is in 1,201 groups; the AWS one comes last, past the first page
    // and past slapd's unpaged limit of 1,000 entries.
    let app = directory_app("", "").await;
    let started = std::time::Instant::now();
    let console = Browser::new(&app).sign_in("many", "Many-Pass-1").await;
    assert_eq!(
        console.by_id("role-arn").as_deref(),
        Some("arn:aws:iam::111122223333:role/Bulk"),
        "{}",
        console.body
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(10), "bounded time");
}

#[tokio::test]
#[ignore = "needs the test directories: scripts/test.sh runs it"]
async fn a_role_is_chosen_while_the_assertion_is_valid_and_not_after() {
    let app = directory_app("", "").await;
    let b = Browser::new(&app);
    let picker = b.sign_in("alice", "Alpha-Pass-1").await;
    let csrf = picker.field("csrf").unwrap();
    // Five minutes of validity and two of clock skew, then one more.
    app.clock.advance(chrono::Duration::seconds(8 * 60));
    let late =
        b.post("/console/roles", &[("csrf", &csrf), ("role", "arn:aws:iam::111122223333:role/Dev")]).await;
    assert_eq!(late.status, 403);
    assert!(late.body.contains("Sign in again"), "{}", late.body);
    assert_eq!(b.get("/console").await.location.as_deref(), Some("/"), "no console session");
}

#[tokio::test]
#[ignore = "needs the test directories: scripts/test.sh runs it"]
async fn l07_the_throttle_holds_across_nodes() {
    let app = directory_app("", "max_failures_per_user = 3\nmax_failures_per_address = 100").await;
    let node1 = Browser::new(&app);
    let form = node1.login_form().await;
    for _ in 0..3 {
        assert_eq!(node1.submit_login(&form, "bob", "wrong").await.status, 401);
    }
    // A second node on the same database and keys refuses bob too.
    let node2 = idbroker::startup::Application::build(&app.settings, std::sync::Arc::new(app.clock.clone()))
        .await
        .unwrap();
    let base2 = format!("http://127.0.0.1:{}", node2.port());
    tokio::spawn(node2.run());
    let b2 = Browser::at(&base2);
    let form2 = b2.login_form().await;
    assert_eq!(b2.submit_login(&form2, "bob", "Bravo-Pass-2").await.status, 429);
    // Once the window has passed, bob signs in.
    app.clock.advance(chrono::Duration::seconds(301));
    assert_eq!(b2.submit_login(&b2.login_form().await, "bob", "Bravo-Pass-2").await.status, 200);
}

/// A wrong service-account password would otherwise show every employee
/// "cannot be reached" later: start-up stops on it, naming the bind.
#[tokio::test]
#[ignore = "needs the test directories: scripts/test.sh runs it"]
async fn a_refused_service_bind_stops_start_up() {
    let password = std::env::var("OPENLDAP_SERVICE_PASSWORD").expect("the test OpenLDAP (scripts/test.sh)");
    let toml = openldap_toml("", "")
        .replace(&format!("bind_password = \"{password}\""), "bind_password = \"wrong\"");
    let err = start_up_error(&toml).await;
    assert!(err.contains("service account") && err.contains("directory"), "{err}");
}
