//! `credential-process`'s cache: one file per idbroker URL and role, readable
//! by its owner only, under the user's cache folder; used while the
//! credentials have more than `MARGIN` left.
use super::profile::{create_private_dir, write_private};
use super::{ClientError, Credentials};
use chrono::{DateTime, Utc};
use std::path::PathBuf;

/// Credentials this close to their end are not handed out again: the SDK
/// would have to come back at once.
const MARGIN_SECONDS: i64 = 300;

fn folder() -> Option<PathBuf> {
    match std::env::var_os("XDG_CACHE_HOME").filter(|p| !p.is_empty()) {
        Some(dir) => Some(PathBuf::from(dir).join("idbroker")),
        None => std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache").join("idbroker")),
    }
}

fn file(url: &str, role: &str) -> Option<PathBuf> {
    let key = crate::crypto::sha256_hex(format!("{}\n{role}", url.trim_end_matches('/')).as_bytes());
    Some(folder()?.join(format!("{}.json", &key[..32])))
}

/// Kept credentials for `url` and `role` that are still good at `now`.
pub fn read(url: &str, role: &str, now: DateTime<Utc>) -> Option<Credentials> {
    let text = std::fs::read_to_string(file(url, role)?).ok()?;
    let kept: Credentials = serde_json::from_str(&text).ok()?;
    let expires = DateTime::parse_from_rfc3339(&kept.expiration).ok()?.with_timezone(&Utc);
    (kept.role_arn == role && (expires - now).num_seconds() > MARGIN_SECONDS).then_some(kept)
}

pub fn write(url: &str, role: &str, credentials: &Credentials) -> Result<(), ClientError> {
    let path =
        file(url, role).ok_or_else(|| ClientError::Local("neither XDG_CACHE_HOME nor HOME is set".into()))?;
    let io = |e: std::io::Error| ClientError::Local(format!("{}: {e}", path.display()));
    if let Some(dir) = path.parent() {
        create_private_dir(dir).map_err(io)?;
    }
    let text = serde_json::to_vec(credentials).map_err(|e| ClientError::Local(e.to_string()))?;
    write_private(&path, &text).map_err(io)
}
