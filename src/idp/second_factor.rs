//! The built-in IdP's optional second step: a TOTP code for directory users
//! in a configured group. Seeds are sealed in the database, by the user's DN;
//! each code is accepted once. Users enrol at their first sign-in.
use crate::clock::SharedClock;
use crate::crypto::{MasterKey, Totp};
use crate::directory::Group;
use crate::store::{Store, StoreError};

#[derive(Clone)]
pub struct SecondFactor {
    store: Store,
    master: MasterKey,
    clock: SharedClock,
    groups: Vec<String>,
}

fn context(user_key: &str) -> String {
    format!("directory-mfa:{user_key}")
}

/// Codes of the current 30 s step, or one step either side, are accepted.
const WINDOW: i64 = 1;

impl SecondFactor {
    pub fn new(store: Store, master: MasterKey, clock: SharedClock, groups: Vec<String>) -> SecondFactor {
        SecondFactor { store, master, clock, groups }
    }

    /// Whether a member of `groups` must give a code.
    pub fn required(&self, groups: &[Group]) -> bool {
        groups.iter().any(|g| {
            self.groups
                .iter()
                .any(|wanted| wanted.eq_ignore_ascii_case(&g.name) || wanted.eq_ignore_ascii_case(&g.dn))
        })
    }

    pub fn user_key(dn: &str) -> String {
        dn.to_lowercase()
    }

    /// Forgets the enrolment of the user with this DN (a lost or replaced
    /// authenticator): they enrol again at their next sign-in. False if they
    /// had none.
    pub async fn reset(store: &Store, dn: &str) -> Result<bool, StoreError> {
        store.delete_directory_mfa(&Self::user_key(dn)).await
    }

    pub async fn enrolled(&self, user_key: &str) -> Result<bool, StoreError> {
        Ok(self.store.get_directory_mfa(user_key).await?.is_some())
    }

    /// Enrols `seed` if `code` is current for it; false otherwise (or if the
    /// user enrolled meanwhile).
    pub async fn enroll(&self, user_key: &str, seed: &[u8], code: &str) -> Result<bool, StoreError> {
        let Ok(totp) = Totp::new(seed.to_vec(), "idbroker", user_key) else { return Ok(false) };
        let now = self.clock.now().timestamp();
        let Some(step) = totp.matching_step(code, Totp::step_of(now), WINDOW) else { return Ok(false) };
        self.store.put_directory_mfa(user_key, &self.master.seal(seed, &context(user_key)), step, now).await
    }

    /// Checks a code against the enrolled seed, once.
    pub async fn verify(&self, user_key: &str, code: &str) -> Result<bool, StoreError> {
        let Some(sealed) = self.store.get_directory_mfa(user_key).await? else { return Ok(false) };
        let Ok(seed) = self.master.open(&sealed, &context(user_key)) else { return Ok(false) };
        let Ok(totp) = Totp::new(seed, "idbroker", user_key) else { return Ok(false) };
        let now = Totp::step_of(self.clock.now().timestamp());
        match totp.matching_step(code, now, WINDOW) {
            Some(step) => self.store.advance_directory_mfa_step(user_key, step).await,
            None => Ok(false),
        }
    }
}
