//! The STS Query API actions.
use super::session::{issue_role_session, packed_size, SessionRequest};
use super::Sts;
use super::{trust, StsError};
use crate::domain::{account_of_temporary_key, Arn, Principal, SessionKind, ACCESS_KEY_PREFIX_TEMPORARY};
use crate::iam::policy::{PolicyKind, PrincipalType, RequestPrincipal};
use crate::iam::{Caller, CallerKind, IamError};
use crate::query::{text, Node, Params};
use crate::store::Found;

type Output = Result<Option<Vec<Node>>, StsError>;

crate::query::action_table! {
    async fn dispatch(sts: &Sts, caller: &Caller, p: &Params; action) -> Output;
    unknown: |other| StsError::InvalidAction(format!("Could not find operation {other} for version 2011-06-15"));
    "GetCallerIdentity" => get_caller_identity(caller),
    "GetSessionToken" => {
        count_session(sts, caller).await?;
        get_session_token(sts, caller, p).await
    },
    "GetFederationToken" => {
        count_session(sts, caller).await?;
        get_federation_token(sts, caller, p).await
    },
    "AssumeRole" => {
        count_session(sts, caller).await?;
        assume_role(sts, caller, p).await
    },
    // Unsigned, as on AWS: the web layer sends it to `assume_role_with_saml`
    // before any caller is authenticated, so no caller ever reaches it here.
    "AssumeRoleWithSAML" => Err(StsError::InvalidAction("AssumeRoleWithSAML is not signed".into())),
    "GetAccessKeyInfo" => get_access_key_info(sts, p).await,
    "DecodeAuthorizationMessage" => decode_authorization_message(sts, caller, p).await,
}

impl Sts {
    /// Serves one signed STS action for an authenticated caller.
    pub async fn handle(&self, caller: &Caller, action: &str, p: &Params) -> Output {
        dispatch(self, caller, p, action).await
    }
}

fn get_caller_identity(caller: &Caller) -> Output {
    Ok(Some(vec![
        text("UserId", &caller.user_id),
        text("Account", &caller.account_id),
        text("Arn", &caller.arn),
    ]))
}

/// Counts a session request against its principal's hourly budget
/// (`sts.sessions_per_principal_per_hour`): a leaked key or a runaway job
/// cannot mint sessions without end (as reported against MinIO's STS). The
/// principal is the one behind the credentials, so a role's sessions share
/// one budget whatever their names. Counted before the request is judged, so
/// refused requests spend it too.
async fn count_session(sts: &Sts, caller: &Caller) -> Result<(), StsError> {
    let limit = sts.session_limit;
    if limit == 0 {
        return Ok(());
    }
    let principal = caller.session().map_or(caller.user_id.as_str(), |s| s.pid.as_str());
    let now = sts.clock.now().timestamp();
    let issued = sts.store.count_issuance(principal, now - now.rem_euclid(3600)).await?;
    if issued > i64::from(limit) {
        return Err(StsError::Throttling);
    }
    Ok(())
}

/// `[\w+=,.@-]` names within a length range (RoleSessionName, federated Name).
fn session_name<'a>(
    p: &'a Params,
    param: &str,
    field: &str,
    min: usize,
    max: usize,
) -> Result<&'a str, StsError> {
    let v = p.required(param)?;
    let ok = (min..=max).contains(&v.len()) && v.chars().all(crate::domain::is_name_char);
    if !ok {
        return Err(StsError::validation(
            field,
            v,
            &format!("Member must have length between {min} and {max} and satisfy regular expression pattern: [\\w+=,.@-]*"),
        ));
    }
    Ok(v)
}

pub(super) fn duration(p: &Params, min: i64, max: i64, default: i64) -> Result<i64, StsError> {
    match p.get("DurationSeconds") {
        None => Ok(default),
        Some(v) => match v.parse::<i64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n),
            _ => Err(StsError::validation(
                "durationSeconds",
                v,
                &format!(
                    "Member must have value greater than or equal to {min} and less than or equal to {max}"
                ),
            )),
        },
    }
}

/// The session policy (inline document and managed ARNs) a request asks for,
/// checked for form only: nothing is looked up before the trust decision.
pub(super) fn session_policy(sts: &Sts, p: &Params) -> Result<(Option<String>, Vec<String>), StsError> {
    let policy = match p.get("Policy") {
        None => None,
        Some(doc) => {
            let ok_chars = doc.chars().all(|c| matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{ff}'));
            if doc.is_empty() || doc.chars().count() > 2048 || !ok_chars {
                return Err(StsError::validation(
                    "policy",
                    "…",
                    "Member must have length less than or equal to 2048",
                ));
            }
            sts.iam.parse_policy(doc, PolicyKind::Identity)?;
            Some(doc.to_owned())
        }
    };
    let arns: Vec<String> =
        (1..).map_while(|i| p.get(&format!("PolicyArns.member.{i}.arn"))).map(str::to_owned).collect();
    if arns.len() > 10 {
        return Err(StsError::validation(
            "policyArns",
            "…",
            "Member must have length less than or equal to 10",
        ));
    }
    if let Some(arn) = arns.iter().find(|a| Arn::parse(a).is_none_or(|a| a.service != "iam")) {
        return Err(StsError::validation("policyArns", arn, "Member must be the ARN of a managed policy"));
    }
    Ok((policy, arns))
}

/// Managed session policies, checked once the trust decision has allowed the
/// session: each must exist and be AWS managed or of the session's own
/// account, as on AWS. A policy of another account is answered exactly like
/// a missing one, so nothing about other tenants can be learnt.
pub(super) async fn check_session_policy_arns(
    sts: &Sts,
    account: &str,
    arns: &[String],
) -> Result<(), StsError> {
    for arn in arns {
        let not_attachable =
            || StsError::InvalidParameterValue(format!("Policy {arn} does not exist or is not attachable."));
        let own_or_aws = Arn::parse(arn).is_some_and(|a| a.account == account || a.account == "aws");
        if !own_or_aws {
            return Err(not_attachable());
        }
        sts.iam.managed_policy_document(arn).await.map_err(|e| match e {
            crate::iam::IamError::NoSuchEntity(_) => not_attachable(),
            other => other.into(),
        })?;
    }
    Ok(())
}

/// Session tags (key, value) and the keys that pass on to chained sessions.
type SessionTags = (Vec<(String, String)>, Vec<String>);

/// Session tags and transitive tag keys, checked.
fn session_tags(p: &Params) -> Result<SessionTags, StsError> {
    let tags: Vec<(String, String)> =
        p.key_values("Tags", "Key", "Value").into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect();
    if tags.len() > 50 {
        return Err(StsError::validation("tags", "…", "Member must have length less than or equal to 50"));
    }
    for (k, v) in &tags {
        if k.is_empty() || k.chars().count() > 128 || v.chars().count() > 256 {
            return Err(StsError::validation(
                "tags",
                k,
                "Member must have key length 1..128 and value length 0..256",
            ));
        }
        if k.to_ascii_lowercase().starts_with("aws:") {
            return Err(StsError::InvalidParameterValue(format!(
                "Tag key `{k}` uses the reserved prefix aws:."
            )));
        }
    }
    let transitive: Vec<String> = p.list("TransitiveTagKeys").into_iter().map(str::to_owned).collect();
    if let Some(k) = transitive.iter().find(|k| !tags.iter().any(|(t, _)| t.eq_ignore_ascii_case(k))) {
        return Err(StsError::InvalidParameterValue(format!(
            "Transitive tag key `{k}` is not a session tag."
        )));
    }
    Ok((tags, transitive))
}

/// `SerialNumber` + `TokenCode`, when given, must be a valid code of the
/// calling user's device. Returns whether MFA was presented.
async fn mfa(sts: &Sts, caller: &Caller, user: Option<&Principal>, p: &Params) -> Result<bool, StsError> {
    let (serial, code) = match (p.get("SerialNumber"), p.get("TokenCode")) {
        (None, None) => return Ok(false),
        (Some(s), Some(c)) => (s, c),
        _ => return Err(StsError::Validation("SerialNumber and TokenCode go together.".into())),
    };
    if !(9..=256).contains(&serial.len()) || code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(StsError::validation(
            "tokenCode",
            "…",
            "Member must be 6 digits, with a serial number of 9 to 256 characters",
        ));
    }
    if !sts.iam.check_mfa_code(&caller.account_id, user.map(|u| u.id.as_str()), serial, code).await? {
        return Err(StsError::AccessDenied(
            "MultiFactorAuthentication failed with invalid MFA one time pass code.".into(),
        ));
    }
    Ok(true)
}

/// Long-term credentials only (AWS refuses GetSessionToken and
/// GetFederationToken with temporary ones).
fn long_term_caller(caller: &Caller, action: &str) -> Result<Option<Principal>, StsError> {
    match &caller.kind {
        CallerKind::Root => Ok(None),
        CallerKind::User(u) => Ok(Some(u.clone())),
        CallerKind::Session(_) => {
            Err(StsError::AccessDenied(format!("Cannot call {action} with session credentials")))
        }
    }
}

async fn get_session_token(sts: &Sts, caller: &Caller, p: &Params) -> Output {
    let user = long_term_caller(caller, "GetSessionToken")?;
    let (max, default) = if user.is_none() { (3600, 3600) } else { (129_600, 43_200) };
    let duration = duration(p, 900, max, default)?;
    let mfa = mfa(sts, caller, user.as_ref(), p).await?;
    let (kind, principal_id) = match &user {
        Some(u) => (SessionKind::UserSession, u.id.clone()),
        None => (SessionKind::RootSession, caller.account_id.to_string()),
    };
    let mut request = SessionRequest::new(&caller.account_id, kind, &principal_id, &caller.arn, "", duration);
    request.mfa = mfa;
    let issued = sts.issuer.issue(request)?;
    Ok(Some(vec![issued.credentials_node()]))
}

async fn get_federation_token(sts: &Sts, caller: &Caller, p: &Params) -> Output {
    let user = long_term_caller(caller, "GetFederationToken")?;
    let name = session_name(p, "Name", "name", 2, 32)?;
    let arn = Arn::federated_user(&caller.account_id, name);
    let ctx = sts.iam.context_for(caller, "sts:GetFederationToken", &arn).await?;
    sts.iam.authorize(caller, &ctx).await?;
    let (max, default) = if user.is_none() { (3600, 3600) } else { (129_600, 43_200) };
    let duration = duration(p, 900, max, default)?;
    let (policy, policy_arns) = session_policy(sts, p)?;
    check_session_policy_arns(sts, &caller.account_id, &policy_arns).await?;
    let (tags, _) = session_tags(p)?;
    let packed = packed_size(&policy, &policy_arns, &tags);
    let principal_id = user.map(|u| u.id).unwrap_or_else(|| caller.account_id.to_string());
    let mut request = SessionRequest::new(
        &caller.account_id,
        SessionKind::FederatedUser,
        &principal_id,
        &arn,
        name,
        duration,
    );
    request.policy = policy;
    request.policy_arns = policy_arns;
    request.tags = tags;
    let issued = sts.issuer.issue(request)?;
    Ok(Some(vec![
        issued.credentials_node(),
        Node::Struct(
            "FederatedUser",
            vec![text("FederatedUserId", format!("{}:{name}", caller.account_id)), text("Arn", arn)],
        ),
        text("PackedPolicySize", packed),
    ]))
}

async fn assume_role(sts: &Sts, caller: &Caller, p: &Params) -> Output {
    if matches!(caller.kind, CallerKind::Root)
        || caller
            .session()
            .is_some_and(|s| matches!(s.kind, SessionKind::RootSession | SessionKind::FederatedUser))
    {
        return Err(StsError::AccessDenied(
            "Roles may not be assumed by root accounts or federated users.".into(),
        ));
    }
    let role_arn = p.required_string("RoleArn", 20, 2048)?;
    let session = session_name(p, "RoleSessionName", "roleSessionName", 2, 64)?;
    let role = trust::role_of(sts, caller, role_arn).await?;
    let chained = caller.session().is_some_and(|s| s.kind == SessionKind::AssumedRole);
    let role_max = role.max_session_duration.unwrap_or(3600);
    let requested = duration(p, 900, 43_200, 3600)?;
    if chained && requested > 3600 {
        return Err(StsError::validation(
            "durationSeconds",
            &requested.to_string(),
            "role chaining limits a session to 3600 seconds",
        ));
    }
    let external_id = p.string("ExternalId", 2, 1224)?;
    let source_identity = p.string("SourceIdentity", 2, 64)?;
    if source_identity.is_some_and(|s| s.to_ascii_lowercase().starts_with("aws:")) {
        return Err(StsError::InvalidParameterValue("SourceIdentity may not begin with aws:".into()));
    }
    let inherited_source = caller.session().and_then(|s| s.src.clone());
    if let (Some(old), Some(new)) = (&inherited_source, source_identity) {
        if old != new {
            return Err(StsError::InvalidParameterValue(
                "SourceIdentity cannot change in a role chain.".into(),
            ));
        }
    }
    let (policy, policy_arns) = session_policy(sts, p)?;
    let (mut tags, mut transitive) = session_tags(p)?;
    // Transitive tags of the calling session pass on and cannot be overridden.
    if let Some(s) = caller.session() {
        for key in &s.ttk {
            if tags.iter().any(|(k, _)| k.eq_ignore_ascii_case(key)) {
                return Err(StsError::InvalidParameterValue(format!(
                    "Transitive tag `{key}` cannot be overridden."
                )));
            }
            if let Some(tag) = s.tags.iter().find(|(k, _)| k == key) {
                tags.push(tag.clone());
                transitive.push(key.clone());
            }
        }
    }
    let user = match sts.iam.caller_user(caller).await {
        Ok(user) => user,
        // Role and federated sessions have no user of their own.
        Err(IamError::Validation(_)) => None,
        Err(e) => return Err(e.into()),
    };
    let mfa = mfa(sts, caller, user.as_ref(), p).await? || caller.session().is_some_and(|s| s.mfa);

    let mut ctx = sts.iam.context_for(caller, "sts:AssumeRole", &role.arn).await?;
    let mut ids = vec![(PrincipalType::Aws, caller.arn.clone())];
    if let Some(role_arn) = caller.session().and_then(|s| crate::iam::service::role_arn_of_session(&s.arn)) {
        ids.push((PrincipalType::Aws, role_arn));
    }
    ctx.principal = Some(RequestPrincipal { account: caller.account_id.to_string(), ids });
    ctx.set("sts:RoleSessionName", session);
    ctx.set("aws:MultiFactorAuthPresent", mfa.to_string());
    if let Some(x) = external_id {
        ctx.set("sts:ExternalId", x);
    }
    trust::set_session_keys(&mut ctx, &tags, &transitive, source_identity);
    let denied = || {
        StsError::AccessDenied(format!(
            "User: {} is not authorized to perform: sts:AssumeRole on resource: {}",
            caller.arn, role.arn
        ))
    };
    let actions = trust::actions("sts:AssumeRole", !tags.is_empty(), source_identity.is_some());
    if !trust::caller_allowed(sts, caller, &role, &ctx, &actions).await? {
        return Err(denied());
    }
    // Only now, with the caller trusted, may the role's settings shape the answer.
    if requested > role_max {
        return Err(trust::exceeds_max_session_duration(role_max));
    }
    check_session_policy_arns(sts, &role.account_id, &policy_arns).await?;
    let source = source_identity.map(str::to_owned).or(inherited_source);
    let mut session = SessionRequest::for_role(&role, session, requested);
    session.mfa = mfa;
    session.policy = policy;
    session.policy_arns = policy_arns;
    session.tags = tags;
    session.transitive_tag_keys = transitive;
    session.source_identity = source.clone();
    session.chained = chained;
    let (mut out, _) = issue_role_session(&sts.issuer, session)?;
    out.extend(source.map(|s| text("SourceIdentity", s)));
    Ok(Some(out))
}

async fn get_access_key_info(sts: &Sts, p: &Params) -> Output {
    let id = p.required_string("AccessKeyId", 16, 128)?;
    let account = if id.starts_with(ACCESS_KEY_PREFIX_TEMPORARY) {
        account_of_temporary_key(id)
    } else {
        sts.store.get_access_key(id).await.found()?.map(|k| k.account_id)
    };
    let account =
        account.ok_or_else(|| StsError::InvalidParameterValue(format!("Access key {id} is not valid.")))?;
    Ok(Some(vec![text("Account", account)]))
}

/// Opens an encoded authorization message from an AccessDenied of this
/// account, for callers allowed `sts:DecodeAuthorizationMessage`.
async fn decode_authorization_message(sts: &Sts, caller: &Caller, p: &Params) -> Output {
    let encoded = p.required_string("EncodedMessage", 1, 10_240)?;
    let ctx = sts.iam.context_for(caller, "sts:DecodeAuthorizationMessage", "*").await?;
    sts.iam.authorize(caller, &ctx).await?;
    let decoded = sts.iam.open_authorization_message(&caller.account_id, encoded).ok_or_else(|| {
        StsError::InvalidAuthorizationMessage(
            "The message is not an authorization message of this account.".into(),
        )
    })?;
    Ok(Some(vec![text("DecodedMessage", decoded)]))
}
