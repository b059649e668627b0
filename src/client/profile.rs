//! What the AWS tools read: a profile in the shared credentials file (its
//! keys) and in the config file (idbroker's endpoint, a region), each
//! rewritten in place with every other profile, key and comment untouched;
//! or `export` lines for a shell.
use super::{ClientError, Credentials};
use std::path::{Path, PathBuf};

/// The region written when the profile names none (idbroker's default).
const DEFAULT_REGION: &str = "us-east-1";

fn home_file(variable: &str, name: &str) -> Result<PathBuf, ClientError> {
    if let Some(path) = std::env::var_os(variable).filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(path));
    }
    let home = std::env::var_os("HOME").ok_or_else(|| ClientError::Local("HOME is not set".into()))?;
    Ok(Path::new(&home).join(".aws").join(name))
}

/// Writes `profile`: its credentials (0600) and its endpoint hint.
/// Returns the credentials file's path.
pub fn write(profile: &str, credentials: &Credentials, url: &str) -> Result<PathBuf, ClientError> {
    if profile.is_empty() || profile.chars().any(|c| c.is_control() || c == '[' || c == ']') {
        return Err(ClientError::Usage(format!("--profile `{profile}` is not a usable profile name")));
    }
    let path = home_file("AWS_SHARED_CREDENTIALS_FILE", "credentials")?;
    let keys = [
        ("aws_access_key_id", credentials.access_key_id.as_str()),
        ("aws_secret_access_key", credentials.secret_access_key.as_str()),
        ("aws_session_token", credentials.session_token.as_str()),
    ];
    update_file(&path, profile, &keys, &[])?;
    // The config file names profiles `[profile NAME]`, except `[default]`.
    let config = home_file("AWS_CONFIG_FILE", "config")?;
    let section = if profile == "default" { "default".to_owned() } else { format!("profile {profile}") };
    update_file(
        &config,
        &section,
        &[("endpoint_url", url.trim_end_matches('/'))],
        &[("region", DEFAULT_REGION)],
    )?;
    Ok(path)
}

/// Sets `keys` (and `defaults` where the section has no such key) in
/// `[section]` of the INI file at `path`, created 0600 when missing.
fn update_file(
    path: &Path,
    section: &str,
    keys: &[(&str, &str)],
    defaults: &[(&str, &str)],
) -> Result<(), ClientError> {
    let io = |e: std::io::Error| ClientError::Local(format!("{}: {e}", path.display()));
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(io(e)),
    };
    let updated = set_keys(&text, section, keys, defaults);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        create_private_dir(dir).map_err(io)?;
    }
    write_private(path, updated.as_bytes()).map_err(io)
}

/// The INI text with `keys` set in `[section]` (appended when missing).
fn set_keys(text: &str, section: &str, keys: &[(&str, &str)], defaults: &[(&str, &str)]) -> String {
    let header = format!("[{section}]");
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.iter().position(|l| l.trim() == header);
    let Some(start) = start else {
        let mut out = text.to_owned();
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&header);
        out.push('\n');
        for (k, v) in keys.iter().chain(defaults) {
            out.push_str(&format!("{k} = {v}\n"));
        }
        return out;
    };
    let end = lines[start + 1..]
        .iter()
        .position(|l| l.trim_start().starts_with('['))
        .map_or(lines.len(), |i| start + 1 + i);
    let key_of = |line: &str| line.split_once('=').map(|(k, _)| k.trim().to_owned());
    let mut body: Vec<String> = lines[start + 1..end]
        .iter()
        .filter(|l| key_of(l).is_none_or(|k| !keys.iter().any(|(name, _)| *name == k)))
        .map(|l| l.to_string())
        .collect();
    // New keys go after the section's last key, before any blank lines.
    let at = body.iter().rposition(|l| !l.trim().is_empty()).map_or(0, |i| i + 1);
    let present = |name: &str| body.iter().any(|l| key_of(l).as_deref() == Some(name));
    let mut added: Vec<String> = keys.iter().map(|(k, v)| format!("{k} = {v}")).collect();
    added.extend(defaults.iter().filter(|(k, _)| !present(k)).map(|(k, v)| format!("{k} = {v}")));
    body.splice(at..at, added);
    let mut out: Vec<String> = lines[..=start].iter().map(|l| l.to_string()).collect();
    out.extend(body);
    out.extend(lines[end..].iter().map(|l| l.to_string()));
    out.join("\n") + "\n"
}

/// Creates `dir` (and its parents) for its owner only, when missing.
#[cfg(unix)]
pub(super) fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.exists() {
        return Ok(());
    }
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

#[cfg(not(unix))]
pub(super) fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

/// Replaces the file at `path` with `bytes`, readable by its owner only:
/// written beside it, then renamed over it.
pub(super) fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let temporary = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options.open(&temporary).and_then(|mut f| f.write_all(bytes).and_then(|()| f.sync_all()));
    match written.and_then(|()| std::fs::rename(&temporary, path)) {
        Ok(()) => Ok(()),
        Err(e) => {
            let _ = std::fs::remove_file(&temporary);
            Err(e)
        }
    }
}

/// `export` lines for a POSIX shell.
pub fn env_lines(credentials: &Credentials, url: &str) -> String {
    let quote = |v: &str| format!("'{}'", v.replace('\'', r"'\''"));
    [
        ("AWS_ACCESS_KEY_ID", credentials.access_key_id.as_str()),
        ("AWS_SECRET_ACCESS_KEY", credentials.secret_access_key.as_str()),
        ("AWS_SESSION_TOKEN", credentials.session_token.as_str()),
        ("AWS_CREDENTIAL_EXPIRATION", credentials.expiration.as_str()),
        ("AWS_ENDPOINT_URL", url.trim_end_matches('/')),
    ]
    .iter()
    .map(|(k, v)| format!("export {k}={}\n", quote(v)))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_profile_is_replaced_in_place_and_the_others_are_kept() {
        let text = "# mine\n[default]\naws_access_key_id = AKIAOLD\nregion = eu-west-1\n\n[dev]\naws_access_key_id = OLD\naws_session_token = OLD\noutput = json\n\n[other]\nx = 1\n";
        let out = set_keys(text, "dev", &[("aws_access_key_id", "ASIANEW"), ("aws_session_token", "T")], &[]);
        assert_eq!(
            out,
            "# mine\n[default]\naws_access_key_id = AKIAOLD\nregion = eu-west-1\n\n[dev]\noutput = json\naws_access_key_id = ASIANEW\naws_session_token = T\n\n[other]\nx = 1\n"
        );
    }

    #[test]
    fn a_missing_profile_is_appended_with_its_defaults_and_present_keys_win_over_defaults() {
        let out = set_keys(
            "[a]\nk = v",
            "profile dev",
            &[("endpoint_url", "https://idb")],
            &[("region", "us-east-1")],
        );
        assert_eq!(out, "[a]\nk = v\n\n[profile dev]\nendpoint_url = https://idb\nregion = us-east-1\n");
        let again = set_keys(
            "[profile dev]\nregion = eu-west-1\n",
            "profile dev",
            &[("endpoint_url", "u")],
            &[("region", "us-east-1")],
        );
        assert_eq!(again, "[profile dev]\nregion = eu-west-1\nendpoint_url = u\n");
    }

    #[test]
    fn env_lines_quote_for_the_shell() {
        let c = Credentials {
            version: 1,
            access_key_id: "ASIA1".into(),
            secret_access_key: "a'b".into(),
            session_token: "t".into(),
            expiration: "2026-12-02T12:00:00Z".into(),
            role_arn: String::new(),
            account_id: String::new(),
        };
        let lines = env_lines(&c, "https://idb/");
        assert!(lines.contains("export AWS_SECRET_ACCESS_KEY='a'\\''b'\n"), "{lines}");
        assert!(lines.ends_with("export AWS_ENDPOINT_URL='https://idb'\n"));
    }
}
