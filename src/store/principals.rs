//! Users, groups, roles, group membership and inline policies.
use super::{get, opt, Result, Store, StoreError};
use crate::domain::{EntityKind, Principal};
use sqlx::any::AnyRow;

fn kind_from(s: &str) -> Result<EntityKind> {
    match s {
        "user" => Ok(EntityKind::User),
        "group" => Ok(EntityKind::Group),
        "role" => Ok(EntityKind::Role),
        _ => Err(StoreError::Corrupt("principal kind")),
    }
}

pub(super) fn principal(row: &AnyRow) -> Result<Principal> {
    Ok(Principal {
        id: get(row, "id")?,
        account_id: super::account_id(row)?,
        kind: kind_from(&get::<String>(row, "kind")?)?,
        name: get(row, "name")?,
        path: get(row, "path")?,
        arn: get(row, "arn")?,
        created_at: get(row, "created_at")?,
        description: opt(row, "description")?,
        trust_policy: opt(row, "trust_policy")?,
        max_session_duration: opt(row, "max_session_duration")?,
        permissions_boundary: opt(row, "permissions_boundary")?,
        password_last_used: opt(row, "password_last_used")?,
    })
}

pub(super) async fn insert_principal(tx: &mut super::WriteTx, p: &Principal) -> Result<()> {
    sqlx::query(
        "INSERT INTO principals (id, account_id, kind, name, name_key, path, arn, created_at, description,
                                 trust_policy, max_session_duration, permissions_boundary, password_last_used)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, NULL)",
    )
    .bind(&p.id)
    .bind(p.account_id.as_str())
    .bind(p.kind.as_str())
    .bind(&p.name)
    .bind(p.name.to_lowercase())
    .bind(&p.path)
    .bind(&p.arn)
    .bind(p.created_at)
    .bind(&p.description)
    .bind(&p.trust_policy)
    .bind(p.max_session_duration)
    .bind(&p.permissions_boundary)
    .execute(&mut **tx)
    .await
    .map_err(StoreError::on_insert(p.kind.as_str()))?;
    Ok(())
}

/// Changes to a principal; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct PrincipalUpdate {
    pub new_name: Option<String>,
    pub new_path: Option<String>,
    pub new_arn: Option<String>,
    pub description: Option<String>,
    pub trust_policy: Option<String>,
    pub max_session_duration: Option<i64>,
    /// `Some(None)` removes the boundary.
    pub permissions_boundary: Option<Option<String>>,
    pub password_last_used: Option<i64>,
}

impl Store {
    pub async fn insert_principal(&self, p: &Principal) -> Result<()> {
        let mut tx = self.begin_write().await?;
        insert_principal(&mut tx, p).await?;
        self.commit_change(tx).await
    }

    pub async fn get_principal(&self, account_id: &str, kind: EntityKind, name: &str) -> Result<Principal> {
        let key = (account_id.to_owned(), kind.as_str(), name.to_lowercase());
        if let Some(kept) = self.cache.get(&self.cache.principals, &key) {
            return Ok(kept);
        }
        let seen = self.cache.generation();
        let row =
            sqlx::query("SELECT * FROM principals WHERE account_id = $1 AND kind = $2 AND name_key = $3")
                .bind(&key.0)
                .bind(key.1)
                .bind(&key.2)
                .fetch_optional(&self.pool)
                .await?
                .ok_or(StoreError::NotFound(kind.as_str()))?;
        let found = principal(&row)?;
        self.cache.put(&self.cache.principals, seen, key, &found);
        Ok(found)
    }

    pub async fn get_principal_by_id(&self, id: &str) -> Result<Principal> {
        let row = sqlx::query("SELECT * FROM principals WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound("principal"))?;
        principal(&row)
    }

    /// At most `limit` principals of one kind whose path starts with
    /// `path_prefix`, by name, after the name key `after`: one page, read
    /// through the (account, kind, name) index whatever the account's size.
    pub async fn page_of_principals(
        &self,
        account_id: &str,
        kind: EntityKind,
        path_prefix: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Principal>> {
        let rows = sqlx::query(
            "SELECT * FROM principals WHERE account_id = $1 AND kind = $2 AND name_key > $3
               AND substr(path, 1, $4) = $5 ORDER BY name_key LIMIT $6",
        )
        .bind(account_id)
        .bind(kind.as_str())
        .bind(after.unwrap_or_default())
        .bind(path_prefix.chars().count() as i32)
        .bind(path_prefix)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(principal).collect()
    }

    pub async fn update_principal(&self, id: &str, u: &PrincipalUpdate) -> Result<()> {
        let boundary_set = u.permissions_boundary.is_some();
        let boundary = u.permissions_boundary.clone().flatten();
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "UPDATE principals SET
                name = COALESCE($1, name), name_key = COALESCE($2, name_key), path = COALESCE($3, path),
                arn = COALESCE($4, arn), description = COALESCE($5, description),
                trust_policy = COALESCE($6, trust_policy),
                max_session_duration = COALESCE($7, max_session_duration),
                permissions_boundary = CASE WHEN $8 = 1 THEN $9 ELSE permissions_boundary END,
                password_last_used = COALESCE($10, password_last_used)
             WHERE id = $11",
        )
        .bind(&u.new_name)
        .bind(u.new_name.as_ref().map(|n| n.to_lowercase()))
        .bind(&u.new_path)
        .bind(&u.new_arn)
        .bind(&u.description)
        .bind(&u.trust_policy)
        .bind(u.max_session_duration)
        .bind(boundary_set as i64)
        .bind(boundary)
        .bind(u.password_last_used)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::on_insert("entity"))?;
        if let Some(name) = &u.new_name {
            sqlx::query("UPDATE group_members SET user_name_key = $1 WHERE user_id = $2")
                .bind(name.to_lowercase())
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        self.commit_change(tx).await
    }

    /// Deletes a principal that holds nothing any more. What it still holds is a
    /// conflict, named, as IAM's DeleteConflict does; the check and the delete are
    /// one transaction.
    pub async fn delete_principal(&self, p: &Principal) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let checks: [(&'static str, &str); 6] = [
            ("attached policies", "SELECT COUNT(*) FROM policy_attachments WHERE principal_id = $1"),
            ("inline policies", "SELECT COUNT(*) FROM inline_policies WHERE principal_id = $1"),
            ("group memberships", "SELECT COUNT(*) FROM group_members WHERE user_id = $1 OR group_id = $1"),
            ("access keys", "SELECT COUNT(*) FROM access_keys WHERE user_id = $1"),
            ("a login profile", "SELECT COUNT(*) FROM login_profiles WHERE user_id = $1"),
            ("MFA devices", "SELECT COUNT(*) FROM mfa_devices WHERE user_id = $1"),
        ];
        for (what, sql) in checks {
            let n: i64 = sqlx::query_scalar(sql).bind(&p.id).fetch_one(&mut *tx).await?;
            if n > 0 {
                return Err(StoreError::Conflict(what));
            }
        }
        sqlx::query("DELETE FROM tags WHERE resource = $1").bind(&p.arn).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM principals WHERE id = $1").bind(&p.id).execute(&mut *tx).await?;
        self.commit_change(tx).await
    }

    pub async fn add_group_member(&self, group_id: &str, user_id: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO group_members (group_id, user_id, user_name_key)
             SELECT $1, id, name_key FROM principals WHERE id = $2 ON CONFLICT DO NOTHING",
        )
        .bind(group_id)
        .bind(user_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn remove_group_member(&self, group_id: &str, user_id: &str) -> Result<bool> {
        let r = sqlx::query("DELETE FROM group_members WHERE group_id = $1 AND user_id = $2")
            .bind(group_id)
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected() > 0)
    }

    pub async fn groups_of_user(&self, user_id: &str) -> Result<Vec<Principal>> {
        let rows = sqlx::query(
            "SELECT p.* FROM principals p JOIN group_members m ON m.group_id = p.id WHERE m.user_id = $1 ORDER BY p.name_key",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(principal).collect()
    }

    /// At most `limit` members of a group after the user name key `after`, by
    /// name: one page through the (group, user name) index.
    pub async fn page_of_group_members(
        &self,
        group_id: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Principal>> {
        let rows = sqlx::query(
            "SELECT p.* FROM group_members m JOIN principals p ON p.id = m.user_id
             WHERE m.group_id = $1 AND m.user_name_key > $2 ORDER BY m.user_name_key LIMIT $3",
        )
        .bind(group_id)
        .bind(after.unwrap_or_default())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(principal).collect()
    }

    /// Creates or replaces an inline policy.
    pub async fn put_inline_policy(&self, principal_id: &str, name: &str, document: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO inline_policies (principal_id, name, name_key, document) VALUES ($1, $2, $3, $4)
             ON CONFLICT (principal_id, name_key) DO UPDATE SET document = excluded.document, name = excluded.name",
        )
        .bind(principal_id)
        .bind(name)
        .bind(name.to_lowercase())
        .bind(document)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn get_inline_policy(&self, principal_id: &str, name: &str) -> Result<(String, String)> {
        let row = sqlx::query(
            "SELECT name, document FROM inline_policies WHERE principal_id = $1 AND name_key = $2",
        )
        .bind(principal_id)
        .bind(name.to_lowercase())
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound("policy"))?;
        Ok((get(&row, "name")?, get(&row, "document")?))
    }

    pub async fn delete_inline_policy(&self, principal_id: &str, name: &str) -> Result<bool> {
        let r = sqlx::query("DELETE FROM inline_policies WHERE principal_id = $1 AND name_key = $2")
            .bind(principal_id)
            .bind(name.to_lowercase())
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected() > 0)
    }

    /// (name, document) of every inline policy of a principal, by name.
    pub async fn inline_policies(&self, principal_id: &str) -> Result<Vec<(String, String)>> {
        let rows = sqlx::query(
            "SELECT name, document FROM inline_policies WHERE principal_id = $1 ORDER BY name_key",
        )
        .bind(principal_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| Ok((get(r, "name")?, get(r, "document")?))).collect()
    }
}
