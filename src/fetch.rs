//! Documents idbroker fetches from a URL (metadata): https only, bounded in
//! size and time, verified against the system's trust anchors and
//! `server.fetch_ca_file`. The one HTTP client of the server side.
use std::time::Duration;

/// Metadata larger than this is refused.
pub const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;
const TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("the URL must be https")]
    NotHttps,
    #[error("{0}")]
    Transport(String),
    #[error("the server answered HTTP {0}")]
    Status(u16),
    #[error("the document is larger than {MAX_DOCUMENT_BYTES} bytes")]
    TooLarge,
    #[error("the document is not UTF-8")]
    NotUtf8,
    #[error("fetch_ca_file: {0}")]
    Trust(String),
}

pub struct Fetcher {
    http: reqwest::Client,
}

impl Fetcher {
    /// `ca_file`: PEM certificates trusted besides the system's (empty: none).
    pub fn new(ca_file: &str) -> Result<Fetcher, FetchError> {
        let mut builder = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::limited(3))
            .https_only(true)
            .user_agent(concat!("idbroker/", env!("CARGO_PKG_VERSION")));
        if !ca_file.is_empty() {
            let pem = std::fs::read(ca_file).map_err(|e| FetchError::Trust(format!("{ca_file}: {e}")))?;
            for cert in
                reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| FetchError::Trust(e.to_string()))?
            {
                builder = builder.add_root_certificate(cert);
            }
        }
        Ok(Fetcher { http: builder.build().map_err(|e| FetchError::Trust(e.to_string()))? })
    }

    /// The document at `url`, read no further than `MAX_DOCUMENT_BYTES`.
    pub async fn text(&self, url: &str) -> Result<String, FetchError> {
        if !url.starts_with("https://") {
            return Err(FetchError::NotHttps);
        }
        let transport = |e: reqwest::Error| FetchError::Transport(crate::telemetry::error_chain(&e));
        let mut response = self.http.get(url).send().await.map_err(transport)?;
        if !response.status().is_success() {
            return Err(FetchError::Status(response.status().as_u16()));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(transport)? {
            if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
                return Err(FetchError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        String::from_utf8(body).map_err(|_| FetchError::NotUtf8)
    }
}
