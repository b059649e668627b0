//! `idbroker doctor`: checks what a node needs (the database, the master key
//! and the signing keys, the directory, the public URL) and says what is
//! wrong in words an operator can act on. Changes nothing but what `serve`
//! would (the database's migrations).
use crate::config::{self, Settings};
use crate::crypto::{certificate_days_left, MasterKey, SigningKey};
use crate::directory::LdapDirectory;
use crate::keys::KeyPurpose;
use crate::store::Store;
use std::time::Duration;

/// One check's outcome.
pub struct Finding {
    pub check: &'static str,
    pub ok: bool,
    /// What was found, or what is wrong and what to do.
    pub detail: String,
}

fn found(check: &'static str, ok: bool, detail: impl Into<String>) -> Finding {
    Finding { check, ok, detail: detail.into() }
}

pub async fn examine(settings: &Settings, now: i64) -> Vec<Finding> {
    let (master_finding, master) = master_key(settings);
    let (database_finding, store) = database(settings).await;
    let mut findings = vec![master_finding, database_finding];
    if let (Some(store), Some(master)) = (&store, &master) {
        findings.extend(signing_keys(store, master, now).await);
    }
    findings.push(directory(settings).await);
    findings.push(public_url(settings));
    if let Some(store) = store {
        store.close().await;
    }
    findings
}

/// The master key as `serve` reads it; none yet is fine before the first start.
fn master_key(settings: &Settings) -> (Finding, Option<MasterKey>) {
    let from_env = std::env::var(config::MASTER_KEY_ENV).is_ok();
    if !from_env && !config::master_key_path(settings).exists() {
        let detail = "none yet: the first start makes one (nodes of a cluster must share it)";
        return (found("master key", true, detail), None);
    }
    match crate::startup::master_key(settings) {
        Ok(master) => {
            let from = if from_env { "the environment" } else { "its file" };
            (found("master key", true, format!("read from {from}")), Some(master))
        }
        Err(e) => (found("master key", false, format!("{e:#}; every node needs the same one")), None),
    }
}

/// The database answers (and has the migrations `serve` would apply).
async fn database(settings: &Settings) -> (Finding, Option<Store>) {
    match Store::connect(&settings.database.url, 2).await {
        Ok(store) => match store.ping().await {
            Ok(()) => (found("database", true, "reachable, migrations applied"), Some(store)),
            Err(e) => (found("database", false, format!("connected but does not answer: {e}")), None),
        },
        Err(e) => {
            (found("database", false, format!("{e}; check database.url and that the server runs")), None)
        }
    }
}

/// Every stored key opens with this master key; each purpose has an active
/// key; the IdP's certificate is not about to expire.
async fn signing_keys(store: &Store, master: &MasterKey, now: i64) -> Vec<Finding> {
    let keys = match store.signing_keys().await {
        Ok(keys) => keys,
        Err(e) => return vec![found("signing keys", false, format!("cannot be read: {e}"))],
    };
    if keys.is_empty() {
        return vec![found("signing keys", true, "none yet: the first node to start makes them")];
    }
    let mut findings = Vec::new();
    for k in &keys {
        let Some(purpose) = KeyPurpose::parse(&k.purpose) else { continue };
        let Ok(pem) = master.open(&k.sealed_pem, &purpose.seal_context(&k.kid)) else {
            findings.push(found(
                "signing keys",
                false,
                format!("{} does not open with this master key: this node has another master key than the one that sealed it", k.kid),
            ));
            continue;
        };
        if purpose == KeyPurpose::Idp && k.state == "active" {
            let days = String::from_utf8(pem)
                .ok()
                .and_then(|pem| SigningKey::from_pem(&pem).ok())
                .and_then(|key| key.certificate_der().ok())
                .and_then(|der| certificate_days_left(&der, now));
            match days {
                Some(d) if d < 30 => findings.push(found(
                    "IdP certificate",
                    false,
                    format!("expires in {d} days: publish a new key (idbroker keys publish idp), then activate it"),
                )),
                Some(d) => findings.push(found("IdP certificate", true, format!("valid for {d} more days"))),
                None => findings.push(found("IdP certificate", false, format!("{} holds no usable certificate", k.kid))),
            }
        }
    }
    for purpose in [KeyPurpose::SessionToken, KeyPurpose::Idp] {
        let active = keys.iter().filter(|k| k.purpose == purpose.as_str() && k.state == "active").count();
        let ok = active == 1;
        let detail = if ok {
            format!("one active {} key", purpose.as_str())
        } else {
            format!("{active} active {} keys: activate one (idbroker keys activate KID)", purpose.as_str())
        };
        findings.push(found("signing keys", ok, detail));
    }
    findings
}

async fn directory(settings: &Settings) -> Finding {
    if settings.directory.url.is_empty() {
        return found("directory", true, "not configured (employees sign in through external IdPs only)");
    }
    let clock: crate::clock::SharedClock = std::sync::Arc::new(crate::clock::SystemClock);
    let ldap = match LdapDirectory::new(&settings.directory, clock) {
        Ok(ldap) => ldap,
        Err(e) => return found("directory", false, format!("{}: {e}", settings.directory.url)),
    };
    match tokio::time::timeout(Duration::from_secs(10), ldap.check()).await {
        Ok(Ok(())) => {
            found("directory", true, format!("{}: the service account binds", settings.directory.url))
        }
        Ok(Err(e)) => found("directory", false, format!("{}: {e}", settings.directory.url)),
        Err(_) => found("directory", false, format!("{}: no answer within 10 s", settings.directory.url)),
    }
}

/// The public URL is what browsers, SPs and IdPs are told: https outside
/// this machine, and something listens there.
fn public_url(settings: &Settings) -> Finding {
    let url = &settings.server.public_url;
    let Ok(parsed) = url::Url::parse(url.as_str()) else {
        return found("public URL", false, format!("{} is not a URL", url.as_str()));
    };
    let host = parsed.host_str().unwrap_or_default().to_owned();
    let local = host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|a| a.is_loopback());
    if !url.is_https() && !local {
        return found(
            "public URL",
            false,
            format!(
                "{} is http: browsers send session cookies in clear text; put TLS in front and say https",
                url.as_str()
            ),
        );
    }
    let port = parsed.port_or_known_default().unwrap_or(443);
    let reachable = std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), port))
        .ok()
        .and_then(|mut addrs| addrs.next())
        .is_some_and(|addr| std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(3)).is_ok());
    if reachable {
        found("public URL", true, format!("{} answers", url.as_str()))
    } else {
        found(
            "public URL",
            false,
            format!("nothing answers at {} from here (is the service or its proxy running?)", url.as_str()),
        )
    }
}
