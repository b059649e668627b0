//! The directory over LDAP (ldap3): search-then-bind with a service account.
//!
//! Two small pools of connections: searchers stay bound as the service
//! account; binders carry user binds. A sign-in is one search, one user bind
//! and the group lookup. Sockets are opened here with TCP_NODELAY (ldap3 does
//! not set it, and every new TLS connection would stall ~40 ms), and the TLS
//! connector is built once. StartTLS failures are errors from ldap3, so no
//! bind is ever sent in clear text after a failed upgrade. Referrals are never
//! followed: `search` drops references, and a referral result is a refusal.
use super::{precheck, rdn_value, Directory, DirectoryError, DirectoryUser, Group, Refusal};
use crate::clock::SharedClock;
use crate::config::{DirectoryKind, DirectorySettings};
use futures_util::future::BoxFuture;
use ldap3::adapters::{Adapter, EntriesOnly, PagedResults};
use ldap3::{ldap_escape, Ldap, LdapConnAsync, LdapConnSettings, LdapError, Scope, SearchEntry, StdStream};
use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::Semaphore;

const AD_DEFAULT_FILTER: &str =
    "(&(objectClass=user)(|(sAMAccountName={username})(userPrincipalName={username})))";
const IN_CHAIN: &str = "1.2.840.113556.1.4.1941";
/// Group nesting is followed this deep and this wide, at most.
const MAX_GROUP_DEPTH: usize = 16;
const MAX_GROUPS: usize = 10_000;
const PAGE_SIZE: i32 = 500;
/// AD's userAccountControl ACCOUNTDISABLE bit.
const UAC_DISABLED: i64 = 0x2;

/// A set of open connections, at most `permits` in use at once.
struct Pool {
    idle: Mutex<Vec<Ldap>>,
    permits: Semaphore,
}

impl Pool {
    fn new(size: usize) -> Pool {
        Pool { idle: Mutex::new(Vec::new()), permits: Semaphore::new(size) }
    }
    fn take(&self) -> Option<Ldap> {
        self.idle.lock().ok()?.pop()
    }
    fn give_back(&self, mut ldap: Ldap) {
        if !ldap.is_closed() {
            if let Ok(mut idle) = self.idle.lock() {
                idle.push(ldap);
            }
        }
    }
}

pub struct LdapDirectory {
    settings: DirectorySettings,
    user_filter: String,
    tls: Option<native_tls::TlsConnector>,
    timeout: Duration,
    clock: SharedClock,
    searchers: Pool,
    binders: Pool,
}

fn unavailable(e: impl std::fmt::Display) -> DirectoryError {
    DirectoryError::Unavailable(e.to_string())
}

impl LdapDirectory {
    /// Reads the CA bundle and prepares the pools; connects lazily.
    pub fn new(settings: &DirectorySettings, clock: SharedClock) -> Result<LdapDirectory, DirectoryError> {
        if settings.url.is_empty() {
            return Err(DirectoryError::NotConfigured);
        }
        let wants_tls = settings.url.starts_with("ldaps://") || settings.starttls;
        let tls = if wants_tls {
            let mut builder = native_tls::TlsConnector::builder();
            if !settings.ca_file.is_empty() {
                let pem = std::fs::read(&settings.ca_file)
                    .map_err(|e| unavailable(format!("cannot read directory.ca_file: {e}")))?;
                let ca = native_tls::Certificate::from_pem(&pem)
                    .map_err(|e| unavailable(format!("directory.ca_file is not a PEM certificate: {e}")))?;
                builder.add_root_certificate(ca);
            }
            Some(builder.build().map_err(unavailable)?)
        } else {
            None
        };
        let user_filter = if settings.kind == DirectoryKind::ActiveDirectory
            && settings.user_filter == crate::config::DEFAULT_USER_FILTER
        {
            AD_DEFAULT_FILTER.to_owned()
        } else {
            settings.user_filter.clone()
        };
        Ok(LdapDirectory {
            settings: settings.clone(),
            user_filter,
            tls,
            timeout: Duration::from_secs(settings.timeout_seconds),
            clock,
            searchers: Pool::new(settings.pool_size),
            binders: Pool::new(settings.pool_size),
        })
    }

    async fn connect(&self) -> Result<Ldap, DirectoryError> {
        let url = url::Url::parse(&self.settings.url).map_err(unavailable)?;
        let host = url.host_str().ok_or_else(|| unavailable("directory.url has no host"))?;
        let port = url.port().unwrap_or(if url.scheme() == "ldaps" { 636 } else { 389 });
        let tcp = tokio::time::timeout(self.timeout, tokio::net::TcpStream::connect((host, port)))
            .await
            .map_err(|_| unavailable("connect timed out"))?
            .map_err(unavailable)?;
        tcp.set_nodelay(true).map_err(unavailable)?;
        let mut conn_settings = LdapConnSettings::new()
            .set_conn_timeout(self.timeout)
            .set_starttls(self.settings.starttls && url.scheme() == "ldap")
            .set_std_stream(StdStream::Tcp(tcp.into_std().map_err(unavailable)?));
        if let Some(tls) = &self.tls {
            conn_settings = conn_settings.set_connector(tls.clone());
        }
        let (conn, ldap) =
            LdapConnAsync::with_settings(conn_settings, &self.settings.url).await.map_err(|e| match e {
                LdapError::NativeTLS { .. } => {
                    DirectoryError::Misconfigured(format!("TLS with {}: {e}", self.settings.url))
                }
                other => unavailable(other),
            })?;
        ldap3::drive!(conn);
        Ok(ldap)
    }

    /// A connection bound as the service account.
    async fn searcher(&self) -> Result<Ldap, DirectoryError> {
        if let Some(ldap) = self.searchers.take() {
            return Ok(ldap);
        }
        let mut ldap = self.connect().await?;
        ldap.with_timeout(self.timeout)
            .simple_bind(&self.settings.bind_dn, self.settings.bind_password.expose())
            .await
            .map_err(unavailable)?
            .success()
            .map_err(|e| {
                DirectoryError::Misconfigured(format!("the service account's bind is refused: {e}"))
            })?;
        Ok(ldap)
    }

    /// At start-up: connects (with TLS as configured) and binds as the service
    /// account, so settings that cannot work are found before any employee is.
    pub async fn check(&self) -> Result<(), DirectoryError> {
        let _permit = self.searchers.permits.acquire().await.map_err(unavailable)?;
        let ldap = self.searcher().await?;
        self.searchers.give_back(ldap);
        Ok(())
    }

    /// Runs `work` on a service-bound connection; a connection that failed
    /// (closed by the server while idle, say) is replaced once.
    async fn with_searcher<T>(
        &self,
        work: impl for<'c> Fn(&'c mut Ldap) -> BoxFuture<'c, Result<T, LdapError>>,
    ) -> Result<T, DirectoryError> {
        let _permit = self.searchers.permits.acquire().await.map_err(unavailable)?;
        let mut last = None;
        for _ in 0..2 {
            let mut ldap = self.searcher().await?;
            match work(&mut ldap).await {
                Ok(v) => {
                    self.searchers.give_back(ldap);
                    return Ok(v);
                }
                Err(e) => last = Some(e),
            }
        }
        Err(unavailable(last.map_or_else(String::new, |e| e.to_string())))
    }

    /// A simple bind as `dn`; `Ok(None)` when accepted, `Ok(Some(reason))` when refused.
    async fn bind_as(&self, dn: &str, password: &str) -> Result<Option<Refusal>, DirectoryError> {
        let _permit = self.binders.permits.acquire().await.map_err(unavailable)?;
        let mut ldap = match self.binders.take() {
            Some(l) => l,
            None => self.connect().await?,
        };
        let result = ldap.with_timeout(self.timeout).simple_bind(dn, password).await.map_err(unavailable)?;
        self.binders.give_back(ldap);
        Ok(match result.rc {
            0 => None,
            // invalidCredentials, with AD's sub-code in the diagnostic text.
            49 => Some(ad_refusal(&result.text)),
            // inappropriateAuthentication, unwillingToPerform, ...: refused all the same.
            7 | 8 | 48 | 50 | 53 => Some(Refusal::WrongPassword),
            rc => return Err(unavailable(format!("bind answered {rc}: {}", result.text))),
        })
    }

    fn attribute_names(&self) -> Vec<String> {
        let mut names: Vec<String> = [
            "uid",
            "cn",
            "displayName",
            "mail",
            "sAMAccountName",
            "userAccountControl",
            "lockoutTime",
            "accountExpires",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        names.extend(self.settings.tag_attributes.iter().cloned());
        names
    }

    async fn find_user(&self, username: &str) -> Result<Result<SearchEntry, Refusal>, DirectoryError> {
        let filter = self.user_filter.replace("{username}", &ldap_escape(username));
        let base = self.settings.user_base_dn.clone();
        let attrs = self.attribute_names();
        let timeout = self.timeout;
        let result = self
            .with_searcher(|ldap| {
                let (filter, base, attrs) = (filter.clone(), base.clone(), attrs.clone());
                Box::pin(async move {
                    ldap.with_timeout(timeout)
                        .with_search_options(ldap3::SearchOptions::new().sizelimit(2))
                        .search(&base, Scope::Subtree, &filter, attrs)
                        .await
                })
            })
            .await?;
        let ldap3::SearchResult(entries, status) = result;
        let entries: Vec<_> = entries.into_iter().filter(|e| !e.is_ref()).collect();
        match status.rc {
            // success, or sizeLimitExceeded with the two entries that prove ambiguity
            0 | 4 => {}
            // noSuchObject: the base is missing; referral: never chased.
            32 | 10 => return Ok(Err(Refusal::UnknownUser)),
            rc => return Err(unavailable(format!("user search answered {rc}: {}", status.text))),
        }
        let mut entries = entries.into_iter();
        Ok(match (entries.next(), entries.next()) {
            (None, _) => Err(Refusal::UnknownUser),
            (Some(entry), None) => Ok(SearchEntry::construct(entry)),
            (Some(_), Some(_)) => Err(Refusal::AmbiguousUser),
        })
    }

    /// Paged search for groups under the group base (AD caps pages at 1000).
    async fn group_search(&self, filter: String) -> Result<Vec<SearchEntry>, DirectoryError> {
        let base = self.group_base().to_owned();
        let timeout = self.timeout;
        self.with_searcher(move |ldap| {
            let (filter, base) = (filter.clone(), base.clone());
            Box::pin(async move {
                let adapters: Vec<Box<dyn Adapter<'_, &str, Vec<&str>>>> =
                    vec![Box::new(EntriesOnly::new()), Box::new(PagedResults::new(PAGE_SIZE))];
                let mut stream = ldap
                    .with_timeout(timeout)
                    .streaming_search_with(adapters, &base, Scope::Subtree, &filter, vec!["cn"])
                    .await?;
                let mut out = Vec::new();
                while let Some(entry) = stream.next().await? {
                    if !entry.is_ref() && out.len() < MAX_GROUPS {
                        out.push(SearchEntry::construct(entry));
                    }
                }
                stream.finish().await.success()?;
                Ok(out)
            })
        })
        .await
    }

    fn group_base(&self) -> &str {
        if self.settings.group_base_dn.is_empty() {
            &self.settings.user_base_dn
        } else {
            &self.settings.group_base_dn
        }
    }

    /// Every group of `user_dn`, transitively. AD answers in one query with
    /// the in-chain matching rule; elsewhere the nesting is walked a level at a
    /// time, each group visited once, so cycles end.
    async fn groups_of(&self, user_dn: &str) -> Result<Vec<Group>, DirectoryError> {
        let group = |e: SearchEntry| {
            let name = first(&e, "cn").map_or_else(|| rdn_value(&e.dn).to_owned(), str::to_owned);
            Group { dn: e.dn, name }
        };
        if self.settings.kind == DirectoryKind::ActiveDirectory {
            let filter = format!("(&(objectClass=group)(member:{IN_CHAIN}:={}))", ldap_escape(user_dn));
            return Ok(self.group_search(filter).await?.into_iter().map(group).collect());
        }
        let mut seen: HashSet<String> = HashSet::new();
        let mut groups = Vec::new();
        let mut frontier = vec![user_dn.to_owned()];
        for _ in 0..MAX_GROUP_DEPTH {
            if frontier.is_empty() || groups.len() >= MAX_GROUPS {
                break;
            }
            let mut next = Vec::new();
            for chunk in frontier.chunks(64) {
                // `member` only: directories index it (an OR with an
                // unindexed attribute would make every lookup a full scan).
                let terms: String = chunk.iter().map(|dn| format!("(member={})", ldap_escape(dn))).collect();
                for entry in self.group_search(format!("(|{terms})")).await? {
                    if seen.insert(entry.dn.to_ascii_lowercase()) {
                        next.push(entry.dn.clone());
                        groups.push(group(entry));
                    }
                }
            }
            frontier = next;
        }
        Ok(groups)
    }

    /// AD account state read from the entry (the bind refuses most of these
    /// too; this also covers directories that do not).
    fn account_state(&self, entry: &SearchEntry) -> Option<Refusal> {
        if self.settings.kind != DirectoryKind::ActiveDirectory {
            return None;
        }
        let number = |name| first(entry, name).and_then(|v| v.parse::<i64>().ok());
        if number("userAccountControl").is_some_and(|uac| uac & UAC_DISABLED != 0) {
            return Some(Refusal::Disabled);
        }
        if number("lockoutTime").is_some_and(|t| t > 0) {
            return Some(Refusal::Locked);
        }
        // accountExpires: 100 ns intervals since 1601; 0 and i64::MAX mean never.
        if let Some(expires) = number("accountExpires").filter(|&v| v != 0 && v != i64::MAX) {
            let unix = expires / 10_000_000 - 11_644_473_600;
            if unix <= self.clock.now().timestamp() {
                return Some(Refusal::Expired);
            }
        }
        None
    }

    async fn sign_in(&self, username: &str, password: &str) -> Result<DirectoryUser, DirectoryError> {
        precheck(username, password)?;
        let entry = match self.find_user(username).await? {
            Ok(entry) => entry,
            Err(refusal) => {
                // Spend a bind anyway, so an unknown name answers like a wrong password.
                let dummy = format!("cn=idbroker-no-such-user,{}", self.settings.user_base_dn);
                self.bind_as(&dummy, password).await?;
                return Err(DirectoryError::Refused(refusal));
            }
        };
        if let Some(refusal) = self.bind_as(&entry.dn, password).await? {
            return Err(DirectoryError::Refused(refusal));
        }
        if let Some(refusal) = self.account_state(&entry) {
            return Err(DirectoryError::Refused(refusal));
        }
        self.directory_user(entry).await
    }

    /// Who a found entry is, with every group it is in.
    async fn directory_user(&self, entry: SearchEntry) -> Result<DirectoryUser, DirectoryError> {
        let name_attribute =
            if self.settings.kind == DirectoryKind::ActiveDirectory { "sAMAccountName" } else { "uid" };
        let username = first(&entry, name_attribute).unwrap_or_else(|| rdn_value(&entry.dn)).to_owned();
        let display_name = first(&entry, "displayName").or_else(|| first(&entry, "cn")).map(str::to_owned);
        let email = first(&entry, "mail").map(str::to_owned);
        let attributes = self
            .settings
            .tag_attributes
            .iter()
            .filter_map(|a| Some((a.clone(), first(&entry, a)?.to_owned())))
            .collect();
        let groups = self.groups_of(&entry.dn).await?;
        Ok(DirectoryUser { dn: entry.dn, username, display_name, email, groups, attributes })
    }

    /// A user found as the service account, without a password.
    async fn look_up(&self, username: &str) -> Result<DirectoryUser, DirectoryError> {
        if username.trim().is_empty() || username.len() > super::MAX_INPUT_BYTES {
            return Err(DirectoryError::Refused(Refusal::UnknownUser));
        }
        match self.find_user(username).await? {
            Ok(entry) => self.directory_user(entry).await,
            Err(refusal) => Err(DirectoryError::Refused(refusal)),
        }
    }
}

/// The first value of an attribute, matching its name without regard to case.
fn first<'e>(entry: &'e SearchEntry, name: &str) -> Option<&'e str> {
    entry
        .attrs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .and_then(|(_, v)| v.first())
        .map(String::as_str)
}

/// AD puts the reason of an invalidCredentials in its text: `data 533`, ...
fn ad_refusal(text: &str) -> Refusal {
    let code = text.split("data ").nth(1).and_then(|rest| rest.split([',', ' ']).next()).unwrap_or("");
    match code {
        "533" => Refusal::Disabled,
        "775" => Refusal::Locked,
        "532" | "701" | "773" => Refusal::Expired,
        _ => Refusal::WrongPassword,
    }
}

impl Directory for LdapDirectory {
    fn authenticate<'a>(
        &'a self,
        username: &'a str,
        password: &'a str,
    ) -> BoxFuture<'a, Result<DirectoryUser, DirectoryError>> {
        Box::pin(self.sign_in(username, password))
    }

    fn lookup<'a>(&'a self, username: &'a str) -> BoxFuture<'a, Result<DirectoryUser, DirectoryError>> {
        Box::pin(self.look_up(username))
    }

    fn reachable(&self) -> BoxFuture<'_, Result<(), DirectoryError>> {
        let timeout = self.timeout;
        Box::pin(async move {
            // The root DSE, which every LDAP server answers.
            self.with_searcher(|ldap| {
                Box::pin(async move {
                    ldap.with_timeout(timeout)
                        .search("", Scope::Base, "(objectClass=*)", vec!["1.1"])
                        .await?
                        .success()?;
                    Ok(())
                })
            })
            .await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ad_sub_codes_name_the_reason() {
        let t = |code| {
            format!(
                "80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, data {code}, v1db1"
            )
        };
        assert_eq!(ad_refusal(&t("52e")), Refusal::WrongPassword);
        assert_eq!(ad_refusal(&t("533")), Refusal::Disabled);
        assert_eq!(ad_refusal(&t("701")), Refusal::Expired);
        assert_eq!(ad_refusal(&t("773")), Refusal::Expired);
        assert_eq!(ad_refusal(&t("775")), Refusal::Locked);
        assert_eq!(ad_refusal("Invalid credentials"), Refusal::WrongPassword);
    }
}
