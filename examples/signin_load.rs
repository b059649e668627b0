//! Load driver for directory sign-in, and the raw bind rate it is compared with.
//!
//!   signin_load signin <base-url> <user> <password> <connections> <seconds>
//!       POST /idp/login (directory search, bind, groups, signed Response)
//!       then POST /saml/acs (validation, replay record, role session,
//!       console session) per sign-in, each worker with its own cookies.
//!   signin_load bind <ldap-url> <dn> <password> <connections> <seconds>
//!       simple binds on reused connections, the directory's own ceiling.
//!   signin_load connect-bind <ldap-url> <dn> <password> <connections> <seconds>
//!       a new connection per bind (StartTLS when CA_FILE names the CA, with
//!       TCP_NODELAY): what a login costs a broker that does not pool.
//!
//! Prints sign-ins (or binds) per second and latency percentiles.
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A hidden field's value; the fields read here are base64 or hex, which the
/// page's HTML escaping leaves as they are.
fn field(body: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = body.find(&marker)? + marker.len();
    let end = body[start..].find('"')? + start;
    Some(body[start..end].to_owned())
}

async fn signin_worker(base: String, user: String, password: String, until: Instant) -> Vec<Duration> {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let form =
        client.get(format!("{base}/idp/login")).send().await.expect("form").text().await.expect("body");
    let csrf = field(&form, "csrf").expect("csrf");
    let request = field(&form, "request").expect("request");
    let mut latencies = Vec::new();
    while Instant::now() < until {
        let started = Instant::now();
        let page = client
            .post(format!("{base}/idp/login"))
            .form(&[
                ("csrf", csrf.as_str()),
                ("request", request.as_str()),
                ("username", &user),
                ("password", &password),
            ])
            .send()
            .await
            .expect("login")
            .text()
            .await
            .expect("login body");
        let response = field(&page, "SAMLResponse").unwrap_or_else(|| panic!("no SAMLResponse: {page}"));
        let acs = client
            .post(format!("{base}/saml/acs"))
            .form(&[("SAMLResponse", response)])
            .send()
            .await
            .expect("acs");
        assert_eq!(acs.status().as_u16(), 303, "{}", acs.text().await.unwrap_or_default());
        latencies.push(started.elapsed());
    }
    latencies
}

async fn bind_worker(url: String, dn: String, password: String, until: Instant) -> Vec<Duration> {
    let (conn, mut ldap) = ldap3::LdapConnAsync::new(&url).await.expect("connect");
    ldap3::drive!(conn);
    let mut latencies = Vec::new();
    while Instant::now() < until {
        let started = Instant::now();
        ldap.simple_bind(&dn, &password).await.expect("bind").success().expect("bind accepted");
        latencies.push(started.elapsed());
    }
    latencies
}

async fn connect_bind_worker(url: String, dn: String, password: String, until: Instant) -> Vec<Duration> {
    let tls = std::env::var("CA_FILE").ok().map(|ca| {
        let pem = std::fs::read(ca).expect("CA_FILE");
        native_tls::TlsConnector::builder()
            .add_root_certificate(native_tls::Certificate::from_pem(&pem).expect("CA pem"))
            .build()
            .expect("tls")
    });
    let addr = url.trim_start_matches("ldap://").to_owned();
    let mut latencies = Vec::new();
    while Instant::now() < until {
        let started = Instant::now();
        let tcp = tokio::net::TcpStream::connect(&addr).await.expect("connect");
        tcp.set_nodelay(true).expect("nodelay");
        let mut settings = ldap3::LdapConnSettings::new()
            .set_starttls(tls.is_some())
            .set_std_stream(ldap3::StdStream::Tcp(tcp.into_std().expect("std")));
        if let Some(t) = &tls {
            settings = settings.set_connector(t.clone());
        }
        let (conn, mut ldap) = ldap3::LdapConnAsync::with_settings(settings, &url).await.expect("ldap");
        ldap3::drive!(conn);
        ldap.simple_bind(&dn, &password).await.expect("bind").success().expect("bind accepted");
        ldap.unbind().await.ok();
        latencies.push(started.elapsed());
    }
    latencies
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 7 {
        eprintln!("usage: signin_load signin|bind <url> <user-or-dn> <password> <connections> <seconds>");
        std::process::exit(2);
    }
    let (mode, url, who, password) = (args[1].clone(), args[2].clone(), args[3].clone(), args[4].clone());
    let connections: usize = args[5].parse().expect("connections");
    let seconds: u64 = args[6].parse().expect("seconds");
    let until = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let done = Arc::new(tokio::sync::Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (url, who, password, done) = (url.clone(), who.clone(), password.clone(), done.clone());
        let mode = mode.clone();
        tasks.push(tokio::spawn(async move {
            let l = match mode.as_str() {
                "signin" => signin_worker(url, who, password, until).await,
                "connect-bind" => connect_bind_worker(url, who, password, until).await,
                _ => bind_worker(url, who, password, until).await,
            };
            done.lock().await.extend(l);
        }));
    }
    for t in tasks {
        t.await.expect("worker");
    }
    let elapsed = started.elapsed().as_secs_f64();
    let mut all = done.lock().await.clone();
    all.sort();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    println!(
        "{mode}: {} in {elapsed:.1} s = {:.0}/s over {connections} connections; p50 {:.2} ms, p99 {:.2} ms",
        all.len(),
        all.len() as f64 / elapsed,
        pct(0.5).as_secs_f64() * 1000.0,
        pct(0.99).as_secs_f64() * 1000.0
    );
}
