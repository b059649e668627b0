//! Refused assertions kept a short while, sealed, for the assertion debugger
//! only: an administrator opens a refused sign-in from the history and sees
//! why. Kept per account (the one whose provider refused it).
use crate::clock::SharedClock;
use crate::crypto::{self, MasterKey};
use crate::store::{Store, StoreError};

pub struct KeptAssertions {
    pub store: Store,
    pub master: MasterKey,
    /// `audit.keep_refused_assertions_seconds`; 0 keeps nothing.
    pub seconds: i64,
    pub clock: SharedClock,
}

fn context(id: &str) -> String {
    format!("kept-assertion:{id}")
}

impl KeptAssertions {
    /// Keeps `response` (the posted base64) for `account_id`; its id, or
    /// None when nothing is kept (a failure to keep is logged, not the
    /// sign-in's failure).
    pub async fn keep(&self, account_id: &str, response: &str) -> Option<String> {
        if self.seconds <= 0 {
            return None;
        }
        let id = crypto::random_token(18);
        let sealed = self.master.seal(response.as_bytes(), &context(&id));
        let until = self.clock.now().timestamp() + self.seconds;
        match self.store.keep_assertion(&id, account_id, &sealed, until).await {
            Ok(()) => Some(id),
            Err(e) => {
                tracing::warn!(error = %e, "a refused assertion could not be kept for the debugger");
                None
            }
        }
    }

    /// A kept response of `account_id`, while it is kept.
    pub async fn open(&self, id: &str, account_id: &str) -> Result<Option<String>, StoreError> {
        let now = self.clock.now().timestamp();
        let Some(sealed) = self.store.kept_assertion(id, account_id, now).await? else { return Ok(None) };
        Ok(self.master.open(&sealed, &context(id)).ok().and_then(|b| String::from_utf8(b).ok()))
    }
}
