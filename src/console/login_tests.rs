//! The directory login without HTTP: an in-memory directory, a real SQLite
//! store in a temporary folder, a fixed clock.
use super::*;
use crate::clock::FixedClock;
use crate::crypto::SigningKey;
use crate::directory::{Group, MemoryDirectory};
use crate::domain::PublicUrl;
use crate::idp::ServiceProvider;
use crate::store::Store;

const ACS: &str = "http://127.0.0.1:8080/saml/acs";
const SP: &str = "http://127.0.0.1:8080/saml/metadata";

fn user(name: &str, groups: &[&str]) -> DirectoryUser {
    DirectoryUser {
        dn: format!("uid={name},ou=people,dc=example,dc=org"),
        username: name.into(),
        display_name: None,
        email: Some(format!("{name}@example.org")),
        groups: groups
            .iter()
            .map(|g| Group { dn: format!("cn={g},ou=groups,dc=example,dc=org"), name: (*g).into() })
            .collect(),
        attributes: vec![],
    }
}

struct Fixture {
    login: DirectoryLogin,
    clock: FixedClock,
    _dir: tempfile::TempDir,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&format!("sqlite://{}/t.db", dir.path().display()), 2).await.unwrap();
    let clock = FixedClock::at(chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap());
    let shared: SharedClock = Arc::new(clock.clone());
    let master = MasterKey::from_bytes(&MasterKey::generate_bytes()).unwrap();
    let sp = ServiceProvider {
        entity_id: SP.into(),
        acs: vec![crate::idp::Acs { index: 0, url: ACS.into() }],
        signing_certificate: None,
        sign_assertions: false,
        encryption: None,
        slo: None,
    };
    let public_url = PublicUrl::parse("http://127.0.0.1:8080").unwrap();
    let keys = crate::idp::IdpKeys::new(SigningKey::generate("test idp").unwrap(), &[]).unwrap();
    let idp = IdentityProvider::new(&public_url, Arc::new(crate::crypto::Shared::new(keys)), vec![sp], 3600);
    let directory = MemoryDirectory::new()
        .with_user(user("alice", &["AWS-111122223333-Dev"]), "Alpha-Pass-1", None)
        .with_user(user("nobody", &["staff"]), "Nobody-Pass-1", None)
        .with_user(user("mallory", &["AWS-111122223333-Dev", "mfa"]), "Mallory-Pass-1", None);
    let login = DirectoryLogin {
        idp: Arc::new(idp),
        directory: Some(Arc::new(directory)),
        throttle: Throttle::new(store.clone(), 3, 20, 300),
        second_factor: SecondFactor::new(store.clone(), master.clone(), shared.clone(), vec!["mfa".into()]),
        rules: Arc::new(crate::idp::roles::RoleRules::fixed(vec![])),
        sessions: super::super::IdpSessions {
            store: store.clone(),
            master: master.clone(),
            clock: shared.clone(),
            lifetime: 28_800,
        },
        master,
        clock: shared,
        metrics: Metrics::new().unwrap(),
    };
    Fixture { login, clock, _dir: dir }
}

fn console_request(f: &Fixture) -> SsoRequest {
    f.login.console_request(SP, ACS)
}

fn password<'a>(username: &'a str, password: &'a str) -> Password<'a> {
    Password { request: "", username, password, address: "192.0.2.7", idp_session: None }
}

#[tokio::test]
async fn a_mapped_user_gets_a_signed_response_for_the_console() {
    let f = fixture().await;
    let mut events = Vec::new();
    let step =
        f.login.password(password("alice", "Alpha-Pass-1"), console_request(&f), &mut events).await.unwrap();
    let LoginStep::Issued(post) = step else { panic!("{step:?}") };
    assert_eq!(post.acs_url, ACS);
    let xml =
        String::from_utf8(base64::engine::general_purpose::STANDARD.decode(&post.saml_response).unwrap())
            .unwrap();
    assert!(xml.contains("arn:aws:iam::111122223333:role/Dev"));
    assert_eq!(events.len(), 1);
    assert_eq!((events[0].name, events[0].refusal.is_none()), (FlowEventName::DirectoryLogin, true));
}

#[tokio::test]
async fn wrong_passwords_retry_then_throttle_and_unmapped_users_get_no_role() {
    let f = fixture().await;
    let mut events = Vec::new();
    for _ in 0..3 {
        let step =
            f.login.password(password("alice", "wrong"), console_request(&f), &mut events).await.unwrap();
        assert!(
            matches!(step, LoginStep::Retry { message: "Incorrect user name or password.", .. }),
            "{step:?}"
        );
    }
    let throttled =
        f.login.password(password("alice", "Alpha-Pass-1"), console_request(&f), &mut events).await;
    assert!(matches!(throttled, Err(LoginError::Throttled)));
    let codes: Vec<_> = events.iter().map(|e| e.refusal.as_ref().map(|(c, _)| *c)).collect();
    let refused = Some(RefusalCode::InvalidCredentials);
    assert_eq!(codes, [refused, refused, refused, Some(RefusalCode::Throttled)]);
    // The window passes: the right password works again.
    f.clock.advance(chrono::Duration::seconds(301));
    let step =
        f.login.password(password("alice", "Alpha-Pass-1"), console_request(&f), &mut events).await.unwrap();
    assert!(matches!(step, LoginStep::Issued(_)));

    let step = f
        .login
        .password(password("nobody", "Nobody-Pass-1"), console_request(&f), &mut events)
        .await
        .unwrap();
    assert!(matches!(step, LoginStep::NoRole));
    assert_eq!(events.last().unwrap().refusal.as_ref().map(|(c, _)| *c), Some(RefusalCode::NoRoleMapped));
}

#[tokio::test]
async fn a_member_of_an_mfa_group_enrols_then_signs_in_with_a_code_once() {
    let f = fixture().await;
    let mut events = Vec::new();
    let step = f
        .login
        .password(password("mallory", "Mallory-Pass-1"), console_request(&f), &mut events)
        .await
        .unwrap();
    let LoginStep::Code(prompt) = step else { panic!("{step:?}") };
    let enrolment = prompt.enrolment.as_ref().expect("no seed yet: enrolment");
    let seed = totp_rs::Secret::Encoded(enrolment.secret_base32.clone()).to_bytes().unwrap();
    let totp = Totp::new(seed, "idbroker", "mallory").unwrap();
    let step_now = f.login.clock.now().timestamp() / 30;
    let code = |pending: String, code: String| {
        let login = &f.login;
        async move {
            let code = Code { pending: &pending, code: &code, address: "192.0.2.7", idp_session: None };
            login.code(code, &mut Vec::new()).await
        }
    };
    let refused = code(prompt.pending.clone(), "000000".into()).await.unwrap();
    assert!(matches!(refused, LoginStep::Code(CodePrompt { message: Some(_), .. })), "{refused:?}");
    let signed = code(prompt.pending.clone(), totp.code_at_step(step_now)).await.unwrap();
    assert!(matches!(signed, LoginStep::Issued(_)));
    // Enrolled now: the next sign-in asks for a code without a new seed, and
    // the code just used is refused.
    let step = f
        .login
        .password(password("mallory", "Mallory-Pass-1"), console_request(&f), &mut events)
        .await
        .unwrap();
    let LoginStep::Code(prompt) = step else { panic!("{step:?}") };
    assert!(prompt.enrolment.is_none());
    let again = code(prompt.pending.clone(), totp.code_at_step(step_now)).await.unwrap();
    assert!(matches!(again, LoginStep::Code(CodePrompt { message: Some(_), .. })));
    // A pending step expires.
    f.clock.advance(chrono::Duration::seconds(SECOND_STEP_SECONDS + 1));
    let late = code(prompt.pending.clone(), totp.code_at_step(step_now + 10)).await;
    assert!(matches!(late, Err(LoginError::Expired)));
}

#[tokio::test]
async fn the_idp_session_signs_in_to_the_next_sp_unless_the_sp_asks_otherwise() {
    let f = fixture().await;
    let decoded = |post: &AutoPost| {
        String::from_utf8(base64::engine::general_purpose::STANDARD.decode(&post.saml_response).unwrap())
            .unwrap()
    };
    let first =
        f.login.password(password("alice", "Alpha-Pass-1"), console_request(&f), &mut Vec::new()).await;
    let Ok(LoginStep::Issued(first)) = first else { panic!("not issued") };
    let cookie = first.idp_session.expect("a password sign-in opens an IdP session").value;

    let ask = |change: fn(&mut SsoRequest)| {
        let mut request = console_request(&f);
        change(&mut request);
        request
    };
    let mut events = Vec::new();
    // The next request: answered from the session, with no new session and no form.
    let next = f.login.sso(console_request(&f), Some(&cookie), &mut events).await.unwrap();
    let SsoStep::Answer(LoginStep::Issued(post)) = next else { panic!("not from the session") };
    assert!(post.idp_session.is_none() && decoded(&post).contains("<saml:NameID"));
    assert_eq!(events.last().unwrap().details["fromIdpSession"], true);
    // A passive request too, silently.
    let passive =
        f.login.sso(ask(|r| r.options.is_passive = true), Some(&cookie), &mut events).await.unwrap();
    assert!(
        matches!(passive, SsoStep::Answer(LoginStep::Issued(p)) if decoded(&p).contains("status:Success"))
    );

    // ForceAuthn, or a TOTP code the session did not have: the form.
    let forced =
        f.login.sso(ask(|r| r.options.force_authn = true), Some(&cookie), &mut events).await.unwrap();
    assert!(matches!(forced, SsoStep::Login(_)));
    let stronger = ask(|r| r.options.authn.multi_factor = true);
    assert!(matches!(f.login.sso(stronger, Some(&cookie), &mut events).await.unwrap(), SsoStep::Login(_)));
    // Without a session (none, an unknown cookie, an expired one), passive is NoPassive.
    for cookie in [None, Some("forged")] {
        let answer = f.login.sso(ask(|r| r.options.is_passive = true), cookie, &mut events).await.unwrap();
        let SsoStep::Answer(LoginStep::Issued(post)) = answer else { panic!("no answer") };
        assert!(decoded(&post).contains("status:NoPassive"));
    }
    f.clock.advance(chrono::Duration::seconds(28_801));
    assert!(matches!(
        f.login.sso(console_request(&f), Some(&cookie), &mut events).await.unwrap(),
        SsoStep::Login(_)
    ));
}
