//! The signing keys every node shares through the database: the session
//! tokens' (ES256) and the built-in IdP's (RSA, with a certificate), sealed
//! under the master key. A key rolls over in three steps, each seen by every
//! node within a change poll (store::CHANGE_POLL), none needing a restart:
//! **published** (in the JWKS and the IdP metadata, so relying parties load it
//! first; it verifies but does not sign), **active** (it signs; the key active
//! before stays published), **retired** (gone: tokens it signed no longer
//! verify, the metadata drops its certificate).
use crate::crypto::{generate_token_key_pem, MasterKey, Shared, SigningKey, TokenKeys};
use crate::domain::SESSION_AUDIENCE;
use crate::idp::IdpKeys;
use crate::store::{Store, StoreError, StoredKey};
use std::path::Path;
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyPurpose {
    /// Signs the session tokens of temporary credentials.
    SessionToken,
    /// Signs the built-in IdP's responses (and idbroker's AuthnRequests).
    Idp,
}

impl KeyPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyPurpose::SessionToken => "token",
            KeyPurpose::Idp => "idp",
        }
    }

    pub fn parse(text: &str) -> Option<KeyPurpose> {
        match text {
            "token" => Some(KeyPurpose::SessionToken),
            "idp" => Some(KeyPurpose::Idp),
            _ => None,
        }
    }

    /// What a sealed key is bound to, as the key files of earlier versions were.
    pub fn seal_context(self, kid: &str) -> String {
        format!("{}-key:{kid}", self.as_str())
    }

    /// Where earlier versions kept this purpose's key files, under the data folder.
    fn legacy_folder(self) -> &'static str {
        match self {
            KeyPurpose::SessionToken => "token-keys",
            KeyPurpose::Idp => "idp-keys",
        }
    }

    fn generate(self) -> Result<String, KeyRingError> {
        Ok(match self {
            KeyPurpose::SessionToken => {
                generate_token_key_pem().map_err(|e| KeyRingError::Key(e.to_string()))?
            }
            KeyPurpose::Idp => SigningKey::generate("idbroker SAML signing")
                .and_then(|k| k.to_pem())
                .map_err(|e| KeyRingError::Key(e.to_string()))?,
        })
    }
}

const PURPOSES: [KeyPurpose; 2] = [KeyPurpose::SessionToken, KeyPurpose::Idp];

#[derive(Debug, thiserror::Error)]
pub enum KeyRingError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("signing key {0} does not open with this master key")]
    Sealed(String),
    #[error("no active {0} key")]
    NoActiveKey(&'static str),
    #[error("key material: {0}")]
    Key(String),
    #[error("cannot read the key files of an earlier version: {0}")]
    Legacy(String),
    #[error("{0}")]
    WrongState(String),
}

/// One key as `idbroker keys list` shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct KeyInfo {
    pub kid: String,
    pub purpose: &'static str,
    pub state: String,
    pub created_at: i64,
}

/// The keys in force, replaced whole when they change.
pub struct KeyRing {
    store: Store,
    master: MasterKey,
    pub tokens: Arc<Shared<TokenKeys>>,
    pub idp: Arc<Shared<IdpKeys>>,
    /// The `(kid, state)` list the keys in force were built from.
    loaded: Mutex<Vec<(String, String)>>,
}

impl KeyRing {
    /// The keys in the database. A database without keys gets them: from the
    /// key files an earlier version kept under `data_dir` (so existing
    /// installations keep their keys), or new ones.
    pub async fn open(
        store: &Store,
        master: &MasterKey,
        data_dir: &Path,
        now: i64,
    ) -> Result<KeyRing, KeyRingError> {
        let stored = store.signing_keys().await?;
        for purpose in PURPOSES {
            if stored.iter().any(|k| k.purpose == purpose.as_str()) {
                continue;
            }
            let mut first = legacy_keys(master, &data_dir.join(purpose.legacy_folder()), purpose)?;
            if first.is_empty() {
                let kid = new_kid(now);
                let sealed = master.seal(purpose.generate()?.as_bytes(), &purpose.seal_context(&kid));
                first.push(StoredKey {
                    kid,
                    purpose: purpose.as_str().into(),
                    sealed_pem: sealed,
                    state: "active".into(),
                    created_at: now,
                });
            }
            match store.insert_signing_keys(&first, now).await {
                // Another node stored this purpose's first keys at the same time: use those.
                Ok(()) | Err(StoreError::Conflict(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        let (tokens, idp, loaded) = build(master, &store.signing_keys().await?)?;
        Ok(KeyRing {
            store: store.clone(),
            master: master.clone(),
            tokens: Arc::new(Shared::new(tokens)),
            idp: Arc::new(Shared::new(idp)),
            loaded: Mutex::new(loaded),
        })
    }

    /// Reads the keys again when they changed (another node, a command).
    pub async fn reload_if_changed(&self) -> Result<bool, KeyRingError> {
        let states = self.store.signing_key_states().await?;
        if self.loaded.lock().map(|l| *l == states).unwrap_or(false) {
            return Ok(false);
        }
        let (tokens, idp, loaded) = build(&self.master, &self.store.signing_keys().await?)?;
        self.tokens.set(tokens);
        self.idp.set(idp);
        if let Ok(mut l) = self.loaded.lock() {
            *l = loaded;
        }
        tracing::info!("signing keys changed; now in force here");
        Ok(true)
    }

    /// Step 1: a new key, published (not yet signing). Returns its kid.
    pub async fn publish(&self, purpose: KeyPurpose, now: i64) -> Result<String, KeyRingError> {
        let kid = new_kid(now);
        let sealed = self.master.seal(purpose.generate()?.as_bytes(), &purpose.seal_context(&kid));
        let key = StoredKey {
            kid: kid.clone(),
            purpose: purpose.as_str().into(),
            sealed_pem: sealed,
            state: "published".into(),
            created_at: now,
        };
        self.store.insert_signing_keys(&[key], now).await?;
        self.reload_if_changed().await?;
        Ok(kid)
    }

    /// Step 2: a published key signs from now on.
    pub async fn activate(&self, kid: &str, now: i64) -> Result<(), KeyRingError> {
        match self.store.activate_signing_key(kid, now).await {
            Err(StoreError::NotFound(_)) => Err(KeyRingError::WrongState(format!(
                "{kid} is not a published key: publish a key, then activate it"
            ))),
            r => Ok(r?),
        }?;
        self.reload_if_changed().await?;
        Ok(())
    }

    /// Step 3: a published key that no longer signs goes.
    pub async fn retire(&self, kid: &str, now: i64) -> Result<(), KeyRingError> {
        match self.store.retire_signing_key(kid, now).await {
            Err(StoreError::NotFound(_)) => Err(KeyRingError::WrongState(format!(
                "{kid} is not a published key (an active key is retired after another is activated)"
            ))),
            r => Ok(r?),
        }?;
        self.reload_if_changed().await?;
        Ok(())
    }

    pub async fn list(&self) -> Result<Vec<KeyInfo>, KeyRingError> {
        list(&self.store).await
    }
}

/// Every key, retired ones too, oldest first.
pub async fn list(store: &Store) -> Result<Vec<KeyInfo>, KeyRingError> {
    Ok(store
        .all_signing_keys()
        .await?
        .into_iter()
        .filter_map(|k| {
            let purpose = KeyPurpose::parse(&k.purpose)?.as_str();
            Some(KeyInfo { kid: k.kid, purpose, state: k.state, created_at: k.created_at })
        })
        .collect())
}

/// Kids begin with the creation time, so they sort by age.
fn new_kid(now: i64) -> String {
    format!("{now:012}-{}", crate::crypto::random_token(4))
}

/// The key files of an earlier version (`<kid>.key`, sealed the same way),
/// the newest active and the others published.
fn legacy_keys(
    master: &MasterKey,
    folder: &Path,
    purpose: KeyPurpose,
) -> Result<Vec<StoredKey>, KeyRingError> {
    let files = crate::config::read_key_folder(folder).map_err(|e| KeyRingError::Legacy(e.to_string()))?;
    let mut keys: Vec<StoredKey> = Vec::new();
    for (file, sealed) in files {
        let Some(kid) = file.strip_suffix(".key") else { continue };
        let sealed = sealed.trim().to_owned();
        master.open(&sealed, &purpose.seal_context(kid)).map_err(|_| KeyRingError::Sealed(kid.to_owned()))?;
        let created_at = kid.split('-').next().and_then(|t| t.parse().ok()).unwrap_or(0);
        keys.push(StoredKey {
            kid: kid.to_owned(),
            purpose: purpose.as_str().into(),
            sealed_pem: sealed,
            state: "published".into(),
            created_at,
        });
    }
    keys.sort_by(|a, b| a.kid.cmp(&b.kid));
    if let Some(newest) = keys.last_mut() {
        newest.state = "active".into();
    }
    if !keys.is_empty() {
        tracing::info!(
            purpose = purpose.as_str(),
            count = keys.len(),
            "key files of an earlier version moved into the database"
        );
    }
    Ok(keys)
}

type Built = (TokenKeys, IdpKeys, Vec<(String, String)>);

/// The keys in force, from the stored keys that are not retired.
fn build(master: &MasterKey, stored: &[StoredKey]) -> Result<Built, KeyRingError> {
    let mut token_pems = Vec::new();
    let mut active_token = None;
    let mut idp_active = None;
    let mut idp_others = Vec::new();
    for k in stored {
        let Some(purpose) = KeyPurpose::parse(&k.purpose) else { continue };
        let pem = master
            .open(&k.sealed_pem, &purpose.seal_context(&k.kid))
            .map_err(|_| KeyRingError::Sealed(k.kid.clone()))?;
        let pem = String::from_utf8(pem).map_err(|_| KeyRingError::Sealed(k.kid.clone()))?;
        let active = k.state == "active";
        match purpose {
            KeyPurpose::SessionToken => {
                if active {
                    active_token = Some(k.kid.clone());
                }
                token_pems.push((k.kid.clone(), pem));
            }
            KeyPurpose::Idp => {
                let key = SigningKey::from_pem(&pem).map_err(|e| KeyRingError::Key(e.to_string()))?;
                if active {
                    idp_active = Some(key);
                } else {
                    idp_others.push(key);
                }
            }
        }
    }
    let active_token = active_token.ok_or(KeyRingError::NoActiveKey("token"))?;
    let tokens = TokenKeys::from_pems(token_pems, &active_token, SESSION_AUDIENCE)
        .map_err(|e| KeyRingError::Key(e.to_string()))?;
    let idp_active = idp_active.ok_or(KeyRingError::NoActiveKey("idp"))?;
    let idp = IdpKeys::new(idp_active, &idp_others).map_err(|e| KeyRingError::Key(e.to_string()))?;
    let mut loaded: Vec<(String, String)> = stored.iter().map(|k| (k.kid.clone(), k.state.clone())).collect();
    loaded.sort();
    Ok((tokens, idp, loaded))
}
