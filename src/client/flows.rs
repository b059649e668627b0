//! The three ways the command signs in: a browser that comes back to a
//! loopback port (RFC 8252), a device code typed at a page (RFC 8628 style),
//! and a directory password for automation.
use super::{ClientError, Credentials, SignInArgs};
use crate::console::cli::s256_challenge;
use serde::Deserialize;
use std::io::{BufRead, IsTerminal, Write};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How long the command waits for the browser (the server's grant lasts as long).
const WAIT: Duration = Duration::from_secs(600);

/// An error as idbroker's `/cli/*` endpoints answer it.
#[derive(Deserialize, Default)]
struct ErrorAnswer {
    error: String,
    #[serde(default)]
    error_description: String,
    #[serde(default)]
    accounts: Vec<OfferedAccount>,
    #[serde(default)]
    choice: String,
}

#[derive(Deserialize)]
struct OfferedAccount {
    label: String,
    roles: Vec<(String, String)>,
}

#[derive(Deserialize)]
struct DeviceStart {
    device_code: String,
    user_code: String,
    verification_uri: String,
    verification_uri_complete: String,
    interval: u64,
}

enum Answer<T> {
    Ok(T),
    Refused(ErrorAnswer),
}

struct Server {
    base: String,
    http: reqwest::Client,
}

impl Server {
    fn new(args: &SignInArgs) -> Result<Server, ClientError> {
        let mut builder = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .user_agent(concat!("idbroker-cli/", env!("CARGO_PKG_VERSION")));
        if let Some(path) = &args.ca_file {
            let pem = std::fs::read(path)
                .map_err(|e| ClientError::Usage(format!("cannot read --ca-file {}: {e}", path.display())))?;
            let cert = reqwest::Certificate::from_pem(&pem)
                .map_err(|e| ClientError::Usage(format!("--ca-file {} is not PEM: {e}", path.display())))?;
            builder = builder.add_root_certificate(cert);
        }
        let http = builder.build().map_err(|e| ClientError::Local(e.to_string()))?;
        let base = args.url.trim_end_matches('/').to_owned();
        if !(base.starts_with("https://") || base.starts_with("http://")) {
            return Err(ClientError::Usage(format!("--url {base} must start with https:// or http://")));
        }
        Ok(Server { base, http })
    }

    fn unreachable(&self, e: reqwest::Error) -> ClientError {
        // The cause is at the end of reqwest's chain.
        let why = crate::telemetry::error_chain(&e);
        let lower = why.to_ascii_lowercase();
        if ["certificate", "ssl", "tls", "handshake"].iter().any(|w| lower.contains(w)) {
            ClientError::Tls { url: self.base.clone(), why }
        } else {
            ClientError::Unreachable { url: self.base.clone(), why }
        }
    }

    async fn post<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        form: &[(&str, &str)],
    ) -> Result<Answer<T>, ClientError> {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .form(form)
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        let status = response.status();
        let body = response.bytes().await.map_err(|e| self.unreachable(e))?;
        if status.is_success() {
            return serde_json::from_slice(&body).map(Answer::Ok).map_err(|_| {
                ClientError::Refused(format!("{path} answered something that is not idbroker's JSON"))
            });
        }
        match serde_json::from_slice::<ErrorAnswer>(&body) {
            Ok(e) => Ok(Answer::Refused(e)),
            Err(_) => Err(ClientError::Refused(format!("{path} answered HTTP {status}"))),
        }
    }
}

/// A refusal the caller does not handle itself, as the command reports it.
fn refused(e: ErrorAnswer) -> ClientError {
    match e.error.as_str() {
        "invalid_credentials" => ClientError::BadPassword,
        "mfa_required" | "invalid_mfa_code" | "mfa_enrolment_required" => {
            ClientError::Mfa(e.error_description)
        }
        "throttled" => ClientError::Throttled,
        "no_role" | "role_not_offered" | "role_unavailable" => ClientError::NoRole(e.error_description),
        "access_denied" => ClientError::Denied,
        "expired_token" => ClientError::Expired,
        _ => ClientError::Refused(format!("{} ({})", e.error_description, e.error)),
    }
}

/// A PKCE verifier (256 bits, hex: within RFC 7636's 43 to 128 characters).
fn verifier() -> String {
    crate::crypto::random_token(32)
}

/// The fields every flow sends besides its own.
fn request_fields<'a>(
    args: &'a SignInArgs,
    challenge: &'a str,
    duration: &'a str,
) -> Vec<(&'a str, &'a str)> {
    let mut fields = vec![
        ("client_name", "idbroker login"),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    ];
    if let Some(role) = &args.role {
        fields.push(("role", role));
    }
    if !duration.is_empty() {
        fields.push(("duration", duration));
    }
    if let Some(provider) = &args.provider {
        fields.push(("provider", provider));
    }
    fields
}

pub async fn sign_in(args: &SignInArgs) -> Result<Credentials, ClientError> {
    let server = Server::new(args)?;
    if args.username.is_some() {
        return password(&server, args).await;
    }
    if args.no_browser {
        device(&server, args).await
    } else {
        browser(&server, args).await
    }
}

/// The browser flow: a one-time request bound to the verifier; the browser
/// comes back to a port on 127.0.0.1 that this command listens on.
async fn browser(server: &Server, args: &SignInArgs) -> Result<Credentials, ClientError> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| ClientError::Local(format!("cannot listen on a loopback port: {e}")))?;
    let port = listener.local_addr().map_err(|e| ClientError::Local(e.to_string()))?.port();
    let redirect_uri = format!("http://127.0.0.1:{port}/callback");
    let verifier = verifier();
    let challenge = s256_challenge(&verifier);
    let state = crate::crypto::random_token(16);
    let duration = args.duration.map(|d| d.to_string()).unwrap_or_default();
    let mut url = url::Url::parse(&format!("{}/cli/authorize", server.base))
        .map_err(|e| ClientError::Usage(format!("--url: {e}")))?;
    url.query_pairs_mut()
        .extend_pairs(request_fields(args, &challenge, &duration))
        .append_pair("redirect_uri", &redirect_uri)
        .append_pair("state", &state);
    eprintln!("Opening your browser to sign in. If it does not open, visit:\n\n  {url}\n");
    open_browser(url.as_str());
    eprintln!("Waiting for the browser… (Ctrl-C to cancel)");
    let code =
        tokio::time::timeout(WAIT, callback(&listener, &state)).await.map_err(|_| ClientError::Expired)??;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", redirect_uri.as_str()),
        ("code_verifier", verifier.as_str()),
    ];
    match server.post::<Credentials>("/cli/token", &form).await? {
        Answer::Ok(c) => Ok(c),
        Answer::Refused(e) => Err(refused(e)),
    }
}

/// `$BROWSER`, else the desktop's opener; failing that, the printed URL will do.
fn open_browser(url: &str) {
    let candidates: Vec<String> = match std::env::var("BROWSER") {
        Ok(b) if !b.trim().is_empty() => vec![b],
        _ => vec!["xdg-open".into(), "open".into()],
    };
    for program in candidates {
        let started = std::process::Command::new(&program)
            .arg(url)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
        if started.is_ok() {
            return;
        }
    }
}

/// Answers the browser's requests until one brings the code for `state`.
async fn callback(listener: &tokio::net::TcpListener, state: &str) -> Result<String, ClientError> {
    loop {
        let (mut stream, _) = listener.accept().await.map_err(|e| ClientError::Local(e.to_string()))?;
        let mut buffer = vec![0u8; 8192];
        let n = match stream.read(&mut buffer).await {
            Ok(n) => n,
            Err(_) => continue,
        };
        let head = String::from_utf8_lossy(&buffer[..n]);
        let target = head.lines().next().and_then(|l| l.split_whitespace().nth(1)).unwrap_or("");
        let Ok(url) = url::Url::parse(&format!("http://127.0.0.1{target}")) else { continue };
        if url.path() != "/callback" {
            let _ = stream
                .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                .await;
            continue;
        }
        let field = |name: &str| url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned());
        let (title, outcome) = if field("state").as_deref() != Some(state) {
            (
                "Sign-in not accepted",
                Err(ClientError::Refused("the browser came back with another sign-in's state".into())),
            )
        } else if let Some(code) = field("code") {
            ("Signed in", Ok(code))
        } else if field("error").as_deref() == Some("access_denied") {
            ("Sign-in denied", Err(ClientError::Denied))
        } else {
            ("Sign-in failed", Err(ClientError::Refused(field("error").unwrap_or_else(|| "no code".into()))))
        };
        let body = format!(
            "<!doctype html><meta charset=utf-8><title>{title}</title><p>{title}. You can close this tab and return to your terminal.</p>"
        );
        let response = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = stream.write_all(response.as_bytes()).await;
        return outcome;
    }
}

/// The device flow: a code the user types at a page, then polling.
async fn device(server: &Server, args: &SignInArgs) -> Result<Credentials, ClientError> {
    let verifier = verifier();
    let challenge = s256_challenge(&verifier);
    let duration = args.duration.map(|d| d.to_string()).unwrap_or_default();
    let start = match server
        .post::<DeviceStart>("/cli/device/code", &request_fields(args, &challenge, &duration))
        .await?
    {
        Answer::Ok(s) => s,
        Answer::Refused(e) => return Err(refused(e)),
    };
    eprintln!(
        "To sign in, open\n\n  {}\n\nand enter the code  {}\n\n(or open {} directly)\nWaiting for you to approve… (Ctrl-C to cancel)",
        start.verification_uri, start.user_code, start.verification_uri_complete
    );
    let mut interval = Duration::from_secs(start.interval.max(1));
    let form = [
        ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
        ("device_code", start.device_code.as_str()),
        ("code_verifier", verifier.as_str()),
    ];
    loop {
        tokio::time::sleep(interval).await;
        match server.post::<Credentials>("/cli/token", &form).await? {
            Answer::Ok(c) => return Ok(c),
            Answer::Refused(e) if e.error == "authorization_pending" => {}
            Answer::Refused(e) if e.error == "slow_down" => interval += Duration::from_secs(5),
            Answer::Refused(e) => return Err(refused(e)),
        }
    }
}

/// The password's first line (and, with --totp-stdin, a code on the next
/// one): from standard input or an owner-only file, never the command line.
fn secret_lines(args: &SignInArgs) -> Result<(String, String), ClientError> {
    let reader: Box<dyn BufRead> = match &args.password_file {
        Some(path) => {
            let file = std::fs::File::open(path)
                .map_err(|e| ClientError::Usage(format!("--password-file {}: {e}", path.display())))?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::MetadataExt;
                let mode = file.metadata().map_err(|e| ClientError::Local(e.to_string()))?.mode();
                if mode & 0o077 != 0 {
                    return Err(ClientError::Usage(format!(
                        "--password-file {} is readable by others: chmod 600 it",
                        path.display()
                    )));
                }
            }
            Box::new(std::io::BufReader::new(file))
        }
        None if args.password_stdin => Box::new(std::io::stdin().lock()),
        None => {
            return Err(ClientError::Usage("--username needs --password-stdin or --password-file".into()))
        }
    };
    let mut lines = reader.lines();
    let mut line = || {
        lines.next().transpose().map_err(|e| ClientError::Local(e.to_string())).map(Option::unwrap_or_default)
    };
    let secret = line()?;
    if secret.is_empty() {
        return Err(ClientError::Usage("no password was given (an empty first line)".into()));
    }
    let totp = if args.totp_stdin { line()? } else { String::new() };
    Ok((secret, totp))
}

/// A directory password sign-in, for automation.
async fn password(server: &Server, args: &SignInArgs) -> Result<Credentials, ClientError> {
    let (secret, mut totp) = secret_lines(args)?;
    let username = args.username.clone().unwrap_or_default();
    let duration = args.duration.map(|d| d.to_string()).unwrap_or_default();
    let mut role = args.role.clone().unwrap_or_default();
    let mut choice = String::new();
    loop {
        let mut form = vec![("role", role.as_str()), ("duration", duration.as_str())];
        if choice.is_empty() {
            form.extend([
                ("username", username.as_str()),
                ("password", secret.as_str()),
                ("totp", totp.as_str()),
            ]);
        } else {
            form.push(("choice", choice.as_str()));
        }
        match server.post::<Credentials>("/cli/password", &form).await? {
            Answer::Ok(c) => return Ok(c),
            Answer::Refused(e) if e.error == "mfa_required" && totp.is_empty() => {
                totp = ask("Verification code (TOTP): ").ok_or(ClientError::Mfa(e.error_description))?;
            }
            Answer::Refused(e) if e.error == "role_required" => {
                role = choose_role(&e.accounts)?;
                choice = e.choice;
            }
            Answer::Refused(e) => return Err(refused(e)),
        }
    }
}

/// A line typed at the terminal, when there is one to ask at.
fn ask(prompt: &str) -> Option<String> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let tty = std::fs::File::open("/dev/tty").ok()?;
    eprint!("{prompt}");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::BufReader::new(tty).read_line(&mut answer).ok()?;
    Some(answer.trim().to_owned())
}

/// The role to use among those offered: asked at a terminal, else an error that lists them.
fn choose_role(accounts: &[OfferedAccount]) -> Result<String, ClientError> {
    let mut listing = String::new();
    let mut arns = Vec::new();
    for account in accounts {
        listing.push_str(&format!("  Account {}\n", account.label));
        for (arn, name) in &account.roles {
            arns.push(arn.clone());
            listing.push_str(&format!("    {:>2}) {name:<24} {arn}\n", arns.len()));
        }
    }
    if std::io::stderr().is_terminal() {
        eprintln!("Several roles are offered:\n{listing}");
        if let Some(answer) = ask("Role number: ") {
            if let Some(arn) = answer.parse::<usize>().ok().and_then(|n| arns.get(n.wrapping_sub(1))) {
                return Ok(arn.clone());
            }
        }
    }
    Err(ClientError::NoRole(format!("several roles are offered; choose one with --role:\n{listing}")))
}
