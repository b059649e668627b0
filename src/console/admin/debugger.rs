//! The assertion debugger: a pasted `SAMLResponse` is verified exactly as
//! the ACS and AssumeRoleWithSAML verify it, with the providers of the
//! administrator's account, and nothing is recorded (no credentials, no
//! replay-cache entry). The report lists every check in order, the claims,
//! the roles offered, and for a failure one sentence saying what to change
//! on which side.
use super::{AdminConsole, AdminError, DEBUG_RESPONSE};
use crate::audit::AuditEvent;
use crate::domain::SamlProvider;
use crate::iam::Caller;
use crate::saml::{claimed_facts, ClaimedFacts, VerifiedAssertion};
use crate::sts::{SamlClaims, SessionAsk, StsError};
use base64::Engine;

/// Every check, in the order the verification makes them (design.md's codes).
const CHECKS: &[(&str, &str)] = &[
    ("structure", "well-formed XML: one Response, one Assertion, nothing out of place"),
    ("algorithm", "signature and digest algorithms are allowed"),
    ("signature", "a signature covers the Assertion and verifies with the provider's metadata"),
    ("encryption", "an encrypted Assertion opens with the provider's keys; a plain one is allowed"),
    ("issuer", "the Issuer is the provider's entity id"),
    ("time-window", "issued, not yet expired and not before its time, at idbroker's clock"),
    ("subject", "the Subject has a usable NameID"),
    ("recipient", "a bearer confirmation names this ACS as Recipient"),
    ("audience", "the Audience is idbroker's SP entity id"),
    ("authn-statement", "exactly one AuthnStatement"),
    ("status", "the Status is Success"),
    ("destination", "the Destination is this ACS"),
    ("in-response-to", "the Response and its confirmation answer the same request"),
    ("replay", "the assertion has not been used before"),
    ("role", "the Role attribute offers a role of this account through this provider"),
    ("trust-policy", "the role's trust policy lets this provider in"),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckOutcome {
    Passed,
    Failed,
    NotReached,
}

pub struct CheckRow {
    pub code: &'static str,
    pub what: &'static str,
    pub outcome: CheckOutcome,
}

impl CheckRow {
    pub fn outcome_label(&self) -> &'static str {
        match self.outcome {
            CheckOutcome::Passed => "passed",
            CheckOutcome::Failed => "FAILED",
            CheckOutcome::NotReached => "not reached",
        }
    }

    pub fn outcome_class(&self) -> &'static str {
        match self.outcome {
            CheckOutcome::Passed => "passed",
            CheckOutcome::Failed => "failed",
            CheckOutcome::NotReached => "not-reached",
        }
    }
}

pub struct RoleRow {
    pub role: String,
    pub provider: String,
    /// "trusted", or why not.
    pub verdict: String,
    pub trusted: bool,
}

pub struct DebugReport {
    pub checks: Vec<CheckRow>,
    pub failed_check: Option<&'static str>,
    /// What to change, and on which side.
    pub advice: Option<String>,
    /// The provider the response was checked against.
    pub provider: Option<String>,
    /// Claims as read: verified ones when it verified, claimed ones otherwise.
    pub verified: bool,
    pub claims: Vec<(&'static str, String)>,
    pub attributes: Vec<(String, String)>,
    pub now: String,
    pub skew_seconds: i64,
    pub roles: Vec<RoleRow>,
}

/// The XML of a pasted response: base64 as posted to an ACS, or XML as is.
fn pasted_xml(input: &str) -> Option<String> {
    let trimmed = input.trim();
    if trimmed.starts_with('<') {
        return Some(trimmed.to_owned());
    }
    let compact: String = trimmed.chars().filter(|c| !c.is_whitespace()).collect();
    let bytes = base64::engine::general_purpose::STANDARD.decode(compact).ok()?;
    String::from_utf8(bytes).ok()
}

fn fingerprints(ders: &[Vec<u8>]) -> Vec<String> {
    ders.iter().map(|d| crate::crypto::sha256_hex(d)).collect()
}

impl AdminConsole {
    /// The report for `input`; authorised with `idbroker:DebugSAMLResponse`,
    /// and with `iam:GetSAMLProvider` on the provider it is checked against.
    pub async fn debug_response(
        &self,
        caller: &Caller,
        input: &str,
        events: &mut Vec<AuditEvent>,
    ) -> Result<DebugReport, AdminError> {
        self.authorize(caller, DEBUG_RESPONSE, "*").await?;
        let now = self.clock.now();
        let mut report = DebugReport {
            checks: Vec::new(),
            failed_check: None,
            advice: None,
            provider: None,
            verified: false,
            claims: Vec::new(),
            attributes: Vec::new(),
            now: crate::domain::iso_time(now.timestamp()),
            skew_seconds: crate::sts::CLOCK_SKEW_SECONDS,
            roles: Vec::new(),
        };
        let Some(xml) = pasted_xml(input) else {
            return Ok(report.failed("structure", "This is neither base64 nor XML: paste the SAMLResponse form field as the browser posts it, or the decoded XML.".into()));
        };
        let facts = claimed_facts(&xml);
        report.claim("Issuer (claimed)", facts.issuer.clone());
        report.claim("Destination (claimed)", facts.destination.clone());
        let Some(issuer) = facts.issuer.clone() else {
            return Ok(report.failed(
                "structure",
                "The response names no Issuer, or is not a well-formed SAML Response.".into(),
            ));
        };
        let providers: Vec<SamlProvider> = self
            .store
            .saml_providers_by_entity_id(&issuer)
            .await?
            .into_iter()
            .filter(|p| p.account_id == caller.account_id)
            .collect();
        let Some(provider) = providers.into_iter().next() else {
            return Ok(report.failed("issuer", format!("No SAML provider of this account has the entity id {issuer}: register the IdP's metadata here, or have the IdP send the entity id of a registered provider.")));
        };
        self.read(caller, "GetSAMLProvider", &[("SAMLProviderArn", &provider.arn)], events).await?;
        report.provider = Some(provider.name.clone());

        let verified = self.sts.verify_without_use(&xml, &provider);
        let assertion = match verified {
            Ok(a) => a,
            Err(e) => {
                let check = e.failed_check().unwrap_or("structure");
                let advice = self.advice(check, &e, &facts, &provider, now);
                return Ok(report.failed(check, advice));
            }
        };
        report.verified = true;
        report.read_claims(&assertion);
        if self.sts.was_used(&assertion).await.map_err(|e| AdminError::Internal(e.to_string()))? {
            return Ok(report.failed("replay", "This assertion was used already: an IdP must issue a new assertion for every sign-in (a browser's back button replays the old one).".into()));
        }
        let claims = match SamlClaims::of(&assertion) {
            Ok(c) => c,
            Err(e) => {
                let check = e.failed_check().unwrap_or("subject");
                return Ok(report.failed(check, format!("{e}: fix the attribute at the IdP.")));
            }
        };
        let mut untrusted = false;
        for (role, provider_arn) in &claims.roles {
            let (trusted, verdict, check) = if *provider_arn != provider.arn {
                (false, "names another provider than the one that signed".to_owned(), "role")
            } else {
                match self.sts.trust_claims(&provider, &claims, role, SessionAsk::default()).await {
                    Ok(_) => (true, "trusted: a sign-in would get this role".to_owned(), ""),
                    Err(e) => (false, role_refusal(&e), e.failed_check().unwrap_or("role")),
                }
            };
            untrusted |= check == "trust-policy";
            report.roles.push(RoleRow {
                role: role.clone(),
                provider: provider_arn.clone(),
                verdict,
                trusted,
            });
        }
        if !report.roles.iter().any(|r| r.trusted) {
            if untrusted {
                let advice = format!("The roles' trust policies do not let {} in: add it as Federated principal (with Action sts:AssumeRoleWithSAML and a SAML:aud condition of {}), or fix the conditions they set.", provider.arn, self.sts.acs_urls(&provider)[0]);
                return Ok(report.failed("trust-policy", advice));
            }
            let advice = if claims.roles.is_empty() {
                "The assertion offers no role: have the IdP send the https://aws.amazon.com/SAML/Attributes/Role attribute as role-ARN,provider-ARN pairs.".to_owned()
            } else {
                format!("None of the roles offered is a role of this account offered through {}: have the IdP send role-ARN,provider-ARN pairs naming this provider and roles that exist.", provider.arn)
            };
            return Ok(report.failed("role", advice));
        }
        report.mark_all_passed();
        Ok(report)
    }

    /// The report for a refused response kept for this account, by the id
    /// its audit event names; None when it is no longer kept.
    pub async fn debug_kept(
        &self,
        caller: &Caller,
        id: &str,
        events: &mut Vec<AuditEvent>,
    ) -> Result<Option<(String, DebugReport)>, AdminError> {
        self.authorize(caller, DEBUG_RESPONSE, "*").await?;
        let Some(response) = self.kept.open(id, &caller.account_id).await? else { return Ok(None) };
        let report = self.debug_response(caller, &response, events).await?;
        Ok(Some((response, report)))
    }

    /// One sentence: what failed, and what to change on which side.
    fn advice(
        &self,
        check: &str,
        error: &StsError,
        facts: &ClaimedFacts,
        provider: &SamlProvider,
        now: chrono::DateTime<chrono::Utc>,
    ) -> String {
        let metadata = crate::saml::validate_idp_metadata(&provider.metadata, now).ok();
        let expected = metadata.as_ref().map(|m| fingerprints(&m.signing_certificates)).unwrap_or_default();
        let acs = self.sts.acs_urls(provider).join(" or ");
        let list = |v: &[String]| if v.is_empty() { "none".to_owned() } else { v.join(", ") };
        match check {
            "signature" if facts.signature_methods.is_empty() => "Neither the Response nor the Assertion is signed: set the IdP to sign the Assertion (or the Response).".into(),
            "signature" => {
                let sent = fingerprints(&facts.signing_certificates);
                match sent.iter().find(|f| !expected.contains(f)) {
                    Some(f) => format!("The IdP signs with a certificate that is not in this provider's metadata: fingerprint {f}, expected one of {}. Update the provider's metadata with the IdP's current certificate (or give it a metadata URL).", list(&expected)),
                    None => format!("The signature does not verify with the provider's certificates ({}): the signed content was changed after signing, or the IdP signs with another key than the certificate it names.", list(&expected)),
                }
            }
            "algorithm" => format!("The IdP signs with {}, which idbroker refuses: set it to RSA-SHA256 (or better), or turn on this provider's SHA-1 opt-in if it cannot.", list(&facts.signature_methods)),
            "issuer" => format!("The Issuer is {} but this provider's metadata is for {}: have the IdP send its own entity id, or register its current metadata.", facts.issuer.as_deref().unwrap_or("missing"), provider.entity_id),
            "audience" => format!("The Audience is {} but idbroker expects {}: set the IdP's audience (relying party identifier) for idbroker to that.", list(&facts.audiences), self.sts.sp_entity_id()),
            "recipient" => format!("The bearer confirmation's Recipient is {} but idbroker's ACS is {acs}: set the IdP's ACS URL for idbroker to that.", list(&facts.recipients)),
            "destination" => format!("The Destination is {} but idbroker's ACS is {acs}: set the IdP's ACS URL for idbroker to that.", facts.destination.as_deref().unwrap_or("missing")),
            "time-window" => format!("Issued {}, valid from {} until {}, but idbroker's clock says {} (with {} s of skew): the assertion has expired or is not yet valid; send a fresh one, or check the IdP's clock.", facts.issue_instant.as_deref().unwrap_or("?"), facts.not_before.as_deref().unwrap_or("?"), facts.not_on_or_after.as_deref().unwrap_or("?"), crate::domain::iso_time(now.timestamp()), crate::sts::CLOCK_SKEW_SECONDS),
            "status" => format!("The IdP answered with status {}: it refused the sign-in itself; its own logs say why.", facts.status.as_deref().unwrap_or("missing")),
            "encryption" if provider.private_keys.is_empty() && facts.encrypted => "The assertion is encrypted but this provider has no private key: add the private key matching the certificate the IdP encrypts to (AddPrivateKey).".into(),
            "encryption" if facts.encrypted => "The assertion does not open with this provider's private keys, or what it holds is not a signed Assertion: give the provider the key matching the IdP's encryption certificate.".into(),
            "encryption" => "This provider requires encrypted assertions and this one is in clear: turn on assertion encryption at the IdP, or set the mode to Allowed.".into(),
            "in-response-to" => "The Response and its Assertion answer different requests: the IdP must put the same InResponseTo in both.".into(),
            _ => format!("{error}: correct this at the IdP."),
        }
    }
}

/// Why a role would be refused, in the administrator's words.
fn role_refusal(e: &StsError) -> String {
    match e.failed_check() {
        Some("trust-policy") => "its trust policy does not let this provider (with these claims) in".into(),
        Some("role") => "no such role in this account".into(),
        Some("time-window") => "the assertion has expired".into(),
        _ => e.to_string(),
    }
}

impl DebugReport {
    fn claim(&mut self, label: &'static str, value: Option<String>) {
        if let Some(v) = value {
            self.claims.push((label, v));
        }
    }

    fn read_claims(&mut self, a: &VerifiedAssertion) {
        self.claims.retain(|(label, _)| !label.ends_with("(claimed)"));
        self.claims.push(("Issuer", a.issuer().to_owned()));
        self.claims.push(("NameID", a.name_id().to_owned()));
        self.claims.extend(a.name_id_format().map(|f| ("NameID format", f.to_owned())));
        self.claims.push(("Recipient", a.recipient().to_owned()));
        self.claims.push(("Valid until", crate::domain::iso_time(a.not_on_or_after().timestamp())));
        self.claims.extend(
            a.session_not_on_or_after().map(|t| ("Session until", crate::domain::iso_time(t.timestamp()))),
        );
        self.claims.extend(a.in_response_to().map(|r| ("InResponseTo", r.to_owned())));
        for (name, values) in a.attributes() {
            for v in values {
                self.attributes.push((name.clone(), v.clone()));
            }
        }
    }

    /// Checks before `code` passed, `code` failed, the rest were not reached.
    fn failed(mut self, code: &'static str, advice: String) -> DebugReport {
        let at = CHECKS.iter().position(|(c, _)| *c == code).unwrap_or(0);
        self.checks = CHECKS
            .iter()
            .enumerate()
            .map(|(i, (c, what))| CheckRow {
                code: c,
                what,
                outcome: match i.cmp(&at) {
                    std::cmp::Ordering::Less => CheckOutcome::Passed,
                    std::cmp::Ordering::Equal => CheckOutcome::Failed,
                    std::cmp::Ordering::Greater => CheckOutcome::NotReached,
                },
            })
            .collect();
        self.failed_check = Some(CHECKS[at].0);
        self.advice = Some(advice);
        self
    }

    fn mark_all_passed(&mut self) {
        self.checks = CHECKS
            .iter()
            .map(|(c, what)| CheckRow { code: c, what, outcome: CheckOutcome::Passed })
            .collect();
    }
}
