//! Audit events leaving the database: JSON lines appended to a file (rotated
//! when it would pass a size) or written to stdout for a log shipper, before
//! retention deletes them, so the database need not be the archive.
use chrono::{DateTime, Utc};
use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditExport {
    Stdout,
    /// Appended to `path`; a file that would grow past `max_bytes` is first
    /// renamed to `<path>.<UTC time>` and a new one begun.
    File {
        path: PathBuf,
        max_bytes: u64,
    },
}

#[derive(Debug, thiserror::Error)]
#[error("cannot export audit events to {target}: {source}")]
pub struct ExportError {
    target: String,
    source: std::io::Error,
}

impl AuditExport {
    /// `audit.export`: empty for none, `stdout`, or a file path.
    pub fn from_setting(value: &str, max_bytes: u64) -> Option<AuditExport> {
        match value.trim() {
            "" => None,
            "stdout" => Some(AuditExport::Stdout),
            path => Some(AuditExport::File { path: PathBuf::from(path), max_bytes: max_bytes.max(1) }),
        }
    }

    /// Writes one line per event and, for a file, syncs it before returning:
    /// what retention deletes next has reached the disk.
    pub fn write(&self, events: &[String], now: DateTime<Utc>) -> Result<(), ExportError> {
        let mut lines = Vec::with_capacity(events.iter().map(|e| e.len() + 1).sum());
        for e in events {
            lines.extend_from_slice(e.as_bytes());
            lines.push(b'\n');
        }
        match self {
            AuditExport::Stdout => {
                let mut out = std::io::stdout().lock();
                out.write_all(&lines).and_then(|_| out.flush()).map_err(|e| self.error(e))
            }
            AuditExport::File { path, max_bytes } => {
                let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
                if size > 0 && size + lines.len() as u64 > *max_bytes {
                    self.rotate(path, now).map_err(|e| self.error(e))?;
                }
                let mut file = open_private(path).map_err(|e| self.error(e))?;
                file.write_all(&lines).and_then(|_| file.sync_all()).map_err(|e| self.error(e))
            }
        }
    }

    fn rotate(&self, path: &std::path::Path, now: DateTime<Utc>) -> std::io::Result<()> {
        let stamp = now.format("%Y%m%dT%H%M%SZ");
        let mut target = PathBuf::from(format!("{}.{stamp}", path.display()));
        let mut n = 1;
        while target.exists() {
            target = PathBuf::from(format!("{}.{stamp}.{n}", path.display()));
            n += 1;
        }
        std::fs::rename(path, target)
    }

    fn error(&self, source: std::io::Error) -> ExportError {
        let target = match self {
            AuditExport::Stdout => "stdout".to_owned(),
            AuditExport::File { path, .. } => path.display().to_string(),
        };
        ExportError { target, source }
    }
}

/// Audit events are personal data: the file is the owner's alone.
fn open_private(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_rotates_before_it_passes_its_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let export = AuditExport::from_setting(path.to_str().unwrap(), 30).unwrap();
        let now = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        export.write(&["{\"a\":1}".into(), "{\"b\":2}".into()], now).unwrap();
        export.write(&["{\"c\":3}".into()], now).unwrap();
        // 16 bytes, then 8 more fit; the next 16 would pass 30: rotated.
        export.write(&["{\"d\":4}".into(), "{\"e\":5}".into()], now).unwrap();
        let rotated = dir.path().join("audit.jsonl.20231114T221320Z");
        assert_eq!(std::fs::read_to_string(&rotated).unwrap(), "{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{\"d\":4}\n{\"e\":5}\n");
        assert_eq!(AuditExport::from_setting(" ", 1), None);
        assert_eq!(AuditExport::from_setting("stdout", 1), Some(AuditExport::Stdout));
    }
}
