//! AssumeRoleWithSAML: a signed assertion from a registered SAML provider,
//! strictly validated, exchanged for temporary credentials of a role that the
//! assertion names and whose trust policy accepts the provider. Unsigned, as on
//! AWS: the assertion is the credential.
use super::session::{issue_role_session, SessionRequest};
use super::StsError;
use crate::crypto;
use crate::domain::{Arn, EntityKind};
use crate::iam::policy::{
    self, NamedPolicy, PolicyKind, PolicySet, PrincipalType, RequestContext, RequestPrincipal,
};
use crate::iam::IamService;
use crate::query::{text, Node, Params};
use crate::saml::{verify_response, SamlError, ServiceEndpoint, TrustedIdp, VerifiedAssertion};
use crate::store::StoreError;
use base64::Engine;

const ATTR: &str = "https://aws.amazon.com/SAML/Attributes/";
/// AWS's limit on `SAMLAssertion`, in characters.
const MAX_ASSERTION_CHARS: usize = 100_000;
const CLOCK_SKEW_SECONDS: i64 = 120;
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

pub(super) async fn assume_role_with_saml(
    iam: &IamService,
    p: &Params,
) -> Result<Option<Vec<Node>>, StsError> {
    let role_arn = p.required_string("RoleArn", 20, 2048)?;
    let provider_arn = p.required_string("PrincipalArn", 20, 2048)?;
    let encoded = p.required_string("SAMLAssertion", 4, MAX_ASSERTION_CHARS)?;
    let requested = super::actions::duration(p, 900, 43_200, 3600)?;
    let (policy, policy_arns) = super::actions::session_policy(iam, p).await?;

    let xml = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| claim_error("Invalid base64 SAMLResponse", "encoding"))?;
    let provider = match iam.store.get_saml_provider(provider_arn).await {
        Ok(pr) => pr,
        Err(StoreError::NotFound(_)) => return Err(claim_error("SAML provider not found", "provider")),
        Err(e) => return Err(e.into()),
    };
    let now = iam.clock.now();
    let metadata = crate::saml::validate_idp_metadata(&provider.metadata, now)
        .map_err(|_| claim_error("The SAML provider's metadata is no longer valid", "provider-metadata"))?;
    let idp =
        TrustedIdp { entity_id: metadata.entity_id, signing_certificates: metadata.signing_certificates };
    let sp = ServiceEndpoint {
        audiences: vec![format!("{}/saml/metadata", iam.public_url)],
        recipients: vec![format!("{}/saml/acs", iam.public_url)],
        max_bytes: MAX_ASSERTION_CHARS,
        clock_skew: chrono::Duration::seconds(CLOCK_SKEW_SECONDS),
    };
    // Signature work is CPU-bound: keep it off the async workers.
    let assertion = tokio::task::spawn_blocking(move || verify_response(&xml, &idp, &sp, now))
        .await
        .map_err(|e| StsError::Internal(format!("assertion check did not finish: {e}")))?
        .map_err(rejected)?;

    // AWS's attribute semantics, matched exactly.
    if !role_pairs(&assertion).iter().any(|(r, pr)| r == role_arn && pr == provider_arn) {
        return Err(StsError::AccessDenied("Not authorized to perform sts:AssumeRoleWithSAML".into()));
    }
    let session = single(&assertion, "RoleSessionName")
        .ok_or_else(|| claim_error("RoleSessionName is missing", "role-session-name"))?;
    let valid_name = (2..=64).contains(&session.len())
        && session.chars().all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c));
    if !valid_name {
        return Err(claim_error("RoleSessionName is not valid", "role-session-name"));
    }
    let session_duration = match single(&assertion, "SessionDuration") {
        None => None,
        Some(v) => match v.parse::<i64>() {
            Ok(n) if (900..=43_200).contains(&n) => Some(n),
            _ => return Err(claim_error("SessionDuration is not valid", "session-duration")),
        },
    };
    let tags: Vec<(String, String)> = assertion
        .attributes()
        .iter()
        .filter_map(|(n, v)| {
            Some((n.strip_prefix(&format!("{ATTR}PrincipalTag:"))?.to_owned(), v.first()?.clone()))
        })
        .collect();
    let transitive: Vec<String> =
        assertion.attribute(&format!("{ATTR}TransitiveTagKeys")).unwrap_or_default().to_vec();
    let source_identity = single(&assertion, "SourceIdentity").map(str::to_owned);
    if source_identity
        .as_ref()
        .is_some_and(|s| !(2..=64).contains(&s.len()) || s.to_ascii_lowercase().starts_with("aws:"))
    {
        return Err(claim_error("SourceIdentity is not valid", "source-identity"));
    }

    let parsed = Arn::parse(role_arn).filter(|a| a.service == "iam");
    let role = match parsed
        .as_ref()
        .and_then(|a| a.resource_type_and_name().map(|(k, n)| (a.account.clone(), k, n)))
    {
        Some((account, "role", name)) => iam.store.get_principal(&account, EntityKind::Role, name).await.ok(),
        _ => None,
    }
    .filter(|r| r.arn == role_arn && provider.account_id == r.account_id);
    let denied = || StsError::AccessDenied("Not authorized to perform sts:AssumeRoleWithSAML".into());
    let role = role.ok_or_else(denied)?;
    let role_max = role.max_session_duration.unwrap_or(3600);
    if p.get("DurationSeconds").is_some() && requested > role_max {
        return Err(StsError::Validation(format!(
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role ({role_max})."
        )));
    }

    // The trust policy decides, with AWS's SAML condition keys.
    let sub_type = match assertion.name_id_format() {
        Some(f) => f.strip_prefix(NAMEID_PREFIX).unwrap_or(f).to_owned(),
        None => "unspecified".to_owned(),
    };
    let name_qualifier = base64::engine::general_purpose::STANDARD.encode(crypto::sha1(
        format!("{}{}/{}", assertion.issuer(), provider.account_id, provider.name).as_bytes(),
    ));
    let mut ctx = RequestContext::new("sts:AssumeRoleWithSAML", &role.arn);
    ctx.principal = Some(RequestPrincipal {
        account: provider.account_id.clone(),
        ids: vec![(PrincipalType::Federated, provider.arn.clone())],
    });
    ctx.set("aws:CurrentTime", now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    ctx.set("aws:FederatedProvider", provider.arn.clone());
    ctx.set("saml:aud", assertion.recipient());
    ctx.set("saml:iss", assertion.issuer());
    ctx.set("saml:sub", assertion.name_id());
    ctx.set("saml:sub_type", sub_type.clone());
    ctx.set("saml:namequalifier", name_qualifier.clone());
    ctx.set("saml:doc", format!("{}/{}", provider.account_id, provider.name));
    for (k, v) in &tags {
        ctx.set(&format!("aws:RequestTag/{k}"), v.clone());
    }
    if !tags.is_empty() {
        ctx.set_all("aws:TagKeys", tags.iter().map(|(k, _)| k.clone()).collect());
    }
    if let Some(s) = &source_identity {
        ctx.set("sts:SourceIdentity", s.clone());
    }
    let trust = iam.parse_policy(role.trust_policy.as_deref().unwrap_or_default(), PolicyKind::Resource)?;
    let set =
        PolicySet { resource: Some(NamedPolicy { id: &role.arn, policy: &trust }), ..Default::default() };
    let mut actions = vec!["sts:AssumeRoleWithSAML"];
    if !tags.is_empty() {
        actions.push("sts:TagSession");
    }
    if source_identity.is_some() {
        actions.push("sts:SetSourceIdentity");
    }
    for action in actions {
        ctx.set_action(action);
        let e = policy::evaluate(&set, &ctx);
        if !e.allowed() || e.resource_grant.is_none() {
            return Err(denied());
        }
    }

    // Accepted once, on every node and through every endpoint.
    let expires = assertion.not_on_or_after().timestamp() + CLOCK_SKEW_SECONDS;
    if !iam
        .store
        .record_assertion_use(assertion.issuer(), assertion.assertion_id(), expires, now.timestamp())
        .await?
    {
        return Err(rejected(SamlError::Replay));
    }

    let mut duration = requested.min(role_max);
    if let Some(d) = session_duration {
        duration = duration.min(d);
    }
    if let Some(t) = assertion.session_not_on_or_after() {
        duration = duration.min((t - now).num_seconds());
    }
    let mut request = SessionRequest::for_role(&role, session, duration);
    request.policy = policy;
    request.policy_arns = policy_arns;
    request.tags = tags;
    request.transitive_tag_keys = transitive;
    request.source_identity = source_identity.clone();
    let mut out = issue_role_session(iam, request)?;
    out.extend([
        text("Subject", assertion.name_id()),
        text("SubjectType", sub_type),
        text("Issuer", assertion.issuer()),
        text("Audience", assertion.recipient()),
        text("NameQualifier", name_qualifier),
    ]);
    out.extend(source_identity.map(|s| text("SourceIdentity", s)));
    Ok(Some(out))
}
