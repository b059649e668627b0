//! The composition root: settings in, a bound server out. Chooses the adapters
//! (SQLite or PostgreSQL store, audit sink, clock) and wires them together.
use crate::clock::SharedClock;
use crate::config::{self, Settings};
use crate::console::cli::CliSignIn;
use crate::console::login::DirectoryLogin;
use crate::console::saml_signin::SamlSignIn;
use crate::console::signin::PasswordSignIn;
use crate::console::{Sessions, Throttle};
use crate::crypto::{MasterKey, Shared};
use crate::directory::{Directory, LdapDirectory};
use crate::domain::{AccountId, SamlProvider, BUILTIN_PROVIDER};
use crate::iam::IamService;
use crate::idp::{Acs, IdentityProvider, IdpKeys, ServiceProvider, SpEncryption};
use crate::keys::KeyRing;
use crate::metrics::Metrics;
use crate::saml::ServiceProviderUrls;
use crate::store::StoreError;
use crate::store::{Store, StoreAuditSink};
use crate::sts::{CredentialIssuer, Sts};
use crate::web::{AppState, HttpServer, StopHandle};
use anyhow::Context;
use std::net::TcpListener;
use std::sync::Arc;

/// What `serve` and the commands share: the store, the master key, the
/// signing keys, the IAM and STS services and the built-in IdP.
pub struct Services {
    pub store: Store,
    pub master: MasterKey,
    pub keys: Arc<KeyRing>,
    pub iam: Arc<IamService>,
    pub sts: Arc<Sts>,
    pub idp: IdentityProvider,
    pub clock: SharedClock,
}

pub async fn services(settings: &Settings, clock: SharedClock) -> anyhow::Result<Services> {
    config::ensure_private_dir(&settings.server.data_dir)
        .with_context(|| format!("cannot create the data folder {}", settings.server.data_dir.display()))?;
    let store = Store::connect(&settings.database.url, settings.database.max_connections)
        .await
        .with_context(|| format!("cannot open database {}", redact_url(&settings.database.url)))?;
    let master = master_key(settings)?;
    let keys = KeyRing::open(&store, &master, &settings.server.data_dir, clock.now().timestamp())
        .await
        .context("signing keys")?;
    let idp = identity_provider(settings, keys.idp.clone())?;
    let iam = Arc::new(IamService::new(
        store.clone(),
        master.clone(),
        keys.tokens.clone(),
        clock.clone(),
        settings.server.region.clone(),
    ));
    let issuer =
        CredentialIssuer { master: master.clone(), tokens: keys.tokens.clone(), clock: clock.clone() };
    let sts = Arc::new(Sts::new(
        iam.clone(),
        store.clone(),
        issuer,
        &settings.server.public_url,
        clock.clone(),
        settings.sts.sessions_per_principal_per_hour,
    ));
    Ok(Services { store, master, keys: Arc::new(keys), iam, sts, idp, clock })
}

/// The built-in IdP with its keys, the SPs it serves (idbroker's own SP
/// first, whose requests are signed with the IdP's keys) and the configured
/// role rules.
/// A configured SP's `encryption_certificate` (PEM), when set.
fn configured_encryption(
    sp: &crate::config::ServiceProviderSettings,
) -> anyhow::Result<Option<SpEncryption>> {
    if sp.encryption_certificate.trim().is_empty() {
        return Ok(None);
    }
    let named = if sp.entity_id.is_empty() { &sp.metadata_file } else { &sp.entity_id };
    let der = openssl::x509::X509::from_pem(sp.encryption_certificate.as_bytes())
        .and_then(|c| c.to_der())
        .with_context(|| format!("idp.service_providers `{named}`: encryption_certificate is not PEM"))?;
    let encryption =
        SpEncryption::new(&der, &[]).map_err(|e| anyhow::anyhow!("idp.service_providers `{named}`: {e}"))?;
    Ok(Some(encryption))
}

fn identity_provider(settings: &Settings, keys: Arc<Shared<IdpKeys>>) -> anyhow::Result<IdentityProvider> {
    let own = ServiceProviderUrls::new(&settings.server.public_url);
    let mut sps = vec![ServiceProvider {
        entity_id: own.entity_id,
        acs: vec![Acs { index: 0, url: own.acs_url }],
        signing_certificate: None,
        sign_assertions: false,
        slo: None,
        encryption: None,
    }];
    for sp in &settings.idp.service_providers {
        if !sp.metadata_file.is_empty() {
            let xml = std::fs::read_to_string(&sp.metadata_file)
                .with_context(|| format!("idp.service_providers: cannot read {}", sp.metadata_file))?;
            let mut registered = crate::idp::parse_sp_metadata(&xml).with_context(|| {
                format!("idp.service_providers: {} is not usable SP metadata", sp.metadata_file)
            })?;
            registered.sign_assertions |= sp.sign_assertions;
            if let Some(encryption) = configured_encryption(sp)? {
                registered.encryption = Some(encryption);
            }
            sps.push(registered);
            continue;
        }
        let signing_certificate = if sp.signing_certificate.trim().is_empty() {
            None
        } else {
            let cert =
                openssl::x509::X509::from_pem(sp.signing_certificate.as_bytes()).with_context(|| {
                    format!("idp.service_providers `{}`: signing_certificate is not PEM", sp.entity_id)
                })?;
            Some(cert.to_der()?)
        };
        sps.push(ServiceProvider {
            entity_id: sp.entity_id.clone(),
            acs: sp.acs_urls.iter().enumerate().map(|(index, url)| Acs { index, url: url.clone() }).collect(),
            signing_certificate,
            sign_assertions: sp.sign_assertions,
            slo: None,
            encryption: configured_encryption(sp)?,
        });
    }
    Ok(IdentityProvider::new(&settings.server.public_url, keys, sps, settings.idp.session_duration))
}

/// Reads the shared change counter every `CHANGE_POLL`, so that rows this node
/// keeps in memory (store/cache.rs) and the signing keys (keys.rs) follow
/// other nodes' changes; every 10 s, measures the clock skew.
fn spawn_change_watch(state: &Arc<AppState>) {
    let state = Arc::downgrade(state);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(crate::store::CHANGE_POLL);
        for polls in 0_u64.. {
            tick.tick().await;
            let Some(state) = state.upgrade() else { return };
            if polls % 40 == 0 {
                measure_clock_skew(&state).await;
            }
            if state.store.watch_changes().await {
                if let Err(e) = state.keys.reload_if_changed().await {
                    tracing::error!(error = %e, "signing keys could not be read; the ones in force stay");
                }
                if let Err(e) = state.login.idp.reload_service_providers(&state.store).await {
                    tracing::error!(error = %e, "service providers could not be read; the ones in force stay");
                }
                if let Err(e) = state.login.rules.reload(&state.store).await {
                    tracing::error!(error = %e, "role rules could not be read; the ones in force stay");
                }
            }
        }
    });
}

/// The configuration's `idp.role_mappings`, copied into the database the
/// first time any node starts with this set of them; from then on the
/// database's rules (edited in the admin console) are the ones in force, and
/// a rule deleted there stays deleted until the configured set changes.
async fn seed_role_mappings(
    store: &Store,
    configured: &[crate::config::RoleMappingSettings],
    now: i64,
) -> anyhow::Result<()> {
    let mut seed = Vec::new();
    for m in configured {
        let account = crate::domain::Arn::parse(&m.role_arn)
            .filter(|a| a.service == "iam" && a.resource.starts_with("role/"))
            .map(|a| a.account)
            .with_context(|| format!("idp.role_mappings: `{}` is not a role ARN", m.role_arn))?;
        seed.push(crate::store::StoredMapping {
            group_dn: m.group_dn.clone(),
            role_arn: m.role_arn.clone(),
            account_id: account,
            created_at: now,
        });
    }
    let mut spelt: Vec<String> = seed.iter().map(|m| format!("{}\n{}", m.group_dn, m.role_arn)).collect();
    spelt.sort();
    let name = format!("idp.role_mappings:{}", crate::crypto::sha256_hex(spelt.join("\n\n").as_bytes()));
    store.seed_role_mappings(&name, &seed).await?;
    Ok(())
}

/// This node's clock against the database server's, for `/metrics`: a node
/// whose clock drifts is seen before its tokens and assertions are judged
/// differently from the others'.
async fn measure_clock_skew(state: &AppState) {
    let before = state.clock.now();
    match state.store.database_clock().await {
        Ok(Some(database)) => {
            let after = state.clock.now();
            let ours = (before.timestamp_millis() + after.timestamp_millis()) as f64 / 2000.0;
            let skew = ours - database;
            state.metrics.clock_skew.set(skew);
            if skew.abs() > 30.0 {
                tracing::warn!(skew_seconds = skew, "this node's clock is off from the database server's");
            }
        }
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "could not read the database server's clock"),
    }
}

/// Every five minutes, deletes expired browser sessions and replay-cache
/// entries. Expired rows are refused anyway; this only keeps tables small.
fn spawn_sweeper(state: Arc<AppState>) {
    let state = Arc::downgrade(&state);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(300));
        loop {
            tick.tick().await;
            let Some(state) = state.upgrade() else { return };
            if let Err(e) = state.sessions.purge_expired().await {
                tracing::warn!(error = %e, "could not purge expired web sessions");
            }
            let now = state.clock.now().timestamp();
            if let Err(e) = state.store.purge_replay_cache(now).await {
                tracing::warn!(error = %e, "could not purge the replay cache");
            }
            if let Err(e) = state.password_signin.throttle.purge(now).await {
                tracing::warn!(error = %e, "could not purge old sign-in failures");
            }
            if let Err(e) = state.store.purge_issuance_counts(now - 3600).await {
                tracing::warn!(error = %e, "could not purge old issuance counts");
            }
            if let Err(e) = state.store.purge_kept_assertions(now).await {
                tracing::warn!(error = %e, "could not purge kept assertions");
            }
            if let Err(e) = state.store.purge_cli_grants(now).await {
                tracing::warn!(error = %e, "could not purge expired command-line sign-ins");
            }
        }
    });
}

/// Fetches again, every `seconds`, the metadata of SPs registered by URL,
/// and that of SAML providers tagged with a metadata URL on the same
/// schedule or sooner when their documents ask (`cacheDuration`,
/// `validUntil`); a refresh that cannot be used is counted, logged and
/// audited, and the last good metadata stays in force. Providers'
/// certificates ending within 30 days are measured and audited.
fn spawn_metadata_refresh(state: &Arc<AppState>, seconds: u64) {
    const FIRST_REFRESH_SECONDS: i64 = 5;
    let state = Arc::downgrade(state);
    let schedule = i64::try_from(seconds).unwrap_or(i64::MAX / 2);
    tokio::spawn(async move {
        // Soon after start, then as due: each node has its own copy of when.
        let mut wait = schedule.min(FIRST_REFRESH_SECONDS);
        let mut service_providers_due = None;
        loop {
            tokio::time::sleep(std::time::Duration::from_secs(wait.max(1).unsigned_abs())).await;
            let Some(state) = state.upgrade() else { return };
            let operator = &state.operator;
            let now = state.clock.now().timestamp();
            let service_providers_due_now = service_providers_due.is_none_or(|due| now >= due);
            let service_providers = if service_providers_due_now {
                service_providers_due = Some(now + schedule);
                operator.refresh_service_providers().await
            } else {
                Ok(Vec::new())
            };
            let identity_providers = match operator.refresh_identity_providers(schedule).await {
                Ok((failures, next)) => {
                    wait = next.min(service_providers_due.unwrap_or(next)) - now;
                    Ok(failures)
                }
                Err(e) => {
                    wait = schedule;
                    Err(e)
                }
            };
            let refreshed = [
                ("RefreshServiceProviderMetadata", service_providers),
                ("RefreshIdentityProviderMetadata", identity_providers),
            ];
            let mut events = Vec::new();
            for (event_name, outcome) in refreshed {
                let failures = match outcome {
                    Ok(f) => f,
                    Err(e) => {
                        tracing::warn!(error = %e, "metadata could not be refreshed");
                        continue;
                    }
                };
                for failure in failures {
                    tracing::warn!(
                        subject = failure.subject,
                        url = failure.url,
                        error = failure.error,
                        "metadata refresh failed; the last good metadata stays in force"
                    );
                    state.metrics.metadata_refresh_failures.with_label_values(&[&failure.subject]).inc();
                    let parameters =
                        serde_json::json!({ "Subject": failure.subject, "MetadataURL": failure.url });
                    let refusal = Some(("MetadataRefreshFailed", failure.error));
                    events.push(maintenance_event(&state, event_name, parameters, refusal));
                }
            }
            let certificates = if service_providers_due_now {
                operator.certificate_days_left().await
            } else {
                Ok(Vec::new())
            };
            match certificates {
                Ok(all) => {
                    for c in all {
                        state
                            .metrics
                            .certificate_days_left
                            .with_label_values(&[&c.provider_arn])
                            .set(c.days_left);
                        if c.days_left <= crate::operator::EXPIRY_WARNING_DAYS {
                            let parameters = serde_json::json!({ "SAMLProviderArn": c.provider_arn, "DaysLeft": c.days_left });
                            events.push(maintenance_event(
                                &state,
                                "CertificateExpiringSoon",
                                parameters,
                                None,
                            ));
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "certificates could not be checked"),
            }
            if let Err(e) = state.store.insert_audit_events(&events).await {
                tracing::warn!(error = %e, "metadata maintenance could not be audited");
            }
        }
    });
}

/// An audit event of the deployment's own upkeep.
fn maintenance_event(
    state: &AppState,
    name: &str,
    parameters: serde_json::Value,
    refusal: Option<(&str, String)>,
) -> crate::audit::AuditEvent {
    let refusal = refusal.map(|(code, message)| (code.to_owned(), Some(message)));
    let now = state.clock.now();
    crate::audit::AuditEvent::deployment(now, "idbroker.maintenance", "Service", name, parameters, refusal)
}

/// Every hour, one node at a time deletes the audit events older than
/// `audit.retention_days` (exporting them first where configured).
fn spawn_audit_retention(state: &Arc<AppState>, settings: &crate::config::AuditSettings) {
    if settings.retention_days == 0 {
        return;
    }
    let export = crate::audit::AuditExport::from_setting(&settings.export, settings.export_max_bytes);
    let keep = chrono::Duration::days(i64::from(settings.retention_days));
    let node = crate::crypto::random_token(8);
    let state = Arc::downgrade(state);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            tick.tick().await;
            let Some(state) = state.upgrade() else { return };
            let now = state.clock.now();
            match crate::store::retention_turn(&state.store, &node, now.timestamp()).await {
                Ok(true) => {}
                Ok(false) => continue,
                Err(e) => {
                    tracing::warn!(error = %e, "audit retention: cannot take the lease");
                    continue;
                }
            }
            let metrics = Some(&state.metrics.audit);
            match crate::store::apply_audit_retention(&state.store, export.as_ref(), now - keep, now, metrics)
                .await
            {
                Ok(0) => {}
                Ok(deleted) => tracing::info!(deleted, "audit retention: old events deleted"),
                Err(e) => tracing::error!(error = %e, "audit retention stopped; old events kept"),
            }
        }
    });
}

/// Providers stored before entity ids were kept get theirs from their metadata.
async fn backfill_entity_ids(store: &Store, now: i64) -> anyhow::Result<()> {
    let now = chrono::DateTime::from_timestamp(now, 0).unwrap_or_default();
    for p in store.saml_providers_by_entity_id("").await? {
        if let Ok(m) = crate::saml::validate_idp_metadata(&p.metadata, now) {
            store.update_saml_provider(&p.arn, &p.metadata, &m.entity_id, p.valid_until).await?;
        }
    }
    Ok(())
}

/// Makes sure every account (or just `only`) has the SAML provider `idbroker`
/// with the built-in IdP's current metadata.
pub async fn register_builtin_provider(
    store: &Store,
    idp: &IdentityProvider,
    only: Option<&AccountId>,
    now: i64,
) -> anyhow::Result<()> {
    let metadata = idp.metadata();
    let accounts = match only {
        Some(a) => vec![a.clone()],
        None => store.list_account_ids().await?,
    };
    for account in accounts {
        let arn = crate::domain::Arn::saml_provider(&account, BUILTIN_PROVIDER);
        match store.get_saml_provider(&arn).await {
            Ok(p) if p.metadata == metadata => {}
            Ok(_) => store.update_saml_provider(&arn, &metadata, &idp.entity_id, None).await?,
            Err(StoreError::NotFound(_)) => {
                let provider = SamlProvider {
                    arn,
                    account_id: account,
                    name: BUILTIN_PROVIDER.into(),
                    uuid: uuid::Uuid::new_v4().to_string(),
                    metadata: metadata.clone(),
                    entity_id: idp.entity_id.clone(),
                    valid_until: None,
                    created_at: now,
                    settings: Default::default(),
                    encryption_mode: Default::default(),
                    private_keys: Vec::new(),
                };
                match store.insert_saml_provider(&provider).await {
                    Ok(()) | Err(StoreError::Conflict(_)) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// The master key: `IDBROKER_MASTER_KEY`, else `server.master_key_file`
/// (by default `master.key` in the data folder, made at first start).
pub fn master_key(settings: &Settings) -> anyhow::Result<MasterKey> {
    let key = config::master_key_bytes(settings, || MasterKey::generate_bytes().to_vec())?;
    MasterKey::from_bytes(&key).context("the master key must be 32 bytes")
}

/// Hides a password in a database URL for messages.
fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://***{}", &url[..s], &url[at..]),
        _ => url.to_owned(),
    }
}

pub struct Application {
    port: u16,
    server: HttpServer,
    store: Store,
    state: Arc<AppState>,
}

impl Application {
    /// Connects, migrates, binds `server.listen` (port 0 picks a free port).
    pub async fn build(settings: &Settings, clock: SharedClock) -> anyhow::Result<Application> {
        Self::build_with_directory(settings, clock, None).await
    }

    /// As `build`, with a given directory instead of the configured one (tests).
    pub async fn build_with_directory(
        settings: &Settings,
        clock: SharedClock,
        directory: Option<Arc<dyn Directory>>,
    ) -> anyhow::Result<Application> {
        let Services { store, master, keys, iam, sts, idp, .. } = services(settings, clock.clone()).await?;
        let now = clock.now().timestamp();
        backfill_entity_ids(&store, now).await?;
        register_builtin_provider(&store, &idp, None, now).await?;
        let directory = match directory {
            Some(d) => Some(d),
            None if settings.directory.url.is_empty() => None,
            None => {
                let ldap = LdapDirectory::new(&settings.directory, clock.clone())?;
                match ldap.check().await {
                    Ok(()) => {}
                    Err(e @ crate::directory::DirectoryError::Misconfigured(_)) => {
                        anyhow::bail!("directory.url {}: {e}", settings.directory.url)
                    }
                    // An outage, not a mistake: serve the API; sign-ins wait for it.
                    Err(e) => tracing::warn!(error = %e, "the directory cannot be reached at start-up"),
                }
                Some(Arc::new(ldap) as Arc<dyn Directory>)
            }
        };
        let csrf_key = master.csrf_key();
        let audit = StoreAuditSink::new(store.clone(), settings.audit.skip_read_only);
        let metrics = Metrics::new().context("metrics registry")?;
        store.report_audit_to(metrics.audit.clone());
        let idp = Arc::new(idp);
        idp.reload_service_providers(&store).await.context("registered service providers")?;
        let sessions = Sessions::new(store.clone(), master.clone(), clock.clone());
        let throttle = Throttle::new(
            store.clone(),
            settings.idp.max_failures_per_user,
            settings.idp.max_failures_per_address,
            settings.idp.throttle_window_seconds as i64,
        );
        let sp = ServiceProviderUrls::new(&settings.server.public_url);
        seed_role_mappings(&store, &settings.idp.role_mappings, now).await?;
        let rules = Arc::new(crate::idp::roles::RoleRules::load(&store).await?);
        let kept = Arc::new(crate::console::KeptAssertions {
            store: store.clone(),
            master: master.clone(),
            seconds: i64::from(settings.audit.keep_refused_assertions_seconds),
            clock: clock.clone(),
        });
        let login = DirectoryLogin {
            idp: idp.clone(),
            directory,
            throttle: throttle.clone(),
            second_factor: crate::idp::second_factor::SecondFactor::new(
                store.clone(),
                master.clone(),
                clock.clone(),
                settings.idp.mfa_groups.clone(),
            ),
            rules: rules.clone(),
            master: master.clone(),
            clock: clock.clone(),
            metrics: metrics.clone(),
            sessions: crate::console::IdpSessions {
                store: store.clone(),
                master: master.clone(),
                clock: clock.clone(),
                lifetime: settings.idp.sso_session_seconds,
            },
        };
        let login = Arc::new(login);
        let saml_signin = SamlSignIn {
            sts: sts.clone(),
            clock: clock.clone(),
            store: store.clone(),
            sessions: sessions.clone(),
            idp: idp.clone(),
            sp: sp.clone(),
            metrics: metrics.clone(),
            kept: kept.clone(),
        };
        let saml_signin = Arc::new(saml_signin);
        let cli = CliSignIn {
            store: store.clone(),
            master: master.clone(),
            clock: clock.clone(),
            sts: sts.clone(),
            saml: saml_signin.clone(),
            login: login.clone(),
            sp: sp.clone(),
            throttle: throttle.clone(),
        };
        let password_signin = PasswordSignIn {
            iam: iam.clone(),
            sts: sts.clone(),
            master: master.clone(),
            clock: clock.clone(),
            store: store.clone(),
            sessions: sessions.clone(),
            throttle,
            metrics: metrics.clone(),
        };
        let operator = crate::operator::OperatorApi {
            keys: keys.clone(),
            idp: idp.clone(),
            store: store.clone(),
            iam: iam.clone(),
            operators: settings
                .server
                .operator_accounts
                .iter()
                .filter_map(|a| AccountId::parse(a).ok())
                .collect(),
            clock: clock.clone(),
            refresh_due: Default::default(),
            fetcher: Arc::new(crate::fetch::Fetcher::new(&settings.server.fetch_ca_file)?),
        };
        let operator = Arc::new(operator);
        let admin = crate::console::admin::AdminConsole {
            iam: iam.clone(),
            operator: operator.clone(),
            sts: sts.clone(),
            store: store.clone(),
            clock: clock.clone(),
            kept,
            directory: login.directory.clone(),
            rules: rules.clone(),
        };
        let idp_logout = crate::console::idp_logout::IdpLogout {
            idp: idp.clone(),
            sessions: login.sessions.clone(),
            master: master.clone(),
            clock: clock.clone(),
        };
        let state = Arc::new(AppState {
            idp_logout,
            operator,
            admin,
            iam,
            sts,
            clock: clock.clone(),
            store: store.clone(),
            metrics,
            audit: Arc::new(audit),
            audit_room: crate::audit::AuditRoom::new(
                settings.audit.queue,
                std::time::Duration::from_millis(settings.audit.max_wait_ms),
            )
            .storing_before_answer(settings.audit.stored_before_answer),
            max_body_bytes: settings.server.max_body_bytes,
            public_url: settings.server.public_url.clone(),
            trusted_proxies: settings.server.trusted_proxies.clone(),
            https: settings.server.public_url.is_https(),
            sp,
            sessions,
            login,
            saml_signin,
            cli,
            password_signin,
            keys,
            csrf_key,
        });
        spawn_change_watch(&state);
        spawn_sweeper(state.clone());
        spawn_audit_retention(&state, &settings.audit);
        spawn_metadata_refresh(&state, settings.idp.metadata_refresh_seconds);
        let listener = TcpListener::bind(&settings.server.listen)
            .with_context(|| format!("cannot listen on {}", settings.server.listen))?;
        let port = listener.local_addr()?.port();
        let server = HttpServer::bind(state.clone(), listener, settings.server.workers)?;
        Ok(Application { port, server, store, state })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn stop_handle(&self) -> StopHandle {
        self.server.stop_handle()
    }

    /// Serves until stopped, then stores the queued audit events and closes the pool.
    pub async fn run(self) -> anyhow::Result<()> {
        self.server.run().await?;
        drop(self.state);
        match tokio::time::timeout(std::time::Duration::from_secs(10), self.store.flush_grouped()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "queued audit events could not be stored"),
            Err(_) => tracing::error!("queued audit events were not stored within 10 s"),
        }
        self.store.close().await;
        Ok(())
    }
}
