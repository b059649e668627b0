//! `server.public_url`: where users and peers reach idbroker. Normalised once
//! (scheme, host and port; no trailing `/`), so every endpoint derived from
//! it, the SAML entity ids and ACS URLs among them, is spelt one way.

/// A normalised public base URL, `http(s)://host[:port]`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PublicUrl(String);

impl PublicUrl {
    pub fn parse(value: &str) -> Result<PublicUrl, String> {
        let url = url::Url::parse(value).map_err(|e| format!("`{value}` is not a URL: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(format!("`{value}` must be an http:// or https:// URL with a host"));
        }
        if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
            return Err(format!("`{value}` must have no path, query or fragment"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(format!("`{value}` must not carry credentials"));
        }
        Ok(PublicUrl(url.as_str().trim_end_matches('/').to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_https(&self) -> bool {
        self.0.starts_with("https://")
    }

    /// `{public_url}{path}`, for a `path` that starts with `/`.
    pub fn join(&self, path: &str) -> String {
        format!("{}{path}", self.0)
    }

    /// Our SP entity id (the audience responses must name).
    pub fn sp_entity_id(&self) -> String {
        self.join("/saml/metadata")
    }

    /// Our shared assertion consumer service.
    pub fn acs(&self) -> String {
        self.join("/saml/acs")
    }

    /// One provider's own assertion consumer service (AWS's, for encrypted
    /// assertions), by its `SAMLProviderUUID`.
    pub fn provider_acs(&self, provider_uuid: &str) -> String {
        self.join(&format!("/saml/acs/{provider_uuid}"))
    }
}

/// The embedded default, `http://127.0.0.1:8080` (already normalised).
impl Default for PublicUrl {
    fn default() -> Self {
        PublicUrl("http://127.0.0.1:8080".to_owned())
    }
}

impl TryFrom<String> for PublicUrl {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        PublicUrl::parse(&value)
    }
}

impl From<PublicUrl> for String {
    fn from(u: PublicUrl) -> String {
        u.0
    }
}

impl std::fmt::Display for PublicUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_normalised() {
        assert_eq!(PublicUrl::default(), PublicUrl::parse("http://127.0.0.1:8080/").unwrap());
    }

    #[test]
    fn one_spelling_for_every_endpoint() {
        for given in ["https://idb.example", "https://idb.example/", "HTTPS://IDB.example:443/"] {
            let u = PublicUrl::parse(given).unwrap();
            assert_eq!(u.as_str(), "https://idb.example", "{given}");
            assert_eq!(u.acs(), "https://idb.example/saml/acs");
        }
        assert_eq!(
            PublicUrl::parse("http://127.0.0.1:8080/").unwrap().sp_entity_id(),
            "http://127.0.0.1:8080/saml/metadata"
        );
        for bad in [
            "idb.example",
            "ftp://idb.example",
            "https://idb.example/idb",
            "https://idb.example/?a=1",
            "https://idb.example/#x",
            "https://u:p@idb.example",
        ] {
            assert!(PublicUrl::parse(bad).is_err(), "{bad}");
        }
    }
}
