//! An in-memory directory for fast tests of the sign-in logic; the real
//! directory is tested against OpenLDAP and Samba AD.
use super::{precheck, Directory, DirectoryError, DirectoryUser, Refusal};
use futures_util::future::BoxFuture;

pub struct MemoryDirectory {
    users: Vec<(DirectoryUser, String, Option<Refusal>)>,
}

impl MemoryDirectory {
    pub fn new() -> MemoryDirectory {
        MemoryDirectory { users: Vec::new() }
    }

    /// Adds a user; `state` refuses them even with the right password.
    pub fn with_user(mut self, user: DirectoryUser, password: &str, state: Option<Refusal>) -> Self {
        self.users.push((user, password.to_owned(), state));
        self
    }
}

impl Default for MemoryDirectory {
    fn default() -> Self {
        Self::new()
    }
}

impl Directory for MemoryDirectory {
    fn authenticate<'a>(
        &'a self,
        username: &'a str,
        password: &'a str,
    ) -> BoxFuture<'a, Result<DirectoryUser, DirectoryError>> {
        Box::pin(async move {
            precheck(username, password)?;
            let (user, stored, state) = self
                .users
                .iter()
                .find(|(u, _, _)| u.username == username)
                .ok_or(DirectoryError::Refused(Refusal::UnknownUser))?;
            if !crate::crypto::constant_time_eq(stored.as_bytes(), password.as_bytes()) {
                return Err(DirectoryError::Refused(Refusal::WrongPassword));
            }
            match state {
                Some(r) => Err(DirectoryError::Refused(*r)),
                None => Ok(user.clone()),
            }
        })
    }

    fn lookup<'a>(&'a self, username: &'a str) -> BoxFuture<'a, Result<DirectoryUser, DirectoryError>> {
        Box::pin(async move {
            let found = self.users.iter().find(|(u, _, _)| u.username == username);
            found.map(|(u, _, _)| u.clone()).ok_or(DirectoryError::Refused(Refusal::UnknownUser))
        })
    }
}
