//! Settings: built-in defaults, then the TOML file, then `IDBROKER__SECTION__KEY`
//! environment variables. Unknown keys and malformed values stop start-up with a
//! message naming them. This is the only module that reads files or the environment
//! for configuration.
use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub directory: DirectorySettings,
    pub idp: IdpSettings,
    pub sts: StsSettings,
    pub audit: AuditSettings,
    pub log: LogSettings,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditSettings {
    /// Events older than this many days are deleted (exported first when
    /// `export` is set). 0: kept for ever.
    pub retention_days: u32,
    /// Refused SAML responses are kept this long, sealed, so the admin
    /// console's debugger can open them from the sign-in history. 0: never.
    pub keep_refused_assertions_seconds: u32,
    /// Empty (no export), `stdout`, or a file that events are appended to,
    /// as JSON lines, before retention deletes them.
    pub export: String,
    /// An export file that would grow past this is renamed `<file>.<time>`
    /// and a new one begun.
    pub export_max_bytes: u64,
    /// Leave successful read-only calls (`Get*`, `List*`, `GetCallerIdentity`)
    /// out of the trail, as CloudTrail can; their errors are still recorded.
    pub skip_read_only: bool,
    /// Events that may wait to be stored. When the database falls this far
    /// behind, requests wait for room, and after `max_wait_ms` are refused
    /// with a retryable ServiceUnavailable before doing anything.
    pub queue: usize,
    pub max_wait_ms: u64,
    /// Answer a request only once its audit events are stored (at most
    /// `max_wait_ms`), so a node that dies after answering loses no record.
    /// Off: answered at once, events stored with the next group commit (a
    /// crash loses the last few milliseconds' events), for more throughput.
    pub stored_before_answer: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StsSettings {
    /// Temporary credentials one principal (a user, a role whatever the
    /// session name, a root user) may obtain with `AssumeRole`,
    /// `GetSessionToken` and `GetFederationToken` per clock hour; past it,
    /// `Throttling`. 0: no limit.
    pub sessions_per_principal_per_hour: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    pub listen: String,
    pub public_url: crate::domain::PublicUrl,
    /// Peers whose `X-Forwarded-For` / `Forwarded` name the client (CIDRs).
    pub trusted_proxies: crate::domain::TrustedProxies,
    pub region: String,
    pub data_dir: PathBuf,
    /// The master key's file; empty: `master.key` in `data_dir`. The
    /// environment variable `IDBROKER_MASTER_KEY` (base64) comes first.
    pub master_key_file: String,
    pub max_body_bytes: usize,
    pub workers: usize,
    /// Accounts whose principals may change the deployment's signing keys
    /// through the API (`PublishSigningKey`, ...), as their policies allow.
    pub operator_accounts: Vec<String>,
    /// PEM certificates trusted, besides the system's, for metadata fetched
    /// from an https URL (a private CA).
    pub fetch_ca_file: String,
}

/// A secret setting: read like any string, never printed by `Debug`.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_empty() { "\"\"" } else { "\"***\"" })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    pub url: String,
    pub max_connections: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectorySettings {
    pub kind: DirectoryKind,
    pub url: String,
    pub bind_dn: String,
    pub bind_password: Secret,
    pub user_base_dn: String,
    pub user_filter: String,
    pub group_base_dn: String,
    pub starttls: bool,
    pub ca_file: String,
    pub timeout_seconds: u64,
    pub pool_size: usize,
    /// Directory attributes sent as `PrincipalTag:<attribute>`.
    pub tag_attributes: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdpSettings {
    /// `SessionDuration` sent in issued assertions (seconds, 900..=43200).
    pub session_duration: i64,
    /// How often the metadata of SPs registered by URL is fetched again (seconds).
    pub metadata_refresh_seconds: u64,
    /// How long a directory sign-in at the IdP serves further SPs without a password (seconds).
    pub sso_session_seconds: i64,
    /// Failed sign-ins allowed per user name, and per source address, within
    /// `throttle_window_seconds` before `/idp/login` answers 429.
    pub max_failures_per_user: u32,
    pub max_failures_per_address: u32,
    pub throttle_window_seconds: u64,
    /// Explicit rules: members of `group_dn` (transitively) get `role_arn`.
    pub role_mappings: Vec<RoleMappingSettings>,
    /// Members of these groups (by name or DN, transitively) must also give a
    /// TOTP code; they enrol an authenticator app at their first sign-in.
    pub mfa_groups: Vec<String>,
    /// Service providers besides idbroker's own SP that may ask for assertions.
    pub service_providers: Vec<ServiceProviderSettings>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleMappingSettings {
    pub group_dn: String,
    pub role_arn: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceProviderSettings {
    /// A metadata file (AWS publishes its own, for example) instead of the
    /// three keys below; when set, they are read from it.
    #[serde(default)]
    pub metadata_file: String,
    #[serde(default)]
    pub entity_id: String,
    #[serde(default)]
    pub acs_urls: Vec<String>,
    /// PEM certificate the SP signs AuthnRequests with; when set, unsigned
    /// requests from this SP are refused.
    #[serde(default)]
    pub signing_certificate: String,
    /// Sign the Assertion too, not only the Response (metadata asks for it
    /// with `WantAssertionsSigned="true"`).
    #[serde(default)]
    pub sign_assertions: bool,
    /// PEM certificate to encrypt this SP's assertions to (AES-256-GCM);
    /// an SP's metadata can ask for it too (`KeyDescriptor use="encryption"`).
    #[serde(default)]
    pub encryption_certificate: String,
}

/// The user filter default; with `kind = "active_directory"` it stands for
/// sAMAccountName or userPrincipalName instead.
pub const DEFAULT_USER_FILTER: &str = "(uid={username})";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DirectoryKind {
    Openldap,
    ActiveDirectory,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    pub level: String,
    pub format: String,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            server: ServerSettings {
                listen: "127.0.0.1:8080".into(),
                public_url: crate::domain::PublicUrl::default(),
                trusted_proxies: crate::domain::TrustedProxies::default(),
                region: "us-east-1".into(),
                data_dir: PathBuf::from("./data"),
                master_key_file: String::new(),
                max_body_bytes: 1024 * 1024,
                workers: 0,
                operator_accounts: Vec::new(),
                fetch_ca_file: String::new(),
            },
            database: DatabaseSettings { url: "sqlite://./data/idbroker.db".into(), max_connections: 16 },
            directory: DirectorySettings {
                kind: DirectoryKind::Openldap,
                url: String::new(),
                bind_dn: String::new(),
                bind_password: Secret::default(),
                user_base_dn: String::new(),
                user_filter: DEFAULT_USER_FILTER.into(),
                group_base_dn: String::new(),
                starttls: false,
                ca_file: String::new(),
                timeout_seconds: 5,
                pool_size: 8,
                tag_attributes: vec![],
            },
            idp: IdpSettings {
                session_duration: 3600,
                metadata_refresh_seconds: 3600,
                sso_session_seconds: 28_800,
                max_failures_per_user: 5,
                max_failures_per_address: 20,
                throttle_window_seconds: 300,
                role_mappings: vec![],
                mfa_groups: vec![],
                service_providers: vec![],
            },
            sts: StsSettings { sessions_per_principal_per_hour: 3600 },
            audit: AuditSettings {
                retention_days: 400,
                keep_refused_assertions_seconds: 3600,
                export: String::new(),
                export_max_bytes: 100 * 1024 * 1024,
                skip_read_only: false,
                queue: 65_536,
                max_wait_ms: 2_000,
                stored_before_answer: true,
            },
            log: LogSettings { level: "info".into(), format: "text".into() },
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration file `{0}` does not exist")]
    MissingFile(PathBuf),
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

impl Settings {
    /// Loads settings. A path given explicitly must exist; with none, the file
    /// `config/idbroker.toml` is not read: the defaults are complete on their own.
    pub fn load(path: Option<&Path>) -> Result<Settings, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(path) = path {
            if !path.exists() {
                return Err(ConfigError::MissingFile(path.to_path_buf()));
            }
            figment = figment.merge(Toml::file(path));
        }
        Self::extract(figment.merge(Env::prefixed("IDBROKER__").split("__")))
    }

    /// Settings from a TOML string (and no environment), for tests.
    pub fn from_toml(text: &str) -> Result<Settings, ConfigError> {
        Self::extract(Figment::from(Serialized::defaults(Settings::default())).merge(Toml::string(text)))
    }

    fn extract(figment: Figment) -> Result<Settings, ConfigError> {
        let settings: Settings = figment.extract().map_err(|e| {
            // figment's error names the key path; one line per problem.
            ConfigError::Invalid(e.into_iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))
        })?;
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let url = &self.database.url;
        if !(url.starts_with("sqlite:") || url.starts_with("postgres://") || url.starts_with("postgresql://"))
        {
            return Err(ConfigError::Invalid(format!(
                "database.url `{url}` must start with sqlite:// or postgres://"
            )));
        }
        if self.server.listen.parse::<std::net::SocketAddr>().is_err() {
            return Err(ConfigError::Invalid(format!(
                "server.listen `{}` is not an address:port",
                self.server.listen
            )));
        }
        if let Some(bad) =
            self.server.operator_accounts.iter().find(|a| crate::domain::AccountId::parse(a).is_err())
        {
            return Err(ConfigError::Invalid(format!(
                "server.operator_accounts: `{bad}` is not a 12-digit account id"
            )));
        }
        if !["text", "json"].contains(&self.log.format.as_str()) {
            return Err(ConfigError::Invalid(format!(
                "log.format `{}` must be text or json",
                self.log.format
            )));
        }
        for sp in &self.idp.service_providers {
            if sp.metadata_file.is_empty() && (sp.entity_id.is_empty() || sp.acs_urls.is_empty()) {
                return Err(ConfigError::Invalid(
                    "idp.service_providers: each needs metadata_file, or entity_id and acs_urls".into(),
                ));
            }
        }
        if !(60..=604_800).contains(&self.idp.sso_session_seconds) {
            return Err(ConfigError::Invalid("idp.sso_session_seconds must be within 60..=604800".into()));
        }
        if self.idp.metadata_refresh_seconds == 0 {
            return Err(ConfigError::Invalid("idp.metadata_refresh_seconds must be at least 1".into()));
        }
        if !(900..=43_200).contains(&self.idp.session_duration) {
            return Err(ConfigError::Invalid("idp.session_duration must be within 900..=43200".into()));
        }
        if self.directory.timeout_seconds == 0 || self.directory.pool_size == 0 {
            return Err(ConfigError::Invalid(
                "directory.timeout_seconds and directory.pool_size must be positive".into(),
            ));
        }
        if !self.directory.user_filter.contains("{username}") {
            return Err(ConfigError::Invalid("directory.user_filter must contain `{username}`".into()));
        }
        let d = &self.directory;
        let ldap_scheme = d.url.starts_with("ldap://") || d.url.starts_with("ldaps://");
        if !d.url.is_empty() && !ldap_scheme {
            return Err(ConfigError::Invalid(format!(
                "directory.url `{}` must be an ldap:// or ldaps:// URL",
                d.url
            )));
        }
        // A CA bundle with TLS off would be silently unused: the operator meant TLS.
        let tls = d.starttls || d.url.starts_with("ldaps://");
        if !d.ca_file.is_empty() && !tls {
            return Err(ConfigError::Invalid(
                "directory.ca_file is set but TLS is off: use an ldaps:// directory.url or directory.starttls = true"
                    .into(),
            ));
        }
        Ok(())
    }
}

/// Creates the data folder, private to this user (0700), when missing.
pub fn ensure_private_dir(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    if path.exists() {
        return Ok(());
    }
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))
}

/// The environment variable that carries the master key (base64, 32 bytes).
pub const MASTER_KEY_ENV: &str = "IDBROKER_MASTER_KEY";

/// Where the master key's file is (when the environment does not carry it).
pub fn master_key_path(settings: &Settings) -> PathBuf {
    match settings.server.master_key_file.as_str() {
        "" => settings.server.data_dir.join("master.key"),
        file => PathBuf::from(file),
    }
}

/// The master key's bytes: from `IDBROKER_MASTER_KEY`, else from
/// `server.master_key_file` (default `<data_dir>/master.key`), which is made
/// with `generate()` when missing. The only secret nodes share besides the
/// database.
pub fn master_key_bytes(
    settings: &Settings,
    generate: impl FnOnce() -> Vec<u8>,
) -> Result<Vec<u8>, ConfigError> {
    if let Ok(encoded) = std::env::var(MASTER_KEY_ENV) {
        use base64::Engine;
        return base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .map_err(|_| ConfigError::Invalid(format!("{MASTER_KEY_ENV} is not base64")));
    }
    let path = master_key_path(settings);
    load_or_create_key_file(&path, generate).map_err(|e| {
        ConfigError::Invalid(format!("cannot read or create the master key {}: {e}", path.display()))
    })
}

/// Reads a secret key file under the data folder, creating it (mode 0600, hex)
/// with `generate()` on first start.
pub fn load_or_create_key_file(path: &Path, generate: impl FnOnce() -> Vec<u8>) -> std::io::Result<Vec<u8>> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if path.exists() {
        let text = std::fs::read_to_string(path)?;
        return hex::decode(text.trim()).map_err(|e| {
            std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{}: not hex: {e}", path.display()))
        });
    }
    if let Some(dir) = path.parent() {
        ensure_private_dir(dir)?;
    }
    let key = generate();
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    f.write_all(hex::encode(&key).as_bytes())?;
    f.sync_all()?;
    Ok(key)
}

/// `(file name, contents)` of each file in a folder of key files.
pub fn read_key_folder(dir: &Path) -> std::io::Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    if !dir.exists() {
        return Ok(out);
    }
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            out.push((
                entry.file_name().to_string_lossy().into_owned(),
                std::fs::read_to_string(entry.path())?,
            ));
        }
    }
    Ok(out)
}

/// Writes a new private file (mode 0600) in `dir`, creating the folder.
pub fn write_key_file(dir: &Path, name: &str, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    ensure_private_dir(dir)?;
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(dir.join(name))?;
    f.write_all(contents.as_bytes())?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_files_are_created_private_and_read_back() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/master.key");
        let k1 = load_or_create_key_file(&path, || vec![7u8; 32]).unwrap();
        let k2 = load_or_create_key_file(&path, || vec![9u8; 32]).unwrap();
        assert_eq!(k1, k2);
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    }

    #[test]
    fn defaults_are_valid_and_complete() {
        let s = Settings::from_toml("").unwrap();
        assert_eq!(s.server.listen, "127.0.0.1:8080");
        assert_eq!(s.database.url, "sqlite://./data/idbroker.db");
    }

    #[test]
    fn unknown_key_is_an_error_naming_it() {
        let err = Settings::from_toml("[server]\nlisten_port = 1\n").unwrap_err().to_string();
        assert!(err.contains("listen_port"), "{err}");
        let err = Settings::from_toml("[nosuch]\na = 1\n").unwrap_err().to_string();
        assert!(err.contains("nosuch"), "{err}");
    }

    #[test]
    fn public_url_is_normalised_once_and_refused_with_a_path() {
        let s = Settings::from_toml("[server]\npublic_url = \"https://idb.example/\"\n").unwrap();
        assert_eq!(s.server.public_url.acs(), "https://idb.example/saml/acs");
        for bad in ["https://idb.example/idb", "https://idb.example/?x=1", "idb.example"] {
            let err =
                Settings::from_toml(&format!("[server]\npublic_url = \"{bad}\"\n")).unwrap_err().to_string();
            assert!(err.contains("public_url"), "{err}");
        }
    }

    #[test]
    fn directory_settings_that_cannot_work_stop_start_up() {
        for (toml, key) in [
            ("[directory]\nurl = \"http://dc.example\"\n", "directory.url"),
            ("[directory]\nurl = \"ldap://dc.example\"\nca_file = \"/etc/ca.pem\"\n", "directory.ca_file"),
        ] {
            let err = Settings::from_toml(toml).unwrap_err().to_string();
            assert!(err.contains(key), "{err}");
        }
        let tls = "[directory]\nurl = \"ldap://dc.example\"\nstarttls = true\nca_file = \"/etc/ca.pem\"\n";
        assert!(Settings::from_toml(tls).is_ok());
    }

    #[test]
    fn malformed_value_is_an_error_naming_the_key() {
        let err = Settings::from_toml("[directory]\nstarttls = \"maybe\"\n").unwrap_err().to_string();
        assert!(err.contains("starttls"), "{err}");
        let err = Settings::from_toml("[server]\nlisten = \"nowhere\"\n").unwrap_err().to_string();
        assert!(err.contains("server.listen"), "{err}");
    }

    #[test]
    fn the_shipped_config_file_parses_and_matches_the_defaults() {
        let text = include_str!("../config/idbroker.toml");
        let s = Settings::from_toml(text).unwrap();
        let d = Settings::default();
        assert_eq!(serde_json::to_value(&s).unwrap(), serde_json::to_value(&d).unwrap());
    }

    #[test]
    fn the_directory_password_is_read_but_never_printed() {
        let s = Settings::from_toml("[directory]\nbind_password = \"hunter2-service\"\n").unwrap();
        assert_eq!(s.directory.bind_password.expose(), "hunter2-service");
        assert!(!format!("{s:?}").contains("hunter2"), "{s:?}");
    }
}
