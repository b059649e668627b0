use super::{get, opt, Found, Result, Store, StoreError};
use crate::domain::{Account, Principal};
use sqlx::any::AnyRow;

fn account(row: &AnyRow) -> Result<Account> {
    Ok(Account {
        account_id: super::account_id(row)?,
        alias: opt(row, "alias")?,
        root_email: get(row, "root_email")?,
        root_password_hash: get(row, "root_password_hash")?,
        password_policy: opt(row, "password_policy")?,
        created_at: get(row, "created_at")?,
    })
}

impl Store {
    /// Creates an account with its first administrator user, that user's
    /// attached policy and access key, all in one transaction.
    pub async fn create_account(
        &self,
        account: &Account,
        admin: &Principal,
        admin_policy_arn: &str,
        admin_key: &crate::domain::AccessKey,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO accounts (account_id, alias, root_email, root_password_hash, password_policy, created_at)
             VALUES ($1, NULL, $2, $3, NULL, $4)",
        )
        .bind(account.account_id.as_str())
        .bind(&account.root_email)
        .bind(&account.root_password_hash)
        .bind(account.created_at)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::on_insert("account"))?;
        super::principals::insert_principal(&mut tx, admin).await?;
        super::policies::insert_attachment(&mut tx, &admin.id, admin_policy_arn).await?;
        super::credentials::insert_access_key(&mut tx, admin_key).await?;
        tx.commit().await?;
        Ok(())
    }

    /// An account's alias: `None` when it has none (or no such account exists).
    pub async fn account_alias(&self, account_id: &str) -> Result<Option<String>> {
        Ok(self.get_account(account_id).await.found()?.and_then(|a| a.alias))
    }

    pub async fn get_account(&self, account_id: &str) -> Result<Account> {
        let row = sqlx::query("SELECT * FROM accounts WHERE account_id = $1")
            .bind(account_id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound("account"))?;
        account(&row)
    }

    pub async fn find_account_by_alias(&self, alias: &str) -> Result<Account> {
        let row = sqlx::query("SELECT * FROM accounts WHERE alias = $1")
            .bind(alias)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound("account"))?;
        account(&row)
    }

    pub async fn find_account_by_root_email(&self, email: &str) -> Result<Vec<Account>> {
        let rows = sqlx::query("SELECT * FROM accounts WHERE root_email = $1 ORDER BY account_id")
            .bind(email)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(account).collect()
    }

    pub async fn set_account_alias(&self, account_id: &str, alias: Option<&str>) -> Result<()> {
        sqlx::query("UPDATE accounts SET alias = $1 WHERE account_id = $2")
            .bind(alias)
            .bind(account_id)
            .execute(&self.pool)
            .await
            .map_err(StoreError::on_insert("account alias"))?;
        Ok(())
    }

    pub async fn set_password_policy(&self, account_id: &str, policy_json: Option<&str>) -> Result<()> {
        sqlx::query("UPDATE accounts SET password_policy = $1 WHERE account_id = $2")
            .bind(policy_json)
            .bind(account_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Counts of what an account holds, for GetAccountSummary.
    pub async fn account_counts(&self, account_id: &str) -> Result<Vec<(String, i64)>> {
        let queries: [(&str, &str); 7] = [
            ("Users", "SELECT COUNT(*) FROM principals WHERE account_id = $1 AND kind = 'user'"),
            ("Groups", "SELECT COUNT(*) FROM principals WHERE account_id = $1 AND kind = 'group'"),
            ("Roles", "SELECT COUNT(*) FROM principals WHERE account_id = $1 AND kind = 'role'"),
            ("Policies", "SELECT COUNT(*) FROM managed_policies WHERE account_id = $1"),
            ("MFADevices", "SELECT COUNT(*) FROM mfa_devices WHERE account_id = $1"),
            (
                "MFADevicesInUse",
                "SELECT COUNT(*) FROM mfa_devices WHERE account_id = $1 AND enabled_at IS NOT NULL",
            ),
            ("Providers", "SELECT COUNT(*) FROM saml_providers WHERE account_id = $1"),
        ];
        let mut out = Vec::new();
        for (name, sql) in queries {
            let n: i64 = sqlx::query_scalar(sql).bind(account_id).fetch_one(&self.pool).await?;
            out.push((name.to_owned(), n));
        }
        Ok(out)
    }
}

impl Store {
    pub async fn list_account_ids(&self) -> Result<Vec<crate::domain::AccountId>> {
        let rows =
            sqlx::query("SELECT account_id FROM accounts ORDER BY account_id").fetch_all(&self.pool).await?;
        rows.iter().map(super::account_id).collect()
    }
}
