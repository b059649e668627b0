//! Access keys, login profiles (console passwords) and MFA devices.
use super::{get, opt, Result, Store, StoreError};
use crate::domain::{AccessKey, LoginProfile, MfaDevice};
use sqlx::any::AnyRow;

/// Earlier passwords kept per user: IAM's largest PasswordReusePrevention.
pub const MAX_PASSWORD_HISTORY: usize = 24;

/// The most access keys a user may have, as in IAM.
pub const MAX_ACCESS_KEYS: i64 = 2;

fn access_key(row: &AnyRow) -> Result<AccessKey> {
    Ok(AccessKey {
        access_key_id: get(row, "access_key_id")?,
        account_id: super::account_id(row)?,
        user_id: opt(row, "user_id")?,
        sealed_secret: get(row, "sealed_secret")?,
        active: get::<i64>(row, "active")? != 0,
        created_at: get(row, "created_at")?,
        last_used_at: opt(row, "last_used_at")?,
        last_used_service: opt(row, "last_used_service")?,
        last_used_region: opt(row, "last_used_region")?,
    })
}

fn mfa(row: &AnyRow) -> Result<MfaDevice> {
    Ok(MfaDevice {
        serial: get(row, "serial")?,
        account_id: super::account_id(row)?,
        path: get(row, "path")?,
        sealed_seed: get(row, "sealed_seed")?,
        user_id: opt(row, "user_id")?,
        root_user: get::<i64>(row, "root_user")? != 0,
        enabled_at: opt(row, "enabled_at")?,
        created_at: get(row, "created_at")?,
        last_step: opt(row, "last_step")?,
    })
}

pub(super) async fn insert_access_key(tx: &mut super::WriteTx, k: &AccessKey) -> Result<()> {
    sqlx::query(
        "INSERT INTO access_keys (access_key_id, account_id, user_id, sealed_secret, active, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&k.access_key_id)
    .bind(k.account_id.as_str())
    .bind(&k.user_id)
    .bind(&k.sealed_secret)
    .bind(k.active as i64)
    .bind(k.created_at)
    .execute(&mut **tx)
    .await
    .map_err(StoreError::on_insert("access key"))?;
    Ok(())
}

impl Store {
    /// Adds an access key unless the owner already has the maximum (`Conflict`).
    /// Counting and inserting are one transaction.
    pub async fn create_access_key(&self, k: &AccessKey) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let count: i64 = match &k.user_id {
            Some(user) => {
                sqlx::query_scalar("SELECT COUNT(*) FROM access_keys WHERE user_id = $1").bind(user)
            }
            None => sqlx::query_scalar(
                "SELECT COUNT(*) FROM access_keys WHERE account_id = $1 AND user_id IS NULL",
            )
            .bind(k.account_id.as_str()),
        }
        .fetch_one(&mut *tx)
        .await?;
        if count >= MAX_ACCESS_KEYS {
            return Err(StoreError::Conflict("access keys"));
        }
        insert_access_key(&mut tx, k).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn get_access_key(&self, access_key_id: &str) -> Result<AccessKey> {
        let row = sqlx::query("SELECT * FROM access_keys WHERE access_key_id = $1")
            .bind(access_key_id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound("access key"))?;
        access_key(&row)
    }

    /// Keys of a user, or of the root user when `user_id` is `None`.
    pub async fn list_access_keys(&self, account_id: &str, user_id: Option<&str>) -> Result<Vec<AccessKey>> {
        let rows = match user_id {
            Some(u) => {
                sqlx::query("SELECT * FROM access_keys WHERE user_id = $1 ORDER BY created_at").bind(u)
            }
            None => sqlx::query(
                "SELECT * FROM access_keys WHERE account_id = $1 AND user_id IS NULL ORDER BY created_at",
            )
            .bind(account_id),
        }
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(access_key).collect()
    }

    pub async fn set_access_key_active(&self, access_key_id: &str, active: bool) -> Result<()> {
        sqlx::query("UPDATE access_keys SET active = $1 WHERE access_key_id = $2")
            .bind(active as i64)
            .bind(access_key_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn delete_access_key(&self, access_key_id: &str) -> Result<()> {
        sqlx::query("DELETE FROM access_keys WHERE access_key_id = $1")
            .bind(access_key_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Records a use of a key.
    pub async fn touch_access_key(
        &self,
        access_key_id: &str,
        now: i64,
        service: &str,
        region: &str,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE access_keys SET last_used_at = $1, last_used_service = $2, last_used_region = $3
             WHERE access_key_id = $4",
        )
        .bind(now)
        .bind(service)
        .bind(region)
        .bind(access_key_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn insert_login_profile(&self, p: &LoginProfile) -> Result<()> {
        sqlx::query("INSERT INTO login_profiles (user_id, password_hash, reset_required, created_at) VALUES ($1, $2, $3, $4)")
            .bind(&p.user_id)
            .bind(&p.password_hash)
            .bind(p.reset_required as i64)
            .bind(p.created_at)
            .execute(&self.pool)
            .await
            .map_err(StoreError::on_insert("login profile"))?;
        Ok(())
    }

    pub async fn get_login_profile(&self, user_id: &str) -> Result<LoginProfile> {
        let row = sqlx::query("SELECT * FROM login_profiles WHERE user_id = $1")
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound("login profile"))?;
        let history: String = get(&row, "password_history")?;
        Ok(LoginProfile {
            user_id: get(&row, "user_id")?,
            password_hash: get(&row, "password_hash")?,
            password_history: serde_json::from_str(&history)
                .map_err(|_| StoreError::Corrupt("password history"))?,
            reset_required: get::<i64>(&row, "reset_required")? != 0,
            created_at: get(&row, "created_at")?,
        })
    }

    /// Replaces the password hash, keeping the old one at the head of the
    /// history (at most `MAX_PASSWORD_HISTORY` kept).
    pub async fn change_login_password(
        &self,
        profile: &LoginProfile,
        new_hash: &str,
        reset_required: bool,
    ) -> Result<()> {
        let mut history = vec![profile.password_hash.clone()];
        history.extend(profile.password_history.iter().take(MAX_PASSWORD_HISTORY - 1).cloned());
        let history = serde_json::to_string(&history).map_err(|_| StoreError::Corrupt("password history"))?;
        let r = sqlx::query(
            "UPDATE login_profiles SET password_hash = $1, password_history = $2, reset_required = $3 WHERE user_id = $4",
        )
        .bind(new_hash)
        .bind(history)
        .bind(reset_required as i64)
        .bind(&profile.user_id)
        .execute(&self.pool)
        .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound("login profile"));
        }
        Ok(())
    }

    pub async fn set_login_reset_required(&self, user_id: &str, reset_required: bool) -> Result<()> {
        sqlx::query("UPDATE login_profiles SET reset_required = $1 WHERE user_id = $2")
            .bind(reset_required as i64)
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn delete_login_profile(&self, user_id: &str) -> Result<bool> {
        let r = sqlx::query("DELETE FROM login_profiles WHERE user_id = $1")
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected() > 0)
    }

    pub async fn insert_mfa_device(&self, d: &MfaDevice) -> Result<()> {
        sqlx::query(
            "INSERT INTO mfa_devices (serial, account_id, path, sealed_seed, user_id, root_user, enabled_at, created_at)
             VALUES ($1, $2, $3, $4, NULL, 0, NULL, $5)",
        )
        .bind(&d.serial)
        .bind(d.account_id.as_str())
        .bind(&d.path)
        .bind(&d.sealed_seed)
        .bind(d.created_at)
        .execute(&self.pool)
        .await
        .map_err(StoreError::on_insert("MFA device"))?;
        Ok(())
    }

    pub async fn get_mfa_device(&self, serial: &str) -> Result<MfaDevice> {
        let row = sqlx::query("SELECT * FROM mfa_devices WHERE serial = $1")
            .bind(serial)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound("MFA device"))?;
        mfa(&row)
    }

    /// At most `limit` of an account's virtual MFA devices after the serial
    /// `after`, by serial, those assigned (`Some(true)`), unassigned
    /// (`Some(false)`) or all: one page through the (account, serial) index.
    pub async fn page_of_mfa_devices(
        &self,
        account_id: &str,
        assigned: Option<bool>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<MfaDevice>> {
        let rows = sqlx::query(
            "SELECT * FROM mfa_devices WHERE account_id = $1 AND serial > $2
               AND ($3 = 0 OR ($3 = 1) = (enabled_at IS NOT NULL))
             ORDER BY serial LIMIT $4",
        )
        .bind(account_id)
        .bind(after.unwrap_or_default())
        .bind(match assigned {
            None => 0_i64,
            Some(true) => 1,
            Some(false) => 2,
        })
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(mfa).collect()
    }

    /// The enabled MFA devices of a user, or of the account's root user when
    /// `user_id` is `None`.
    pub async fn enabled_mfa_devices(
        &self,
        account_id: &str,
        user_id: Option<&str>,
    ) -> Result<Vec<MfaDevice>> {
        let sql = match user_id {
            Some(_) => "SELECT * FROM mfa_devices WHERE user_id = $2 AND account_id = $1 AND enabled_at IS NOT NULL ORDER BY serial",
            None => "SELECT * FROM mfa_devices WHERE account_id = $1 AND root_user = 1 AND enabled_at IS NOT NULL ORDER BY serial",
        };
        let mut q = sqlx::query(sql).bind(account_id);
        if let Some(id) = user_id {
            q = q.bind(id);
        }
        let rows = q.fetch_all(&self.pool).await?;
        rows.iter().map(mfa).collect()
    }

    /// Assigns a device to a user (or the root user) at `step`; only an
    /// unassigned device can be enabled.
    pub async fn enable_mfa_device(
        &self,
        serial: &str,
        user_id: Option<&str>,
        now: i64,
        step: i64,
    ) -> Result<()> {
        let r = sqlx::query(
            "UPDATE mfa_devices SET user_id = $1, root_user = $2, enabled_at = $3, last_step = $4
             WHERE serial = $5 AND enabled_at IS NULL",
        )
        .bind(user_id)
        .bind(user_id.is_none() as i64)
        .bind(now)
        .bind(step)
        .bind(serial)
        .execute(&self.pool)
        .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::Conflict("MFA device"));
        }
        Ok(())
    }

    pub async fn deactivate_mfa_device(&self, serial: &str) -> Result<()> {
        sqlx::query("UPDATE mfa_devices SET user_id = NULL, root_user = 0, enabled_at = NULL, last_step = NULL WHERE serial = $1")
            .bind(serial)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Moves the last accepted TOTP step forward; false when `step` is not newer,
    /// which refuses a replayed code even across nodes.
    pub async fn advance_mfa_step(&self, serial: &str, step: i64) -> Result<bool> {
        let r = sqlx::query("UPDATE mfa_devices SET last_step = $1 WHERE serial = $2 AND (last_step IS NULL OR last_step < $1)")
            .bind(step)
            .bind(serial)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected() > 0)
    }

    pub async fn delete_mfa_device(&self, serial: &str) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let r = sqlx::query("DELETE FROM mfa_devices WHERE serial = $1 AND enabled_at IS NULL")
            .bind(serial)
            .execute(&mut *tx)
            .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::Conflict("MFA device in use"));
        }
        sqlx::query("DELETE FROM tags WHERE resource = $1").bind(serial).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }
}

impl Store {
    /// Counts one more session request by `principal` in the hour starting at
    /// `window_start`; answers the count including it. One statement, so
    /// concurrent requests on any node each get their own number.
    pub async fn count_issuance(&self, principal: &str, window_start: i64) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO issuance_counts (principal, window_start, issued) VALUES ($1, $2, 1)
             ON CONFLICT (principal, window_start) DO UPDATE SET issued = issuance_counts.issued + 1
             RETURNING issued",
        )
        .bind(principal)
        .bind(window_start)
        .fetch_one(&self.pool)
        .await?)
    }

    /// Forgets the hours that started before `before`.
    pub async fn purge_issuance_counts(&self, before: i64) -> Result<u64> {
        let r = sqlx::query("DELETE FROM issuance_counts WHERE window_start < $1")
            .bind(before)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected())
    }
}
