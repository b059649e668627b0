use chrono::{TimeZone, Utc};
use idbroker::clock::FixedClock;
use idbroker::config::Settings;
use idbroker::crypto::sha256_hex;
use idbroker::sigv4::{self, Authorization, RequestParts};
use idbroker::startup::{self, Application};
use std::sync::Arc;

pub const ACCOUNT: &str = "111122223333";

#[derive(Clone, Debug, Default)]
pub struct Keys {
    pub id: String,
    pub secret: String,
    /// The session token of temporary credentials.
    pub token: Option<String>,
}

impl Keys {
    pub fn long_term(id: String, secret: String) -> Keys {
        Keys { id, secret, token: None }
    }

    /// The Credentials element of an STS response.
    pub fn from_credentials(r: &Reply) -> Keys {
        Keys {
            id: r.text("AccessKeyId").unwrap(),
            secret: r.text("SecretAccessKey").unwrap(),
            token: Some(r.text("SessionToken").unwrap()),
        }
    }
}

pub struct TestApp {
    pub base: String,
    pub host: String,
    pub clock: FixedClock,
    pub admin: Keys,
    /// The root user's email and password.
    pub root: (String, String),
    pub client: reqwest::Client,
    pub settings: Settings,
    _dir: tempfile::TempDir,
}

pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Reply {
    /// The text of the first `<tag>` element.
    pub fn text(&self, tag: &str) -> Option<String> {
        let open = format!("<{tag}>");
        let start = self.body.find(&open)? + open.len();
        let end = self.body[start..].find(&format!("</{tag}>"))? + start;
        Some(self.body[start..end].to_owned())
    }

    pub fn all(&self, tag: &str) -> Vec<String> {
        let open = format!("<{tag}>");
        let close = format!("</{tag}>");
        self.body.split(&open).skip(1).filter_map(|s| s.find(&close).map(|e| s[..e].to_owned())).collect()
    }

    pub fn code(&self) -> Option<String> {
        self.text("Code")
    }

    #[track_caller]
    pub fn ok(&self) -> &Self {
        assert_eq!(self.status, 200, "{}", self.body);
        self
    }

    #[track_caller]
    pub fn err(&self, status: u16, code: &str) -> &Self {
        assert_eq!((self.status, self.code().as_deref()), (status, Some(code)), "{}", self.body);
        self
    }
}

async fn database_url(dir: &std::path::Path) -> String {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(admin_url) if !admin_url.is_empty() => {
            use sqlx::Executor;
            let name = format!("t_{}", uuid::Uuid::new_v4().simple());
            let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&admin_url)
                .await
                .expect("TEST_DATABASE_URL must reach PostgreSQL");
            conn.execute(format!("CREATE DATABASE {name}").as_str()).await.unwrap();
            let (base, _) = admin_url.rsplit_once('/').unwrap();
            format!("{base}/{name}")
        }
        _ => format!("sqlite://{}/idbroker.db", dir.display()),
    }
}

pub fn epoch() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap()
}

/// Starts the application with a fixed clock and one account whose
/// administrator's keys are returned.
pub async fn spawn_app() -> TestApp {
    spawn_app_with("").await
}

/// A private folder and database, with `extra_toml` appended; a `[server]`
/// section at its start adds keys to the test's own server section.
async fn test_settings(extra_toml: &str) -> (tempfile::TempDir, Settings) {
    let dir = tempfile::tempdir().unwrap();
    let db = database_url(dir.path()).await;
    let (server_extra, extra_toml) = match extra_toml.strip_prefix("[server]\n") {
        Some(tail) => tail.find("\n[").map_or((tail, ""), |i| tail.split_at(i + 1)),
        None => ("", extra_toml),
    };
    let toml = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\ndata_dir = \"{}\"\nworkers = 2\nmax_body_bytes = 262144\n{server_extra}\n[database]\nurl = \"{db}\"\nmax_connections = 4\n[log]\nlevel = \"warn\"\n{extra_toml}",
        dir.path().display()
    );
    let settings = Settings::from_toml(&toml).unwrap();
    (dir, settings)
}

/// Why the app refuses to start with `extra_toml` (it must refuse).
pub async fn start_up_error(extra_toml: &str) -> String {
    let (_dir, settings) = test_settings(extra_toml).await;
    match Application::build(&settings, Arc::new(FixedClock::at(epoch()))).await {
        Ok(_) => panic!("started with {extra_toml}"),
        Err(e) => format!("{e:#}"),
    }
}

/// As `spawn_app`, with more settings (whole sections other than server,
/// database and log) appended to the configuration.
pub async fn spawn_app_with(extra_toml: &str) -> TestApp {
    let (dir, settings) = test_settings(extra_toml).await;
    idbroker::telemetry::init(&settings.log);
    let clock = FixedClock::at(epoch());
    let startup::Services { store, iam, idp, .. } =
        startup::services(&settings, Arc::new(clock.clone())).await.unwrap();
    let created = iam.create_account(ACCOUNT, "admin").await.unwrap();
    startup::register_builtin_provider(&store, &idp, Some(&created.account_id), epoch().timestamp())
        .await
        .unwrap();
    store.close().await;
    let app = Application::build(&settings, Arc::new(clock.clone())).await.unwrap();
    let port = app.port();
    tokio::spawn(app.run());
    TestApp {
        base: format!("http://127.0.0.1:{port}"),
        host: format!("127.0.0.1:{port}"),
        clock,
        admin: Keys::long_term(created.access_key_id, created.secret_access_key),
        root: (created.root_email, created.root_password),
        client: reqwest::Client::new(),
        settings,
        _dir: dir,
    }
}

/// Builds a form body from pairs.
pub fn form(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()
}

impl TestApp {
    /// Signs and sends an IAM call (`Version` added) as `keys`.
    pub async fn iam(&self, keys: &Keys, pairs: &[(&str, &str)]) -> Reply {
        let mut all = vec![("Version", "2010-05-08")];
        all.extend_from_slice(pairs);
        self.signed("iam", keys, &form(&all), 0).await
    }

    pub async fn sts(&self, keys: &Keys, pairs: &[(&str, &str)]) -> Reply {
        let mut all = vec![("Version", "2011-06-15")];
        all.extend_from_slice(pairs);
        self.signed("sts", keys, &form(&all), 0).await
    }

    pub async fn admin(&self, pairs: &[(&str, &str)]) -> Reply {
        self.iam(&self.admin.clone(), pairs).await
    }

    /// The Authorization header and date for `body`, signed `skew_seconds` off our clock.
    pub fn sign(&self, service: &str, keys: &Keys, body: &str, skew_seconds: i64) -> (String, String) {
        let when = self.clock_now() + chrono::Duration::seconds(skew_seconds);
        let amz_date = when.format("%Y%m%dT%H%M%SZ").to_string();
        let mut headers = vec![
            ("content-type".to_string(), "application/x-www-form-urlencoded; charset=utf-8".to_string()),
            ("host".to_string(), self.host.clone()),
            ("x-amz-date".to_string(), amz_date.clone()),
        ];
        let mut signed: Vec<String> = vec!["content-type".into(), "host".into(), "x-amz-date".into()];
        if let Some(token) = &keys.token {
            headers.push(("x-amz-security-token".to_string(), token.clone()));
            signed.push("x-amz-security-token".into());
        }
        let auth = Authorization {
            access_key_id: keys.id.clone(),
            date: amz_date[..8].to_string(),
            region: "us-east-1".into(),
            service: service.into(),
            signed_headers: signed.clone(),
            signature: String::new(),
        };
        let parts =
            RequestParts { method: "POST", path: "/", query: "", headers: &headers, body: body.as_bytes() };
        let signature = sigv4::sign(&parts, &auth, &amz_date, &keys.secret, &sha256_hex(body.as_bytes()));
        let header = format!(
            "AWS4-HMAC-SHA256 Credential={}/{}/us-east-1/{service}/aws4_request, SignedHeaders={}, Signature={signature}",
            keys.id,
            auth.date,
            signed.join(";")
        );
        (header, amz_date)
    }

    pub fn clock_now(&self) -> chrono::DateTime<Utc> {
        use idbroker::clock::Clock;
        self.clock.now()
    }

    pub async fn signed(&self, service: &str, keys: &Keys, body: &str, skew_seconds: i64) -> Reply {
        let (authorization, amz_date) = self.sign(service, keys, body, skew_seconds);
        let mut headers = vec![("authorization", authorization.as_str()), ("x-amz-date", amz_date.as_str())];
        if let Some(token) = &keys.token {
            headers.push(("x-amz-security-token", token));
        }
        self.raw(body, &headers).await
    }

    /// Sends `body` with exactly these extra headers.
    pub async fn raw(&self, body: &str, headers: &[(&str, &str)]) -> Reply {
        let mut req = self
            .client
            .post(&self.base)
            .header("content-type", "application/x-www-form-urlencoded; charset=utf-8")
            .body(body.to_owned());
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.send().await.unwrap();
        let (status, headers) = (resp.status().as_u16(), resp.headers().clone());
        Reply { status, headers, body: resp.text().await.unwrap() }
    }

    /// An STS call signed as for this app, sent to another node at `base`.
    pub async fn sts_at(&self, base: &str, keys: &Keys, pairs: &[(&str, &str)]) -> Reply {
        let mut all = vec![("Version", "2011-06-15")];
        all.extend_from_slice(pairs);
        let body = form(&all);
        let (authorization, amz_date) = self.sign("sts", keys, &body, 0);
        let mut req = self
            .client
            .post(base)
            .header("content-type", "application/x-www-form-urlencoded; charset=utf-8")
            .header("host", self.host.clone())
            .header("authorization", authorization)
            .header("x-amz-date", amz_date)
            .body(body);
        if let Some(token) = &keys.token {
            req = req.header("x-amz-security-token", token.clone());
        }
        let resp = req.send().await.unwrap();
        let (status, headers) = (resp.status().as_u16(), resp.headers().clone());
        Reply { status, headers, body: resp.text().await.unwrap() }
    }

    pub async fn get(&self, path: &str) -> Reply {
        let resp = self.client.get(format!("{}{path}", self.base)).send().await.unwrap();
        let (status, headers) = (resp.status().as_u16(), resp.headers().clone());
        Reply { status, headers, body: resp.text().await.unwrap() }
    }

    /// Creates a user with an access key; returns its keys.
    pub async fn user_with_key(&self, name: &str) -> Keys {
        self.admin(&[("Action", "CreateUser"), ("UserName", name)]).await.ok();
        let r = self.admin(&[("Action", "CreateAccessKey"), ("UserName", name)]).await;
        r.ok();
        Keys::long_term(r.text("AccessKeyId").unwrap(), r.text("SecretAccessKey").unwrap())
    }

    /// Gives a user an inline policy.
    pub async fn grant(&self, user: &str, policy_name: &str, document: &str) {
        self.admin(&[
            ("Action", "PutUserPolicy"),
            ("UserName", user),
            ("PolicyName", policy_name),
            ("PolicyDocument", document),
        ])
        .await
        .ok();
    }
}

/// Decodes a URL-encoded policy document from a response.
pub fn decode_document(encoded: &str) -> serde_json::Value {
    let text = percent_encoding::percent_decode_str(encoded).decode_utf8().unwrap();
    serde_json::from_str(&text).unwrap()
}

impl TestApp {
    /// The newest stored audit event whose JSON satisfies `wanted` (the
    /// writer is asynchronous, so this waits a little for it).
    pub async fn audit_event(&self, wanted: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
        let store = idbroker::store::Store::connect(&self.settings.database.url, 1).await.unwrap();
        for _ in 0..100 {
            let events = store.recent_audit_events(50).await.unwrap();
            if let Some(e) = events.iter().map(|e| serde_json::from_str(e).unwrap()).find(|e| wanted(e)) {
                store.close().await;
                return e;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("no such audit event");
    }
}

/// A fresh RSA-2048 key and a one-day self-signed certificate for `cn`.
pub fn self_signed(cn: &str) -> (openssl::pkey::PKey<openssl::pkey::Private>, openssl::x509::X509) {
    let key = openssl::pkey::PKey::from_rsa(openssl::rsa::Rsa::generate(2048).unwrap()).unwrap();
    let mut name = openssl::x509::X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", cn).unwrap();
    let name = name.build();
    let mut b = openssl::x509::X509Builder::new().unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(&name).unwrap();
    b.set_pubkey(&key).unwrap();
    b.set_not_before(&openssl::asn1::Asn1Time::days_from_now(0).unwrap()).unwrap();
    b.set_not_after(&openssl::asn1::Asn1Time::days_from_now(1).unwrap()).unwrap();
    b.sign(&key, openssl::hash::MessageDigest::sha256()).unwrap();
    (key, b.build())
}
