//! Directory sign-in against a real Samba AD domain controller (started and
//! seeded by scripts/test.sh): sAMAccountName or UPN, nested groups through
//! LDAP_MATCHING_RULE_IN_CHAIN, and AD's account states refused.
use crate::browser::*;
use crate::helpers::*;

fn samba_toml() -> String {
    let how = "the test Samba AD; run scripts/test.sh, or start scripts/samba-ad.sh, run scripts/seed-samba.sh and eval its env";
    let var = |name: &str| directory_env(name, how);
    format!(
        "[directory]\nkind = \"active_directory\"\nurl = \"{}\"\nstarttls = true\nbind_dn = \"{}\"\nbind_password = \"{}\"\nuser_base_dn = \"{}\"\ngroup_base_dn = \"{}\"\nca_file = \"{}\"\n[idp]\nmax_failures_per_user = 100\nmax_failures_per_address = 100\n",
        var("SAMBA_AD_URL"),
        var("SAMBA_AD_SERVICE_DN"),
        var("SAMBA_AD_SERVICE_PASSWORD"),
        var("SAMBA_AD_PEOPLE_DN"),
        var("SAMBA_AD_GROUPS_DN"),
        var("SAMBA_AD_CA_CERT"),
    )
}

async fn ad_app() -> TestApp {
    let app = spawn_app_with(&samba_toml()).await;
    for role in ["Dev", "Admin"] {
        app.admin(&[
            ("Action", "CreateRole"),
            ("RoleName", role),
            ("AssumeRolePolicyDocument", TRUST_IDBROKER),
        ])
        .await
        .ok();
    }
    app
}

#[tokio::test]
#[ignore = "needs the test directories: scripts/test.sh runs it"]
async fn ad_nested_group_member_signs_in_and_uses_the_credentials() {
    let app = ad_app().await;
    // carol: engineering -> staff -> AWS-111122223333-Dev, resolved in one in-chain query.
    let console = Browser::new(&app).sign_in("carol", "Charlie-Pass-3").await;
    assert_eq!(
        console.by_id("role-arn").as_deref(),
        Some("arn:aws:iam::111122223333:role/Dev"),
        "{}",
        console.body
    );
    let who = app.sts(&Browser::credentials(&console), &[("Action", "GetCallerIdentity")]).await;
    assert_eq!(who.text("Arn").as_deref(), Some("arn:aws:sts::111122223333:assumed-role/Dev/carol"));
}

#[tokio::test]
#[ignore = "needs the test directories: scripts/test.sh runs it"]
async fn ad_user_principal_name_signs_in_as_the_account_name() {
    let app = ad_app().await;
    let picker = Browser::new(&app).sign_in("alice@corp.example.test", "Alpha-Pass-1").await;
    assert!(picker.body.contains("role/Admin") && picker.body.contains("role/Dev"), "{}", picker.body);
    assert!(picker.body.contains("<strong>alice</strong>"), "the NameID is the sAMAccountName");
}

#[tokio::test]
#[ignore = "needs the test directories: scripts/test.sh runs it"]
async fn ad_disabled_expired_and_must_change_accounts_are_refused_alike() {
    let app = ad_app().await;
    let browser = Browser::new(&app);
    let form = browser.login_form().await;
    for (user, password, reason) in [
        ("mallory", "Mike-Pass-6", "disabled"),
        ("oscar", "Oscar-Pass-8", "expired"),
        ("frank", "Foxtrot-Pass-7", "expired"),
        ("bob", "wrong-password", "wrong-password"),
        ("nosuchuser", "Bravo-Pass-2", "unknown-user"),
        ("CORP\\bob", "Bravo-Pass-2", "unknown-user"),
        ("bob@other.test", "Bravo-Pass-2", "unknown-user"),
        ("bob", "", "empty-password"),
    ] {
        let p = browser.submit_login(&form, user, password).await;
        assert_eq!(p.status, 401, "{user}");
        assert!(p.body.contains("Incorrect user name or password."));
        assert_eq!(refusal_reason(&app, user).await, reason, "{user}");
    }
}
