//! The command line for API clients: `idbroker login` writes an AWS profile,
//! `idbroker credential-process` answers the SDKs' `credential_process`.
//! Both sign in through idbroker's `/cli/*` endpoints (console/cli.rs): a
//! browser with a loopback return, a device code, or a directory password
//! for automation. Nothing is scraped. HTTP (reqwest) is used here only.
mod cache;
mod flows;
mod profile;

pub use crate::console::cli::CliCredentials as Credentials;
use std::process::ExitCode;

/// How to sign in; shared by `login` and `credential-process`.
#[derive(clap::Args, Debug, Clone)]
pub struct SignInArgs {
    /// idbroker's address, e.g. https://idbroker.example.com
    #[arg(long)]
    pub url: String,
    /// The role to sign in as (its ARN). Without it, choose among the roles offered.
    #[arg(long)]
    pub role: Option<String>,
    /// How long the credentials last, in seconds (900 to 43200, within the role's maximum).
    #[arg(long)]
    pub duration: Option<u32>,
    /// Sign in through this SAML provider (its ARN) instead of the built-in IdP.
    #[arg(long)]
    pub provider: Option<String>,
    /// Do not open a browser: show a code to type at a web page instead.
    #[arg(long)]
    pub no_browser: bool,
    /// For automation: a directory user name, with --password-stdin or --password-file.
    #[arg(long)]
    pub username: Option<String>,
    /// Read the password from the first line of standard input.
    #[arg(long, requires = "username", conflicts_with = "password_file")]
    pub password_stdin: bool,
    /// Read the password from the first line of this file, readable by its
    /// owner only (for credential_process, whose standard input is the SDK's).
    #[arg(long, requires = "username")]
    pub password_file: Option<std::path::PathBuf>,
    /// Read a TOTP code from the next line of standard input (else it is asked for when needed).
    #[arg(long, requires = "password_stdin")]
    pub totp_stdin: bool,
    /// A CA certificate (PEM) to trust for idbroker's TLS certificate.
    #[arg(long)]
    pub ca_file: Option<std::path::PathBuf>,
}

/// What `login` writes.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The profile in the AWS shared credentials file (and its endpoint in the config file).
    Profile,
    /// `export` lines for a shell, on standard output.
    Env,
}

/// Why the command stopped; each has its own exit code.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{0}")]
    Usage(String),
    #[error("cannot reach idbroker at {url}: {why}")]
    Unreachable { url: String, why: String },
    #[error("TLS error talking to {url}: {why} (is the certificate trusted? see --ca-file)")]
    Tls { url: String, why: String },
    #[error("the user name or password was not accepted")]
    BadPassword,
    #[error("{0}")]
    Mfa(String),
    #[error("too many failed sign-ins; wait a few minutes and try again")]
    Throttled,
    #[error("{0}")]
    NoRole(String),
    #[error("the sign-in was denied in the browser")]
    Denied,
    #[error("the sign-in took too long and expired; run the command again")]
    Expired,
    #[error("idbroker refused: {0}")]
    Refused(String),
    #[error("{0}")]
    Local(String),
}

impl ClientError {
    pub fn exit_code(&self) -> u8 {
        match self {
            ClientError::Usage(_) => 2,
            ClientError::BadPassword => 3,
            ClientError::Mfa(_) => 4,
            ClientError::Throttled => 5,
            ClientError::NoRole(_) => 6,
            ClientError::Unreachable { .. } => 7,
            ClientError::Tls { .. } => 8,
            ClientError::Denied | ClientError::Expired => 9,
            ClientError::Refused(_) | ClientError::Local(_) => 1,
        }
    }
}

/// `idbroker login`: signs in and writes the profile (or prints `export` lines).
pub async fn login(args: &SignInArgs, profile: &str, format: Format) -> ExitCode {
    let outcome = async {
        let credentials = flows::sign_in(args).await?;
        match format {
            Format::Env => print!("{}", profile::env_lines(&credentials, &args.url)),
            Format::Profile => {
                let written = profile::write(profile, &credentials, &args.url)?;
                eprintln!(
                    "Signed in as {} until {}. Profile `{profile}` written to {}.\n\
                     Try: aws --profile {profile} sts get-caller-identity",
                    credentials.role_arn,
                    credentials.expiration,
                    written.display()
                );
            }
        }
        Ok::<(), ClientError>(())
    };
    finish("login", outcome.await)
}

/// `idbroker credential-process`: AWS's credential_process JSON, from the
/// cache while the credentials last, else after a new sign-in.
pub async fn credential_process(args: &SignInArgs) -> ExitCode {
    let outcome = async {
        let role = args.role.as_deref().ok_or_else(|| {
            ClientError::Usage("credential-process needs --role: the SDK cannot ask which role".into())
        })?;
        let now = crate::clock::Clock::now(&crate::clock::SystemClock);
        let credentials = match cache::read(&args.url, role, now) {
            Some(kept) => kept,
            None => {
                let fresh = flows::sign_in(args).await?;
                cache::write(&args.url, role, &fresh)?;
                fresh
            }
        };
        let json = serde_json::json!({
            "Version": 1,
            "AccessKeyId": credentials.access_key_id,
            "SecretAccessKey": credentials.secret_access_key,
            "SessionToken": credentials.session_token,
            "Expiration": credentials.expiration,
        });
        println!("{json}");
        Ok::<(), ClientError>(())
    };
    finish("credential-process", outcome.await)
}

fn finish(command: &str, outcome: Result<(), ClientError>) -> ExitCode {
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("idbroker {command}: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
