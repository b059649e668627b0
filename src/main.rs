//! `idbroker serve`, the operator's commands, and the API client's
//! `login` and `credential-process`.
use clap::{Parser, Subcommand};
use idbroker::clock::SystemClock;
use idbroker::config::Settings;
use idbroker::iam::IamError;
use idbroker::startup::{self, Application};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

// The request paths allocate many small, short-lived buffers (XML, JSON,
// rows); mimalloc serves those faster than glibc's allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "idbroker", version, about = "Identity broker with an AWS-compatible IAM and STS")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the service.
    Serve {
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// The signing keys (session tokens, built-in IdP), shared by every node
    /// through the database. A key rolls over in three steps, each in force on
    /// every node within a second, without a restart: `publish` (relying
    /// parties see it in the JWKS and the metadata), `activate` (it signs),
    /// `retire` (the old key goes).
    Keys {
        #[command(subcommand)]
        step: KeyStep,
        #[arg(long, global = true)]
        config: Option<PathBuf>,
    },
    /// Check the database, the master key and the signing keys, the directory
    /// and the public URL; say what is wrong. Exit code 1 when anything is.
    Doctor {
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Same as `keys publish token` (the new key signs once activated).
    RotateTokenKey {
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Same as `keys publish idp` (the new key signs once activated).
    RotateIdpKey {
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Forget a directory user's TOTP enrolment (a lost authenticator): they
    /// enrol again at their next sign-in. Audited.
    ResetDirectoryMfa {
        /// The user's distinguished name in the directory.
        #[arg(long)]
        dn: String,
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Sign in (browser, device code or directory password) and write an AWS
    /// profile with temporary credentials and idbroker's endpoint.
    #[command(after_help = LOGIN_EXAMPLES)]
    Login {
        #[command(flatten)]
        sign_in: idbroker::client::SignInArgs,
        /// The profile to write (in AWS_SHARED_CREDENTIALS_FILE, or ~/.aws/credentials).
        #[arg(long, default_value = "default")]
        profile: String,
        /// `profile` writes the AWS files; `env` prints `export` lines instead.
        #[arg(long, value_enum, default_value = "profile")]
        format: idbroker::client::Format,
    },
    /// Print AWS credential_process JSON: from a cache while the credentials
    /// last, else after signing in again. For `credential_process = ...` in
    /// an AWS profile.
    #[command(after_help = CREDENTIAL_PROCESS_EXAMPLES)]
    CredentialProcess {
        #[command(flatten)]
        sign_in: idbroker::client::SignInArgs,
    },
    /// Create an account with its root user and an administrator user with one
    /// access key; prints the credentials as one JSON object.
    Init {
        #[arg(long)]
        account_id: String,
        #[arg(long)]
        admin_user: String,
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum KeyStep {
    /// Every key: kid, purpose, state, creation time (JSON lines).
    List,
    /// A new key, published (verifies, does not sign yet); prints its kid.
    Publish {
        /// `token` (session tokens) or `idp` (the built-in IdP).
        purpose: String,
    },
    /// The published key KID signs from now on; the key it replaces stays published.
    Activate { kid: String },
    /// The published key KID goes (tokens it signed stop verifying).
    Retire { kid: String },
}

const LOGIN_EXAMPLES: &str = "Examples:
  idbroker login --url https://idbroker.example.com --profile dev
  idbroker login --url https://idbroker.example.com --role ROLE_ARN --no-browser
  printf '%s\\n' \"$PASSWORD\" | idbroker login --url URL --username ci-bot --password-stdin --role ARN
  eval \"$(idbroker login --url URL --role ARN --format env)\"

Exit codes: 0 signed in; 1 refused; 2 usage; 3 wrong password; 4 verification code;
5 throttled; 6 no such role; 7 server unreachable; 8 TLS error; 9 denied or expired.";

const CREDENTIAL_PROCESS_EXAMPLES: &str = "Example, in ~/.aws/config:
  [profile dev]
  credential_process = idbroker credential-process --url https://idbroker.example.com --role ROLE_ARN
  endpoint_url = https://idbroker.example.com

Exit codes as for `idbroker login`.";

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The API client's commands read no server settings.
    if let Some(code) = client_command(&cli.command) {
        return code;
    }
    let config = match &cli.command {
        Command::Serve { config }
        | Command::Init { config, .. }
        | Command::Keys { config, .. }
        | Command::Doctor { config }
        | Command::RotateTokenKey { config }
        | Command::RotateIdpKey { config }
        | Command::ResetDirectoryMfa { config, .. } => config.clone(),
        Command::Login { .. } | Command::CredentialProcess { .. } => None,
    };
    let settings = match Settings::load(config.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("idbroker: {e}");
            return ExitCode::from(2);
        }
    };
    idbroker::telemetry::init(&settings.log);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("idbroker: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve { .. } => serve(settings).await,
            Command::Init { account_id, admin_user, .. } => init(settings, &account_id, &admin_user).await,
            Command::Keys { step, .. } => keys(settings, step).await,
            Command::Doctor { .. } => doctor(settings).await,
            Command::RotateTokenKey { .. } => {
                keys(settings, KeyStep::Publish { purpose: "token".into() }).await
            }
            Command::ResetDirectoryMfa { dn, .. } => reset_directory_mfa(settings, &dn).await,
            Command::RotateIdpKey { .. } => keys(settings, KeyStep::Publish { purpose: "idp".into() }).await,
            Command::Login { .. } | Command::CredentialProcess { .. } => Ok(ExitCode::FAILURE),
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("idbroker: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(settings: Settings) -> anyhow::Result<ExitCode> {
    let app = Application::build(&settings, Arc::new(SystemClock)).await?;
    tracing::info!(listen = %settings.server.listen, port = app.port(), "idbroker serving");
    app.run().await?;
    tracing::info!("idbroker stopped");
    Ok(ExitCode::SUCCESS)
}

/// `login` and `credential-process`, on a runtime of their own; `None` for
/// the server's commands.
fn client_command(command: &Command) -> Option<ExitCode> {
    let run = |future: std::pin::Pin<Box<dyn std::future::Future<Output = ExitCode>>>| {
        match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(runtime) => runtime.block_on(future),
            Err(e) => {
                eprintln!("idbroker: cannot start the runtime: {e}");
                ExitCode::FAILURE
            }
        }
    };
    match command {
        Command::Login { sign_in, profile, format } => {
            Some(run(Box::pin(idbroker::client::login(sign_in, profile, *format))))
        }
        Command::CredentialProcess { sign_in } => {
            Some(run(Box::pin(idbroker::client::credential_process(sign_in))))
        }
        _ => None,
    }
}

async fn reset_directory_mfa(settings: Settings, dn: &str) -> anyhow::Result<ExitCode> {
    let startup::Services { store, clock, .. } = startup::services(&settings, Arc::new(SystemClock)).await?;
    let existed = idbroker::idp::second_factor::SecondFactor::reset(&store, dn).await?;
    let event = operator_event(
        clock.now(),
        "ResetDirectoryMFA",
        serde_json::json!({ "dn": dn }),
        (!existed).then(|| ("NoSuchEntity".to_owned(), None)),
    );
    store.insert_audit_events(&[event]).await?;
    store.close().await;
    if existed {
        println!("reset: {dn} enrols again at the next sign-in");
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("idbroker reset-directory-mfa: {dn} has no enrolment");
        Ok(ExitCode::from(1))
    }
}

async fn init(settings: Settings, account_id: &str, admin_user: &str) -> anyhow::Result<ExitCode> {
    let startup::Services { store, iam, idp, clock, .. } =
        startup::services(&settings, Arc::new(SystemClock)).await?;
    let outcome = iam.create_account(account_id, admin_user).await;
    if let Ok(created) = &outcome {
        let account = Some(&created.account_id);
        startup::register_builtin_provider(&store, &idp, account, clock.now().timestamp()).await?;
    }
    store.close().await;
    match outcome {
        Ok(created) => {
            println!("{}", serde_json::to_string(&created)?);
            Ok(ExitCode::SUCCESS)
        }
        Err(e @ (IamError::EntityAlreadyExists(_) | IamError::Validation(_))) => {
            eprintln!("idbroker init: {e}");
            Ok(ExitCode::from(1))
        }
        Err(e) => Err(e.into()),
    }
}

/// `idbroker keys ...`: one step of a key rollover, audited.
async fn keys(settings: Settings, step: KeyStep) -> anyhow::Result<ExitCode> {
    use idbroker::keys::KeyPurpose;
    let startup::Services { store, keys, clock, .. } =
        startup::services(&settings, Arc::new(SystemClock)).await?;
    let now = clock.now().timestamp();
    let (name, parameters, outcome) = match &step {
        KeyStep::List => {
            for k in keys.list().await? {
                println!("{}", serde_json::to_string(&k)?);
            }
            store.close().await;
            return Ok(ExitCode::SUCCESS);
        }
        KeyStep::Publish { purpose } => {
            let Some(p) = KeyPurpose::parse(purpose) else {
                eprintln!("idbroker keys publish: the purpose is `token` or `idp`");
                return Ok(ExitCode::from(2));
            };
            let published = keys.publish(p, now).await;
            if let Ok(kid) = &published {
                println!("{kid}");
                eprintln!(
                    "published: every node announces it within a second; activate it once relying parties \
                     have the new keys: idbroker keys activate {kid}"
                );
            }
            ("PublishSigningKey", serde_json::json!({ "purpose": purpose }), published.map(|_| ()))
        }
        KeyStep::Activate { kid } => {
            ("ActivateSigningKey", serde_json::json!({ "kid": kid }), keys.activate(kid, now).await)
        }
        KeyStep::Retire { kid } => {
            ("RetireSigningKey", serde_json::json!({ "kid": kid }), keys.retire(kid, now).await)
        }
    };
    let refusal = outcome.as_ref().err().map(|e| ("InvalidKeyState".to_owned(), Some(e.to_string())));
    let event = operator_event(clock.now(), name, parameters, refusal);
    store.insert_audit_events(&[event]).await?;
    store.close().await;
    match outcome {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e @ idbroker::keys::KeyRingError::WrongState(_)) => {
            eprintln!("idbroker keys: {e}");
            Ok(ExitCode::from(1))
        }
        Err(e) => Err(e.into()),
    }
}

/// `idbroker doctor`: one line per check, then the verdict.
async fn doctor(settings: Settings) -> anyhow::Result<ExitCode> {
    let now = idbroker::clock::Clock::now(&SystemClock).timestamp();
    let findings = idbroker::doctor::examine(&settings, now).await;
    for f in &findings {
        println!("{} {:<16} {}", if f.ok { "ok  " } else { "FAIL" }, f.check, f.detail);
    }
    let failed = findings.iter().filter(|f| !f.ok).count();
    if failed == 0 {
        println!("everything this node needs is in order");
        Ok(ExitCode::SUCCESS)
    } else {
        println!("{failed} problem(s) above");
        Ok(ExitCode::from(1))
    }
}

/// An audit event for a command an operator ran on this machine.
fn operator_event(
    event_time: chrono::DateTime<chrono::Utc>,
    name: &str,
    parameters: serde_json::Value,
    refusal: Option<(String, Option<String>)>,
) -> idbroker::audit::AuditEvent {
    idbroker::audit::AuditEvent::deployment(event_time, "idbroker.cli", "Operator", name, parameters, refusal)
}
