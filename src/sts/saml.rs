//! AssumeRoleWithSAML: a signed assertion from a registered SAML provider,
//! strictly validated, exchanged for temporary credentials of a role that the
//! assertion names and whose trust policy accepts the provider. Unsigned, as on
//! AWS: the assertion is the credential.
use super::session::{issue_role_session, SessionRequest};
use super::{trust, Sts, StsError};
use crate::crypto;
use crate::domain::{Arn, AssertionEncryptionMode, EntityKind, ProviderKey, SamlProvider};
use crate::iam::policy::{PrincipalType, RequestContext, RequestPrincipal};
use crate::query::{text, Node, Params};
use crate::saml::{verify_response, Decryption, SamlError, ServiceEndpoint, TrustedIdp, VerifiedAssertion};
use crate::store::{AssertionUse, Found, StoreError};
use base64::Engine;

const ATTR: &str = "https://aws.amazon.com/SAML/Attributes/";
/// AWS's limit on `SAMLAssertion`, in characters.
const MAX_ASSERTION_CHARS: usize = 100_000;
pub const CLOCK_SKEW_SECONDS: i64 = 120;
const NAMEID_PREFIX: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:";

fn rejected(e: SamlError) -> StsError {
    match e {
        SamlError::Expired => StsError::ExpiredTokenException { check: e.check() },
        _ => StsError::InvalidIdentityToken {
            message: format!("Invalid SAML assertion: {e}"),
            check: e.check(),
        },
    }
}

fn claim_error(message: &str, check: &'static str) -> StsError {
    StsError::InvalidIdentityToken { message: message.to_owned(), check }
}

/// The `Role` pairs of the assertion, each `role-arn,provider-arn` (either order).
fn role_pairs(a: &VerifiedAssertion) -> Vec<(String, String)> {
    a.attribute(&format!("{ATTR}Role"))
        .unwrap_or_default()
        .iter()
        .filter_map(|v| {
            let (x, y) = v.split_once(',')?;
            if x.contains(":saml-provider/") {
                Some((y.to_owned(), x.to_owned()))
            } else {
                Some((x.to_owned(), y.to_owned()))
            }
        })
        .collect()
}

fn single<'a>(a: &'a VerifiedAssertion, name: &str) -> Option<&'a str> {
    a.attribute(&format!("{ATTR}{name}")).and_then(|v| v.first()).map(String::as_str)
}

/// What a verified assertion says, checked against AWS's attribute rules.
/// Kept between the ACS and the role picker, so it is serializable.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct SamlClaims {
    pub issuer: String,
    pub name_id: String,
    pub name_id_format: Option<String>,
    pub recipient: String,
    pub session_name: String,
    pub session_duration: Option<i64>,
    pub session_not_on_or_after: Option<i64>,
    /// The end of the assertion's own validity: a role chosen later (the
    /// picker, switching roles) is refused after it.
    pub valid_until: i64,
    pub tags: Vec<(String, String)>,
    pub transitive_tag_keys: Vec<String>,
    pub source_identity: Option<String>,
    /// `(role ARN, provider ARN)` pairs.
    pub roles: Vec<(String, String)>,
}

impl SamlClaims {
    pub fn of(assertion: &VerifiedAssertion) -> Result<SamlClaims, StsError> {
        let session = single(assertion, "RoleSessionName")
            .ok_or_else(|| claim_error("RoleSessionName is missing", "subject"))?;
        let valid_name =
            (2..=64).contains(&session.len()) && session.chars().all(crate::domain::is_name_char);
        if !valid_name {
            return Err(claim_error("RoleSessionName is not valid", "subject"));
        }
        let session_duration = match single(assertion, "SessionDuration") {
            None => None,
            Some(v) => match v.parse::<i64>() {
                Ok(n) if (900..=43_200).contains(&n) => Some(n),
                _ => return Err(claim_error("SessionDuration is not valid", "duration")),
            },
        };
        let tags: Vec<(String, String)> = assertion
            .attributes()
            .iter()
            .filter_map(|(n, v)| {
                Some((n.strip_prefix(&format!("{ATTR}PrincipalTag:"))?.to_owned(), v.first()?.clone()))
            })
            .collect();
        let source_identity = single(assertion, "SourceIdentity").map(str::to_owned);
        if source_identity
            .as_ref()
            .is_some_and(|s| !(2..=64).contains(&s.len()) || s.to_ascii_lowercase().starts_with("aws:"))
        {
            return Err(claim_error("SourceIdentity is not valid", "subject"));
        }
        Ok(SamlClaims {
            issuer: assertion.issuer().to_owned(),
            name_id: assertion.name_id().to_owned(),
            name_id_format: assertion.name_id_format().map(str::to_owned),
            recipient: assertion.recipient().to_owned(),
            session_name: session.to_owned(),
            session_duration,
            session_not_on_or_after: assertion.session_not_on_or_after().map(|t| t.timestamp()),
            valid_until: assertion.not_on_or_after().timestamp(),
            tags,
            transitive_tag_keys: assertion
                .attribute(&format!("{ATTR}TransitiveTagKeys"))
                .unwrap_or_default()
                .to_vec(),
            source_identity,
            roles: role_pairs(assertion),
        })
    }

    fn sub_type(&self) -> String {
        match &self.name_id_format {
            Some(f) => f.strip_prefix(NAMEID_PREFIX).unwrap_or(f).to_owned(),
            None => "unspecified".to_owned(),
        }
    }
}

/// Temporary credentials of a role session made from SAML claims.
pub struct RoleSession {
    pub role_arn: String,
    pub assumed_role_arn: String,
    pub account_id: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
    pub expiration: i64,
    nodes: Vec<Node>,
    name_qualifier: String,
}

/// What the caller asks of the session besides the role.
#[derive(Default)]
pub struct SessionAsk {
    pub duration: Option<i64>,
    pub policy: Option<String>,
    pub policy_arns: Vec<String>,
}

/// What a Response must be addressed to: our SP's entity id and ACS.
pub(super) fn verification_endpoint(public_url: &crate::domain::PublicUrl) -> ServiceEndpoint {
    ServiceEndpoint {
        audiences: vec![public_url.sp_entity_id()],
        recipients: vec![public_url.acs()],
        max_bytes: MAX_ASSERTION_CHARS,
        clock_skew: chrono::Duration::seconds(CLOCK_SKEW_SECONDS),
    }
}

/// Verifies a Response against one provider's metadata keys, decrypting
/// with its private keys (about 50 µs of CPU for a plain one, benches/saml.rs:
/// done in place, as a blocking-pool hand-off would cost as much again). The
/// response may name the shared ACS or the provider's own.
fn verify_with(sts: &Sts, xml: &str, provider: &SamlProvider) -> Result<VerifiedAssertion, StsError> {
    let now = sts.clock.now();
    let metadata = sts
        .metadata
        .trusted(&provider.metadata, now)
        .map_err(|_| claim_error("The SAML provider's metadata is no longer valid", "issuer"))?;
    let idp = TrustedIdp {
        entity_id: metadata.entity_id.clone(),
        signing_keys: metadata.signing_keys.clone(),
        allows_sha1: provider.settings.allow_sha1_signatures,
        decryption: decryption(sts, provider),
    };
    let mut endpoint = sts.endpoint.clone();
    endpoint.recipients.push(sts.public_url.provider_acs(&provider.uuid));
    verify_response(xml, &idp, &endpoint, now).map_err(rejected)
}

/// A provider's encryption mode and its private keys, opened with the master
/// key and parsed once per node. A key that does not open (another master
/// key) is left out and said.
fn decryption(sts: &Sts, provider: &SamlProvider) -> Decryption {
    let keys = provider
        .private_keys
        .iter()
        .filter_map(|k| {
            let opened = sts.decryption_keys.get_or_try(k.key_id.clone(), || {
                let pem = sts.issuer.master.open(&k.sealed, &ProviderKey::seal_context(&k.key_id)).ok();
                pem.and_then(|pem| crate::saml::decryption_key(std::str::from_utf8(&pem).ok()?).ok()).ok_or(())
            });
            if opened.is_err() {
                tracing::warn!(provider = %provider.arn, key_id = %k.key_id, "a private key does not open with this master key");
            }
            opened.ok().map(|key| (*key).clone())
        })
        .collect();
    Decryption { keys, required: provider.encryption_mode == AssertionEncryptionMode::Required }
}

/// Providers registered with the same metadata, switches and keys verify a
/// response alike.
fn verify_alike(a: &SamlProvider, b: &SamlProvider) -> bool {
    a.metadata == b.metadata
        && a.settings.allow_sha1_signatures == b.settings.allow_sha1_signatures
        && a.encryption_mode == b.encryption_mode
        && a.private_keys.iter().map(|k| &k.key_id).eq(b.private_keys.iter().map(|k| &k.key_id))
}

/// The assertion's use, kept by the replay cache until the assertion's end
/// (plus the clock skew): accepted once, on every node and every endpoint.
fn first_use(sts: &Sts, assertion: &VerifiedAssertion) -> AssertionUse {
    AssertionUse {
        issuer: assertion.issuer().to_owned(),
        assertion_id: assertion.assertion_id().to_owned(),
        expires_at: assertion.not_on_or_after().timestamp() + CLOCK_SKEW_SECONDS,
        now: sts.clock.now().timestamp(),
    }
}

/// Proof that an assertion's one use is in the replay cache. Only the
/// replay-cache write (`record_first_use`) makes one, and SAML credentials are
/// issued only against one (`issue_for_claims`), so the replay check can be
/// neither skipped nor moved after the issue. The browser keeps it in the
/// sealed session that holds the claims, for choosing another offered role.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct FirstUseRecorded {
    issuer: String,
    assertion_id: String,
}

fn decode_assertion(encoded: &str) -> Result<String, StsError> {
    base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| claim_error("Invalid base64 SAMLResponse", "structure"))
}

/// The role the assertion does not name with this provider.
const NOT_OFFERED: StsError = StsError::SamlDenied { check: "role", reason: "role-not-offered" };
/// The role does not exist, or is in another account than the provider.
const MISSING: StsError = StsError::SamlDenied { check: "role", reason: "role-missing" };
const UNTRUSTED: StsError = StsError::SamlDenied { check: "trust-policy", reason: "trust-policy" };

/// A role whose trust policy lets these claims in, with the session's
/// duration decided: what `issue_for_claims` needs besides the proof.
pub struct TrustedRole {
    role: crate::domain::Principal,
    ask: SessionAsk,
    duration: i64,
    name_qualifier: String,
}

async fn exchange_assertion(sts: &Sts, p: &Params) -> Result<(Vec<Node>, SamlClaims), StsError> {
    let role_arn = p.required_string("RoleArn", 20, 2048)?;
    let provider_arn = p.required_string("PrincipalArn", 20, 2048)?;
    let encoded = p.required_string("SAMLAssertion", 4, MAX_ASSERTION_CHARS)?;
    let requested = super::actions::duration(p, 900, 43_200, 3600)?;
    let (policy, policy_arns) = super::actions::session_policy(sts, p)?;

    let xml = decode_assertion(encoded)?;
    let provider = match sts.store.get_saml_provider(provider_arn).await {
        Ok(pr) => pr,
        // A provider that does not exist trusts no key: the answer is the one
        // a registered provider gives a response its keys did not sign, so no
        // one learns which providers exist.
        Err(StoreError::NotFound(_)) => {
            let nobody = TrustedIdp {
                entity_id: String::new(),
                signing_keys: vec![],
                allows_sha1: false,
                decryption: Decryption::default(),
            };
            let refused = verify_response(&xml, &nobody, &sts.endpoint, sts.clock.now());
            return Err(refused.err().map_or(NOT_OFFERED, rejected));
        }
        Err(e) => return Err(e.into()),
    };
    let verified = verify_with(sts, &xml, &provider);
    sts.note_provider_use(&provider, verified.as_ref().err().and_then(StsError::failed_check)).await;
    let assertion = verified?;
    let claims = SamlClaims::of(&assertion)?;
    let ask =
        SessionAsk { duration: p.get("DurationSeconds").is_some().then_some(requested), policy, policy_arns };
    let trusted = sts.trust_claims(&provider, &claims, role_arn, ask).await?;
    // Recorded once trust allows (a refused role does not use the assertion up)
    // and before anything is issued.
    let recorded = sts.record_first_use(first_use(sts, &assertion)).await?;
    let session = sts.issue_for_claims(trusted, &claims, &recorded)?;
    let mut out = session.nodes;
    out.extend([
        text("Subject", &claims.name_id),
        text("SubjectType", claims.sub_type()),
        text("Issuer", &claims.issuer),
        text("Audience", &claims.recipient),
        text("NameQualifier", session.name_qualifier),
    ]);
    out.extend(claims.source_identity.iter().map(|s| text("SourceIdentity", s)));
    Ok((out, claims))
}

/// A Response posted to the ACS by a browser, verified (its use not yet recorded): its
/// claims with only the roles of providers whose keys verified it, and the
/// request it answers.
pub struct BrowserAssertion {
    pub claims: SamlClaims,
    pub providers: Vec<SamlProvider>,
    pub in_response_to: Option<String>,
    /// Its use, for the caller to record (`record_first_use`) before it issues anything.
    pub first_use: AssertionUse,
}

impl Sts {
    /// Verifies a response with one provider, as the ACS and
    /// AssumeRoleWithSAML would, and records nothing: the assertion debugger.
    pub fn verify_without_use(
        &self,
        xml: &str,
        provider: &SamlProvider,
    ) -> Result<VerifiedAssertion, StsError> {
        verify_with(self, xml, provider)
    }

    /// Whether this assertion's use is recorded already (nothing is written).
    pub async fn was_used(&self, assertion: &VerifiedAssertion) -> Result<bool, StsError> {
        let now = self.clock.now().timestamp();
        Ok(self.store.assertion_was_used(assertion.issuer(), assertion.assertion_id(), now).await?)
    }

    /// The ACS URLs a provider's responses may name (shared, and its own).
    pub fn acs_urls(&self, provider: &SamlProvider) -> Vec<String> {
        vec![self.public_url.acs(), self.public_url.provider_acs(&provider.uuid)]
    }

    /// The audience responses must name.
    pub fn sp_entity_id(&self) -> String {
        self.public_url.sp_entity_id()
    }

    /// Records an assertion's first use; refused (`replay`) when it was used before.
    pub async fn record_first_use(&self, first_use: AssertionUse) -> Result<FirstUseRecorded, StsError> {
        let (issuer, assertion_id) = (first_use.issuer.clone(), first_use.assertion_id.clone());
        if !self.store.record_assertion_use(first_use).await? {
            return Err(rejected(SamlError::Replay));
        }
        Ok(FirstUseRecorded { issuer, assertion_id })
    }

    /// The trust decision: AssumeRoleWithSAML's semantics for `role_arn` through
    /// `provider`, from verified claims.
    pub async fn trust_claims(
        &self,
        provider: &SamlProvider,
        claims: &SamlClaims,
        role_arn: &str,
        ask: SessionAsk,
    ) -> Result<TrustedRole, StsError> {
        // AWS's attribute semantics, matched exactly.
        if !claims.roles.iter().any(|(r, pr)| r == role_arn && *pr == provider.arn) {
            return Err(NOT_OFFERED);
        }
        let now = self.clock.now();
        if now.timestamp() >= claims.valid_until + CLOCK_SKEW_SECONDS {
            return Err(rejected(SamlError::Expired));
        }
        let parsed = Arn::parse(role_arn).filter(|a| a.service == "iam");
        let role = match parsed
            .as_ref()
            .and_then(|a| a.resource_type_and_name().map(|(k, n)| (a.account.clone(), k, n)))
        {
            Some((account, "role", name)) => {
                self.store.get_principal(&account, EntityKind::Role, name).await.found()?
            }
            _ => None,
        }
        .filter(|r| r.arn == role_arn && provider.account_id == r.account_id);
        let role = role.ok_or(MISSING)?;

        // The trust policy decides, with AWS's SAML condition keys.
        let sub_type = claims.sub_type();
        let name_qualifier = base64::engine::general_purpose::STANDARD.encode(crypto::sha1(
            format!("{}{}/{}", claims.issuer, provider.account_id, provider.name).as_bytes(),
        ));
        let mut ctx = RequestContext::new("sts:AssumeRoleWithSAML", &role.arn);
        ctx.principal = Some(RequestPrincipal {
            account: provider.account_id.to_string(),
            ids: vec![(PrincipalType::Federated, provider.arn.clone())],
        });
        ctx.set("aws:CurrentTime", now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        ctx.set("aws:FederatedProvider", provider.arn.clone());
        ctx.set("saml:aud", claims.recipient.clone());
        ctx.set("saml:iss", claims.issuer.clone());
        ctx.set("saml:sub", claims.name_id.clone());
        ctx.set("saml:sub_type", sub_type.clone());
        ctx.set("saml:namequalifier", name_qualifier.clone());
        ctx.set("saml:doc", format!("{}/{}", provider.account_id, provider.name));
        let source_identity = claims.source_identity.as_deref();
        trust::set_session_keys(&mut ctx, &claims.tags, &claims.transitive_tag_keys, source_identity);
        let actions =
            trust::actions("sts:AssumeRoleWithSAML", !claims.tags.is_empty(), source_identity.is_some());
        if !trust::federated_allowed(self, &role, &ctx, &actions)? {
            return Err(UNTRUSTED);
        }
        // Only now, with the trust policy satisfied, may the role's settings and
        // the policies of its account shape the answer.
        let role_max = role.max_session_duration.unwrap_or(3600);
        if ask.duration.is_some_and(|d| d > role_max) {
            return Err(trust::exceeds_max_session_duration(role_max));
        }
        super::actions::check_session_policy_arns(self, &role.account_id, &ask.policy_arns).await?;
        let mut duration = ask.duration.unwrap_or(3600).min(role_max);
        if let Some(d) = claims.session_duration {
            duration = duration.min(d);
        }
        if let Some(t) = claims.session_not_on_or_after {
            duration = duration.min(t - now.timestamp());
        }
        Ok(TrustedRole { role, ask, duration, name_qualifier })
    }

    /// The credentials of a trusted role session, for claims whose assertion's
    /// use is recorded.
    pub fn issue_for_claims(
        &self,
        trusted: TrustedRole,
        claims: &SamlClaims,
        recorded: &FirstUseRecorded,
    ) -> Result<RoleSession, StsError> {
        // The proof must be for an assertion of the issuer these claims come from.
        if recorded.issuer != claims.issuer {
            return Err(StsError::Internal("the recorded use is another issuer's assertion".into()));
        }
        let TrustedRole { role, ask, duration, name_qualifier } = trusted;
        let mut request = SessionRequest::for_role(&role, &claims.session_name, duration);
        request.policy = ask.policy;
        request.policy_arns = ask.policy_arns;
        request.tags = claims.tags.clone();
        request.transitive_tag_keys = claims.transitive_tag_keys.clone();
        request.source_identity = claims.source_identity.clone();
        let assumed_role_arn = request.arn.clone();
        let (nodes, issued) = issue_role_session(&self.issuer, request)?;
        Ok(RoleSession {
            role_arn: role.arn.clone(),
            assumed_role_arn,
            account_id: role.account_id.to_string(),
            access_key_id: issued.access_key_id,
            secret_access_key: issued.secret,
            session_token: issued.token,
            expiration: issued.expiration,
            nodes,
            name_qualifier,
        })
    }

    /// AssumeRoleWithSAML's answer, with the audit record's userIdentity: the
    /// principal the assertion names (NameID, issuer, role, session name, source
    /// identity), from the verified claims when it was accepted and from what a
    /// refused one claimed otherwise.
    pub async fn assume_role_with_saml(
        &self,
        p: &Params,
    ) -> (Result<Option<Vec<Node>>, StsError>, serde_json::Value) {
        match exchange_assertion(self, p).await {
            Ok((nodes, claims)) => {
                let named = crate::saml::ClaimedIdentity {
                    issuer: Some(claims.issuer),
                    name_id: Some(claims.name_id),
                    session_name: Some(claims.session_name),
                    source_identity: claims.source_identity,
                };
                (Ok(Some(nodes)), audit_identity(p, named, true))
            }
            Err(e) => {
                let claimed = p
                    .get("SAMLAssertion")
                    .and_then(|a| decode_assertion(a).ok())
                    .map(|xml| crate::saml::claimed_identity(&xml))
                    .unwrap_or_default();
                (Err(e), audit_identity(p, claimed, false))
            }
        }
    }

    /// Verifies a browser's `SAMLResponse` (base64), posted to the shared ACS
    /// (`provider_uuid` None: the providers are found by the issuer the
    /// response claims) or to one provider's own. It must verify with the keys
    /// of each provider whose roles it may use, so one account's provider can
    /// never vouch for another account's roles.
    pub async fn accept_browser_response(
        &self,
        encoded: &str,
        provider_uuid: Option<&str>,
    ) -> Result<BrowserAssertion, StsError> {
        if encoded.len() > MAX_ASSERTION_CHARS * 2 {
            return Err(rejected(SamlError::TooLarge));
        }
        let xml = decode_assertion(encoded)?;
        let candidates = match provider_uuid {
            Some(uuid) => self.store.saml_provider_by_uuid(uuid).await?.into_iter().collect(),
            None => {
                let issuer = crate::saml::claimed_issuer(&xml)
                    .ok_or_else(|| claim_error("The response names no issuer", "issuer"))?;
                self.store.saml_providers_by_entity_id(&issuer).await?
            }
        };
        if candidates.is_empty() {
            return Err(claim_error("No SAML provider is registered for this issuer", "issuer"));
        }
        let mut assertion = None;
        let mut failure = None;
        // Whether each candidate verified it; providers that verify alike
        // share one verification.
        let mut verifies: Vec<bool> = Vec::with_capacity(candidates.len());
        for (i, provider) in candidates.iter().enumerate() {
            if let Some(earlier) = candidates[..i].iter().position(|p| verify_alike(p, provider)) {
                verifies.push(verifies[earlier]);
                continue;
            }
            let outcome = verify_with(self, &xml, provider);
            self.note_provider_use(provider, outcome.as_ref().err().and_then(StsError::failed_check)).await;
            verifies.push(outcome.is_ok());
            match outcome {
                Ok(a) => {
                    assertion.get_or_insert(a);
                }
                Err(e) => {
                    failure.get_or_insert(e);
                }
            }
        }
        let verified: Vec<SamlProvider> =
            candidates.into_iter().zip(verifies).filter_map(|(p, ok)| ok.then_some(p)).collect();
        let Some(assertion) = assertion else {
            return Err(failure.unwrap_or_else(|| rejected(SamlError::Signature)));
        };
        let mut claims = SamlClaims::of(&assertion)?;
        claims.roles.retain(|(_, provider)| verified.iter().any(|p| p.arn == *provider));
        Ok(BrowserAssertion {
            first_use: first_use(self, &assertion),
            claims,
            providers: verified,
            in_response_to: assertion.in_response_to().map(str::to_owned),
        })
    }
}

fn audit_identity(p: &Params, named: crate::saml::ClaimedIdentity, verified: bool) -> serde_json::Value {
    serde_json::json!({
        "type": "SAMLUser",
        "userName": named.name_id,
        "principalId": named.name_id,
        "identityProvider": p.get("PrincipalArn"),
        "issuer": named.issuer,
        "roleArn": p.get("RoleArn"),
        "roleSessionName": named.session_name,
        "sourceIdentity": named.source_identity,
        "verified": verified,
    })
}
