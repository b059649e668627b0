//! Service providers of the built-in IdP registered at run time. Changes go
//! through the change counter, so every node reads them again.
use super::{get, opt, Result, Store, StoreError};

/// One registered SP as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredServiceProvider {
    pub entity_id: String,
    /// JSON: `[{"index": N, "url": "..."}]`, the default first.
    pub acs: String,
    /// Base64 DER.
    pub signing_certificate: Option<String>,
    pub sign_assertions: bool,
    /// JSON of its SingleLogoutService, when it has one.
    pub slo: Option<String>,
    /// JSON of the certificate and method its assertions are encrypted with.
    pub encryption: Option<String>,
    /// The metadata document it was registered from, if any.
    pub metadata: Option<String>,
    /// Where that document is fetched again from, on a schedule.
    pub metadata_url: Option<String>,
    /// The last refresh, and why it failed (the registration then stays as it was).
    pub refreshed_at: Option<i64>,
    pub refresh_error: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

fn row(r: &sqlx::any::AnyRow) -> Result<StoredServiceProvider> {
    Ok(StoredServiceProvider {
        entity_id: get(r, "entity_id")?,
        acs: get(r, "acs")?,
        signing_certificate: opt(r, "signing_certificate")?,
        sign_assertions: get::<i64>(r, "sign_assertions")? != 0,
        slo: opt(r, "slo")?,
        encryption: opt(r, "encryption")?,
        metadata: opt(r, "metadata")?,
        metadata_url: opt(r, "metadata_url")?,
        refreshed_at: opt(r, "refreshed_at")?,
        refresh_error: opt(r, "refresh_error")?,
        created_at: get(r, "created_at")?,
        updated_at: get(r, "updated_at")?,
    })
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// Binds $1 to $9: the entity id, what the registration says, and its source.
fn bind_registration<'q>(q: AnyQuery<'q>, sp: &'q StoredServiceProvider) -> AnyQuery<'q> {
    q.bind(&sp.entity_id)
        .bind(&sp.acs)
        .bind(&sp.signing_certificate)
        .bind(i64::from(sp.sign_assertions))
        .bind(&sp.metadata)
        .bind(&sp.metadata_url)
        .bind(sp.refreshed_at)
        .bind(&sp.slo)
        .bind(&sp.encryption)
}

impl Store {
    pub async fn service_providers(&self) -> Result<Vec<StoredServiceProvider>> {
        let rows =
            sqlx::query("SELECT * FROM service_providers ORDER BY entity_id").fetch_all(&self.pool).await?;
        rows.iter().map(row).collect()
    }

    /// Registers an SP; `Conflict` when its entity id is taken.
    pub async fn insert_service_provider(&self, sp: &StoredServiceProvider) -> Result<()> {
        let mut tx = self.begin_write().await?;
        bind_registration(sqlx::query(
            "INSERT INTO service_providers (entity_id, acs, signing_certificate, sign_assertions, metadata, metadata_url,
                                            refreshed_at, slo, encryption, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        ), sp)
        .bind(sp.created_at)
        .bind(sp.updated_at)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::on_insert("service provider"))?;
        self.commit_change(tx).await
    }

    /// Replaces a registered SP's endpoints, certificate and metadata; `NotFound` when none.
    pub async fn update_service_provider(&self, sp: &StoredServiceProvider) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let r = bind_registration(sqlx::query(
            "UPDATE service_providers SET acs = $2, signing_certificate = $3, sign_assertions = $4, metadata = $5,
                    metadata_url = $6, refreshed_at = $7, slo = $8, encryption = $9, refresh_error = NULL,
                    updated_at = $10
                    WHERE entity_id = $1",
        ), sp)
        .bind(sp.updated_at)
        .execute(&mut *tx)
        .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound("service provider"));
        }
        self.commit_change(tx).await
    }

    /// Notes a refresh that changed nothing: it failed (`error`; the
    /// registration stays as it was) or brought the same document. Not a
    /// change other nodes need to read again.
    pub async fn note_refresh(&self, entity_id: &str, error: Option<&str>, now: i64) -> Result<()> {
        sqlx::query(
            "UPDATE service_providers SET refreshed_at = $2, refresh_error = $3 WHERE entity_id = $1",
        )
        .bind(entity_id)
        .bind(now)
        .bind(error)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Removes a registered SP; `NotFound` when none.
    pub async fn delete_service_provider(&self, entity_id: &str) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let r = sqlx::query("DELETE FROM service_providers WHERE entity_id = $1")
            .bind(entity_id)
            .execute(&mut *tx)
            .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound("service provider"));
        }
        self.commit_change(tx).await
    }
}
