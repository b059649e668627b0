//! Identity providers: listed, registered (metadata pasted, uploaded or
//! fetched from a URL that is then refreshed on a schedule), shown with
//! their certificates, the roles that trust them and their last use, their
//! switches changed and deleted — each through the IAM call it mirrors.
use super::{structs_in, text_in, AdminConsole, AdminError, Reply};
use crate::audit::AuditEvent;
use crate::domain::{TAG_ALLOW_SHA1_SIGNATURES, TAG_METADATA_URL, TAG_REQUIRE_SP_INITIATED};
use crate::iam::Caller;

/// Certificates this close to their end are flagged.
const WARNING_DAYS: i64 = 30;
/// Roles read per ListRoles page, and pages read at most.
const ROLE_PAGE: &str = "1000";
const MAX_ROLE_PAGES: usize = 100;

pub struct ProviderRow {
    pub name: String,
    pub arn: String,
    pub created: String,
    pub valid_until: Option<String>,
}

pub struct CertificateRow {
    pub fingerprint: String,
    pub not_after: String,
    pub days_left: i64,
    pub warning: bool,
}

/// The switches a provider's `idbroker:` tags spell, as settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ProviderSwitches {
    pub require_sp_initiated: bool,
    pub allow_sha1: bool,
}

pub struct ProviderDetail {
    pub name: String,
    pub arn: String,
    pub uuid: String,
    pub entity_id: String,
    /// Why the metadata no longer validates, when it does not.
    pub metadata_problem: Option<String>,
    pub certificates: Vec<CertificateRow>,
    pub encryption_mode: String,
    pub private_keys: Vec<String>,
    pub trusting_roles: Vec<String>,
    pub switches: ProviderSwitches,
    pub metadata_url: Option<String>,
    pub last_success: Option<String>,
    pub last_failure: Option<(String, String)>,
}

fn arn_of(caller: &Caller, name: &str) -> String {
    crate::domain::Arn::saml_provider(&caller.account_id, name)
}

/// Whether `document` (a trust policy) allows `provider` as a Federated principal.
fn trusts(document: &str, provider: &str) -> bool {
    use crate::iam::policy::{Policy, PolicyKind, PrincipalType};
    Policy::parse(document, PolicyKind::Resource)
        .is_ok_and(|p| p.statements.iter().any(|s| s.allows_named(PrincipalType::Federated, provider)))
}

impl AdminConsole {
    /// `ListSAMLProviders`: the account's providers but the built-in IdP's.
    pub async fn providers(
        &self,
        caller: &Caller,
        events: &mut Vec<AuditEvent>,
    ) -> Result<Vec<ProviderRow>, AdminError> {
        let reply = self.read(caller, "ListSAMLProviders", &[], events).await?;
        Ok(reply
            .structs("SAMLProviderList")
            .into_iter()
            .filter_map(|p| {
                let arn = text_in(p, "Arn")?.to_owned();
                let name = arn.rsplit_once('/')?.1.to_owned();
                (name != crate::domain::BUILTIN_PROVIDER).then(|| ProviderRow {
                    name,
                    created: text_in(p, "CreateDate").unwrap_or_default().to_owned(),
                    valid_until: text_in(p, "ValidUntil").map(str::to_owned),
                    arn,
                })
            })
            .collect())
    }

    /// One provider (`GetSAMLProvider`), with the roles whose trust policy
    /// names it (`ListRoles`) and its last use.
    pub async fn provider(
        &self,
        caller: &Caller,
        name: &str,
        events: &mut Vec<AuditEvent>,
    ) -> Result<ProviderDetail, AdminError> {
        let arn = arn_of(caller, name);
        let reply = self.read(caller, "GetSAMLProvider", &[("SAMLProviderArn", &arn)], events).await?;
        let (entity_id, certificates, metadata_problem) = self.certificates_of(&reply);
        let tags: Vec<(String, String)> = structs_in(&reply.0, "Tags")
            .into_iter()
            .filter_map(|t| Some((text_in(t, "Key")?.to_owned(), text_in(t, "Value")?.to_owned())))
            .collect();
        let tag = |key: &str| tags.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
        let used = self.store.saml_provider_use(&arn).await?;
        Ok(ProviderDetail {
            name: name.to_owned(),
            uuid: reply.text("SAMLProviderUUID").unwrap_or_default().to_owned(),
            entity_id,
            metadata_problem,
            certificates,
            encryption_mode: reply.text("AssertionEncryptionMode").unwrap_or("Allowed").to_owned(),
            private_keys: reply
                .structs("PrivateKeyList")
                .into_iter()
                .filter_map(|k| text_in(k, "KeyId").map(str::to_owned))
                .collect(),
            trusting_roles: self.roles_trusting(caller, &arn, events).await?,
            switches: ProviderSwitches {
                require_sp_initiated: tag(TAG_REQUIRE_SP_INITIATED) == Some("true"),
                allow_sha1: tag(TAG_ALLOW_SHA1_SIGNATURES) == Some("true"),
            },
            metadata_url: tag(TAG_METADATA_URL).map(str::to_owned),
            last_success: used.last_success_at.map(crate::domain::iso_time),
            last_failure: used.last_failure.map(|(t, check)| (crate::domain::iso_time(t), check)),
            arn,
        })
    }

    /// A provider's signing certificates only (`GetSAMLProvider`), for the overview.
    pub async fn provider_certificates(
        &self,
        caller: &Caller,
        name: &str,
        events: &mut Vec<AuditEvent>,
    ) -> Result<Vec<CertificateRow>, AdminError> {
        let arn = arn_of(caller, name);
        let reply = self.read(caller, "GetSAMLProvider", &[("SAMLProviderArn", &arn)], events).await?;
        Ok(self.certificates_of(&reply).1)
    }

    /// The entity id and certificates of a `GetSAMLProvider` answer's
    /// metadata, or why it no longer validates.
    fn certificates_of(&self, reply: &Reply) -> (String, Vec<CertificateRow>, Option<String>) {
        let now = self.clock.now();
        let metadata = reply.text("SAMLMetadataDocument").unwrap_or_default();
        match crate::saml::validate_idp_metadata(metadata, now) {
            Ok(m) => {
                let rows = m
                    .signing_certificates
                    .iter()
                    .map(|der| {
                        let days_left =
                            crate::crypto::certificate_days_left(der, now.timestamp()).unwrap_or(0);
                        CertificateRow {
                            fingerprint: crate::crypto::sha256_hex(der),
                            not_after: crate::crypto::certificate_not_after(der)
                                .map(crate::domain::iso_time)
                                .unwrap_or_default(),
                            days_left,
                            warning: days_left <= WARNING_DAYS,
                        }
                    })
                    .collect();
                (m.entity_id, rows, None)
            }
            Err(e) => (String::new(), Vec::new(), Some(e.to_string())),
        }
    }

    /// The ARNs of the account's roles whose trust policy names `provider`.
    pub async fn roles_trusting(
        &self,
        caller: &Caller,
        provider: &str,
        events: &mut Vec<AuditEvent>,
    ) -> Result<Vec<String>, AdminError> {
        let mut found = Vec::new();
        let mut marker: Option<String> = None;
        for _ in 0..MAX_ROLE_PAGES {
            let mut params = vec![("MaxItems", ROLE_PAGE)];
            if let Some(m) = &marker {
                params.push(("Marker", m));
            }
            let reply: Reply = self.read(caller, "ListRoles", &params, events).await?;
            for role in reply.structs("Roles") {
                let document = text_in(role, "AssumeRolePolicyDocument").unwrap_or_default();
                let decoded = percent_encoding::percent_decode_str(document).decode_utf8_lossy();
                if trusts(&decoded, provider) {
                    found.extend(text_in(role, "Arn").map(str::to_owned));
                }
            }
            marker = reply.text("Marker").map(str::to_owned);
            if reply.text("IsTruncated") != Some("true") || marker.is_none() {
                break;
            }
        }
        Ok(found)
    }

    /// Registers a provider (`CreateSAMLProvider`) from a metadata document,
    /// or from a URL fetched now and then kept current (the
    /// `idbroker:MetadataURL` tag the scheduled refresh reads).
    pub async fn register_provider(
        &self,
        caller: &Caller,
        name: &str,
        metadata: Option<&str>,
        metadata_url: Option<&str>,
    ) -> (Result<(), AdminError>, Vec<AuditEvent>) {
        let document =
            match (metadata.filter(|m| !m.trim().is_empty()), metadata_url.filter(|u| !u.is_empty())) {
                (Some(m), None) => m.to_owned(),
                (None, Some(url)) => match self.operator.fetcher.text(url).await {
                    Ok(d) => d,
                    Err(e) => {
                        let message = format!("The metadata could not be fetched from {url}: {e}");
                        return (Err(AdminError::Refused("InvalidInput", message)), Vec::new());
                    }
                },
                _ => {
                    let message = "Give the metadata document or its URL (one of them).".to_owned();
                    return (Err(AdminError::Refused("InvalidInput", message)), Vec::new());
                }
            };
        let mut params = vec![("Name", name), ("SAMLMetadataDocument", document.as_str())];
        if let Some(url) = metadata_url.filter(|u| !u.is_empty()) {
            params.extend([("Tags.member.1.Key", TAG_METADATA_URL), ("Tags.member.1.Value", url)]);
        }
        let (outcome, event) = self.call(caller, "CreateSAMLProvider", &params).await;
        (outcome.map(|_| ()), vec![event])
    }

    /// Sets the switches as the `idbroker:` tags that hold them
    /// (`TagSAMLProvider` for those on, `UntagSAMLProvider` for those off).
    pub async fn set_switches(
        &self,
        caller: &Caller,
        name: &str,
        switches: ProviderSwitches,
    ) -> (Result<(), AdminError>, Vec<AuditEvent>) {
        let arn = arn_of(caller, name);
        let mut on = Vec::new();
        let mut off = Vec::new();
        for (key, value) in [
            (TAG_REQUIRE_SP_INITIATED, switches.require_sp_initiated),
            (TAG_ALLOW_SHA1_SIGNATURES, switches.allow_sha1),
        ] {
            if value {
                on.push(key)
            } else {
                off.push(key)
            }
        }
        let mut events = Vec::new();
        let mut tag_params: Vec<(String, String)> = vec![("SAMLProviderArn".into(), arn.clone())];
        for (i, key) in on.iter().enumerate() {
            tag_params.push((format!("Tags.member.{}.Key", i + 1), (*key).to_owned()));
            tag_params.push((format!("Tags.member.{}.Value", i + 1), "true".to_owned()));
        }
        let mut untag_params: Vec<(String, String)> = vec![("SAMLProviderArn".into(), arn)];
        for (i, key) in off.iter().enumerate() {
            untag_params.push((format!("TagKeys.member.{}", i + 1), (*key).to_owned()));
        }
        for (action, params, any) in [
            ("TagSAMLProvider", tag_params, !on.is_empty()),
            ("UntagSAMLProvider", untag_params, !off.is_empty()),
        ] {
            if !any {
                continue;
            }
            let borrowed: Vec<(&str, &str)> = params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let (outcome, event) = self.call(caller, action, &borrowed).await;
            events.push(event);
            if let Err(e) = outcome {
                return (Err(e), events);
            }
        }
        (Ok(()), events)
    }

    /// `DeleteSAMLProvider`.
    pub async fn delete_provider(
        &self,
        caller: &Caller,
        name: &str,
    ) -> (Result<(), AdminError>, Vec<AuditEvent>) {
        let arn = arn_of(caller, name);
        let (outcome, event) = self.call(caller, "DeleteSAMLProvider", &[("SAMLProviderArn", &arn)]).await;
        (outcome.map(|_| ()), vec![event])
    }
}

#[cfg(test)]
mod tests {
    use super::trusts;

    #[test]
    fn a_trust_policy_names_a_provider_only_as_an_allowed_federated_principal() {
        let p = "arn:aws:iam::111122223333:saml-provider/Corp";
        let allow = |principal: &str| {
            format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{principal},"Action":"sts:AssumeRoleWithSAML"}}]}}"#
            )
        };
        assert!(trusts(&allow(&format!(r#"{{"Federated":"{p}"}}"#)), p));
        assert!(trusts(&allow(&format!(r#"{{"Federated":["x","{p}"]}}"#)), p));
        assert!(!trusts(&allow(r#"{"Federated":"arn:aws:iam::111122223333:saml-provider/Other"}"#), p));
        assert!(!trusts(&allow(&format!(r#"{{"AWS":"{p}"}}"#)), p));
        assert!(!trusts(&allow(&format!(r#"{{"Federated":"{p}"}}"#)).replace("Allow", "Deny"), p));
    }
}
