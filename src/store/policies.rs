//! Customer managed policies, their versions, and attachments.
use super::{get, opt, Result, Store, StoreError};
use crate::domain::{EntityKind, ManagedPolicy, PolicyVersion, Principal};
use sqlx::any::AnyRow;

fn managed(row: &AnyRow) -> Result<ManagedPolicy> {
    Ok(ManagedPolicy {
        arn: get(row, "arn")?,
        id: get(row, "id")?,
        account_id: get(row, "account_id")?,
        name: get(row, "name")?,
        path: get(row, "path")?,
        description: opt(row, "description")?,
        default_version: get(row, "default_version")?,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
        attachment_count: get(row, "attachment_count")?,
    })
}

fn version(row: &AnyRow) -> Result<PolicyVersion> {
    Ok(PolicyVersion {
        policy_arn: get(row, "policy_arn")?,
        version_id: get(row, "version_id")?,
        document: get(row, "document")?,
        created_at: get(row, "created_at")?,
    })
}

const SELECT_MANAGED: &str =
    "SELECT m.*, COALESCE((SELECT c.attached FROM attachment_counts c
                            WHERE c.account_id = m.account_id AND c.policy_arn = m.arn), 0) AS attachment_count
     FROM managed_policies m";

/// The most versions a managed policy may have, as in IAM.
pub const MAX_POLICY_VERSIONS: i64 = 5;

impl Store {
    pub async fn create_managed_policy(&self, p: &ManagedPolicy, document: &str) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO managed_policies (arn, id, account_id, name, name_key, path, description, default_version,
                                           next_version, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'v1', 2, $8, $8)",
        )
        .bind(&p.arn)
        .bind(&p.id)
        .bind(&p.account_id)
        .bind(&p.name)
        .bind(p.name.to_lowercase())
        .bind(&p.path)
        .bind(&p.description)
        .bind(p.created_at)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::on_insert("policy"))?;
        sqlx::query("INSERT INTO policy_versions (policy_arn, version_id, document, created_at) VALUES ($1, 'v1', $2, $3)")
            .bind(&p.arn)
            .bind(document)
            .bind(p.created_at)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn get_managed_policy(&self, arn: &str) -> Result<ManagedPolicy> {
        let row = sqlx::query(&format!("{SELECT_MANAGED} WHERE m.arn = $1"))
            .bind(arn)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound("policy"))?;
        managed(&row)
    }

    /// At most `limit` of an account's managed policies whose path starts with
    /// `path_prefix`, by name, after the name key `after` (only those attached
    /// somewhere with `only_attached`): one page through the (account, name) index.
    pub async fn page_of_managed_policies(
        &self,
        account_id: &str,
        path_prefix: &str,
        only_attached: bool,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<ManagedPolicy>> {
        let rows = sqlx::query(&format!(
            "{SELECT_MANAGED} WHERE m.account_id = $1 AND m.name_key > $2 AND substr(m.path, 1, $3) = $4
               AND ($5 = 0 OR EXISTS (SELECT 1 FROM attachment_counts c
                                      WHERE c.account_id = m.account_id AND c.policy_arn = m.arn AND c.attached > 0))
             ORDER BY m.name_key LIMIT $6"
        ))
        .bind(account_id)
        .bind(after.unwrap_or_default())
        .bind(path_prefix.chars().count() as i32)
        .bind(path_prefix)
        .bind(only_attached as i64)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(managed).collect()
    }

    /// Deletes a policy with no attachments, and its versions.
    pub async fn delete_managed_policy(&self, arn: &str) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let attached: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM (SELECT 1 FROM policy_attachments WHERE policy_arn = $1 LIMIT 1) a",
        )
        .bind(arn)
        .fetch_one(&mut *tx)
        .await?;
        if attached > 0 {
            return Err(StoreError::Conflict("attachments"));
        }
        let versions: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM policy_versions WHERE policy_arn = $1")
            .bind(arn)
            .fetch_one(&mut *tx)
            .await?;
        if versions > 1 {
            return Err(StoreError::Conflict("non-default versions"));
        }
        sqlx::query("DELETE FROM policy_versions WHERE policy_arn = $1").bind(arn).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM tags WHERE resource = $1").bind(arn).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM attachment_counts WHERE policy_arn = $1")
            .bind(arn)
            .execute(&mut *tx)
            .await?;
        let r =
            sqlx::query("DELETE FROM managed_policies WHERE arn = $1").bind(arn).execute(&mut *tx).await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound("policy"));
        }
        tx.commit().await?;
        Ok(())
    }

    /// Adds a version, optionally as the default. Refused (`Conflict`) when the
    /// policy already has the maximum number of versions.
    pub async fn create_policy_version(
        &self,
        arn: &str,
        document: &str,
        set_default: bool,
        now: i64,
    ) -> Result<String> {
        let mut tx = self.begin_write().await?;
        let next: i64 = sqlx::query_scalar("SELECT next_version FROM managed_policies WHERE arn = $1")
            .bind(arn)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound("policy"))?;
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM policy_versions WHERE policy_arn = $1")
            .bind(arn)
            .fetch_one(&mut *tx)
            .await?;
        if count >= MAX_POLICY_VERSIONS {
            return Err(StoreError::Conflict("policy versions"));
        }
        let version_id = format!("v{next}");
        sqlx::query("INSERT INTO policy_versions (policy_arn, version_id, document, created_at) VALUES ($1, $2, $3, $4)")
            .bind(arn)
            .bind(&version_id)
            .bind(document)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE managed_policies SET next_version = next_version + 1, updated_at = $1,
                default_version = CASE WHEN $2 = 1 THEN $3 ELSE default_version END WHERE arn = $4",
        )
        .bind(now)
        .bind(set_default as i64)
        .bind(&version_id)
        .bind(arn)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(version_id)
    }

    pub async fn get_policy_version(&self, arn: &str, version_id: &str) -> Result<PolicyVersion> {
        let row = sqlx::query("SELECT * FROM policy_versions WHERE policy_arn = $1 AND version_id = $2")
            .bind(arn)
            .bind(version_id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound("policy version"))?;
        version(&row)
    }

    pub async fn list_policy_versions(&self, arn: &str) -> Result<Vec<PolicyVersion>> {
        let rows = sqlx::query(
            "SELECT * FROM policy_versions WHERE policy_arn = $1 ORDER BY created_at DESC, version_id DESC",
        )
        .bind(arn)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(version).collect()
    }

    pub async fn delete_policy_version(&self, arn: &str, version_id: &str) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let default: Option<String> =
            sqlx::query_scalar("SELECT default_version FROM managed_policies WHERE arn = $1")
                .bind(arn)
                .fetch_optional(&mut *tx)
                .await?;
        match default {
            None => return Err(StoreError::NotFound("policy")),
            Some(d) if d == version_id => return Err(StoreError::Conflict("default version")),
            Some(_) => {}
        }
        let r = sqlx::query("DELETE FROM policy_versions WHERE policy_arn = $1 AND version_id = $2")
            .bind(arn)
            .bind(version_id)
            .execute(&mut *tx)
            .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound("policy version"));
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn set_default_policy_version(&self, arn: &str, version_id: &str, now: i64) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let exists: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM policy_versions WHERE policy_arn = $1 AND version_id = $2",
        )
        .bind(arn)
        .bind(version_id)
        .fetch_one(&mut *tx)
        .await?;
        if exists == 0 {
            return Err(StoreError::NotFound("policy version"));
        }
        sqlx::query("UPDATE managed_policies SET default_version = $1, updated_at = $2 WHERE arn = $3")
            .bind(version_id)
            .bind(now)
            .bind(arn)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The default version's document of a customer managed policy.
    pub async fn default_policy_document(&self, arn: &str) -> Result<String> {
        let doc: Option<String> = sqlx::query_scalar(
            "SELECT v.document FROM managed_policies m JOIN policy_versions v
               ON v.policy_arn = m.arn AND v.version_id = m.default_version WHERE m.arn = $1",
        )
        .bind(arn)
        .fetch_optional(&self.pool)
        .await?;
        doc.ok_or(StoreError::NotFound("policy"))
    }

    pub async fn attach_policy(&self, principal_id: &str, policy_arn: &str) -> Result<()> {
        let mut tx = self.begin_write().await?;
        insert_attachment(&mut tx, principal_id, policy_arn).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn detach_policy(&self, principal_id: &str, policy_arn: &str) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let r = sqlx::query("DELETE FROM policy_attachments WHERE principal_id = $1 AND policy_arn = $2")
            .bind(principal_id)
            .bind(policy_arn)
            .execute(&mut *tx)
            .await?;
        let detached = r.rows_affected() > 0;
        if detached {
            count_attachment(&mut tx, principal_id, policy_arn, -1).await?;
        }
        tx.commit().await?;
        Ok(detached)
    }

    pub async fn attached_policies(&self, principal_id: &str) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT policy_arn FROM policy_attachments WHERE principal_id = $1 ORDER BY policy_arn",
        )
        .bind(principal_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// How many principals of `account_id` a policy is attached to.
    pub async fn count_policy_attachments(&self, account_id: &str, policy_arn: &str) -> Result<i64> {
        let attached: Option<i64> = sqlx::query_scalar(
            "SELECT attached FROM attachment_counts WHERE account_id = $1 AND policy_arn = $2",
        )
        .bind(account_id)
        .bind(policy_arn)
        .fetch_optional(&self.pool)
        .await?;
        Ok(attached.unwrap_or(0))
    }

    /// At most `limit` principals of `account_id` (of one kind, if given) a
    /// policy is attached to, by id after `after`: one page through the
    /// (policy, principal) index.
    pub async fn page_of_policy_entities(
        &self,
        account_id: &str,
        policy_arn: &str,
        kind: Option<EntityKind>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Principal>> {
        let rows = sqlx::query(
            "SELECT p.* FROM policy_attachments a JOIN principals p ON p.id = a.principal_id
             WHERE a.policy_arn = $1 AND a.principal_id > $2 AND p.account_id = $3
               AND ($4 = '' OR p.kind = $4)
             ORDER BY a.principal_id LIMIT $5",
        )
        .bind(policy_arn)
        .bind(after.unwrap_or_default())
        .bind(account_id)
        .bind(kind.map_or("", EntityKind::as_str))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(super::principals::principal).collect()
    }
}

/// Attaches a policy (if it is not already) and counts it.
pub(super) async fn insert_attachment(
    tx: &mut super::WriteTx,
    principal_id: &str,
    policy_arn: &str,
) -> std::result::Result<(), sqlx::Error> {
    let r = sqlx::query(
        "INSERT INTO policy_attachments (principal_id, policy_arn) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .bind(principal_id)
    .bind(policy_arn)
    .execute(&mut **tx)
    .await?;
    if r.rows_affected() > 0 {
        count_attachment(tx, principal_id, policy_arn, 1).await?;
    }
    Ok(())
}

/// Adds `delta` to the attachment count of `policy_arn` in the account of
/// `principal_id` (attachment_counts, read by ListPolicies and GetPolicy).
async fn count_attachment(
    tx: &mut super::WriteTx,
    principal_id: &str,
    policy_arn: &str,
    delta: i64,
) -> std::result::Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO attachment_counts (account_id, policy_arn, attached)
         SELECT account_id, $2, $3 FROM principals WHERE id = $1
         ON CONFLICT (account_id, policy_arn) DO UPDATE SET attached = attachment_counts.attached + excluded.attached",
    )
    .bind(principal_id)
    .bind(policy_arn)
    .bind(delta)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
