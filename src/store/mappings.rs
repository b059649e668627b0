//! Directory group -> role rules of the built-in IdP (the admin console edits
//! them; every node reads them again when the change counter moves).
use super::{get, Result, Store, StoreError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMapping {
    pub group_dn: String,
    pub role_arn: String,
    pub account_id: String,
    pub created_at: i64,
}

fn mapping(r: &sqlx::any::AnyRow) -> Result<StoredMapping> {
    Ok(StoredMapping {
        group_dn: get(r, "group_dn")?,
        role_arn: get(r, "role_arn")?,
        account_id: get(r, "account_id")?,
        created_at: get(r, "created_at")?,
    })
}

impl Store {
    /// Every rule (all accounts), for the IdP.
    pub async fn role_mappings(&self) -> Result<Vec<StoredMapping>> {
        let rows = sqlx::query("SELECT * FROM role_mappings ORDER BY group_dn, role_arn")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(mapping).collect()
    }

    /// One account's rules, for its administrators.
    pub async fn account_role_mappings(&self, account_id: &str) -> Result<Vec<StoredMapping>> {
        let rows =
            sqlx::query("SELECT * FROM role_mappings WHERE account_id = $1 ORDER BY group_dn, role_arn")
                .bind(account_id)
                .fetch_all(&self.pool)
                .await?;
        rows.iter().map(mapping).collect()
    }

    /// Adds a rule; `Conflict` when it exists.
    pub async fn insert_role_mapping(&self, m: &StoredMapping) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO role_mappings (group_dn, role_arn, account_id, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(&m.group_dn)
        .bind(&m.role_arn)
        .bind(&m.account_id)
        .bind(m.created_at)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::on_insert("role mapping"))?;
        self.commit_change(tx).await
    }

    /// Removes one of an account's rules; `NotFound` when it has none such.
    pub async fn delete_role_mapping(&self, account_id: &str, group_dn: &str, role_arn: &str) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let r = sqlx::query(
            "DELETE FROM role_mappings WHERE account_id = $1 AND group_dn = $2 AND role_arn = $3",
        )
        .bind(account_id)
        .bind(group_dn)
        .bind(role_arn)
        .execute(&mut *tx)
        .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound("role mapping"));
        }
        self.commit_change(tx).await
    }

    /// Applies the seed `name` once: `mappings` are inserted (those present
    /// kept) the first time on any node, never again.
    pub async fn seed_role_mappings(&self, name: &str, mappings: &[StoredMapping]) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let fresh = sqlx::query("INSERT INTO seeds (name) VALUES ($1) ON CONFLICT (name) DO NOTHING")
            .bind(name)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
        if fresh {
            for m in mappings {
                sqlx::query(
                    "INSERT INTO role_mappings (group_dn, role_arn, account_id, created_at) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (group_dn, role_arn) DO NOTHING",
                )
                .bind(&m.group_dn)
                .bind(&m.role_arn)
                .bind(&m.account_id)
                .bind(m.created_at)
                .execute(&mut *tx)
                .await?;
            }
        }
        self.commit_change(tx).await?;
        Ok(fresh)
    }
}
