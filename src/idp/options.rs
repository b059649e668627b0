//! What an AuthnRequest may ask of the IdP besides an assertion, as SAML
//! core 3.4.1 defines it: the NameID format, the strength of the sign-in,
//! passive and forced sign-in; and the statuses the IdP answers with when it
//! cannot do what was asked.
use samael::schema::{AuthnContextComparison, AuthnRequest};
use serde::{Deserialize, Serialize};

pub const PASSWORD_PROTECTED_TRANSPORT: &str =
    "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport";
const PASSWORD: &str = "urn:oasis:names:tc:SAML:2.0:ac:classes:Password";
const UNSPECIFIED_CLASS: &str = "urn:oasis:names:tc:SAML:2.0:ac:classes:unspecified";
/// Classes that a password and a TOTP code satisfy.
const MULTI_FACTOR: [&str; 3] = [
    "https://refeds.org/profile/mfa",
    "urn:oasis:names:tc:SAML:2.0:ac:classes:TimeSyncToken",
    "http://schemas.microsoft.com/claims/multipleauthn",
];

/// The NameID formats the IdP issues.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum NameIdFormat {
    /// The directory's user name, the same for every sign-in (AWS's choice).
    #[default]
    Persistent,
    /// A new opaque value for every assertion.
    Transient,
    /// The user's `mail` from the directory.
    Email,
    Unspecified,
}

impl NameIdFormat {
    pub fn uri(self) -> &'static str {
        match self {
            NameIdFormat::Persistent => "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
            NameIdFormat::Transient => "urn:oasis:names:tc:SAML:2.0:nameid-format:transient",
            NameIdFormat::Email => "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
            NameIdFormat::Unspecified => "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
        }
    }

    fn from_uri(uri: &str) -> Option<NameIdFormat> {
        [NameIdFormat::Persistent, NameIdFormat::Transient, NameIdFormat::Email, NameIdFormat::Unspecified]
            .into_iter()
            .find(|f| f.uri() == uri)
    }
}

/// How strong the sign-in must be, and the class the assertion then names.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthnRequirement {
    /// A TOTP code after the password.
    pub multi_factor: bool,
    /// The class asserted; PasswordProtectedTransport when the SP asked for none.
    pub class: Option<String>,
}

impl AuthnRequirement {
    /// The AuthnContextClassRef of an assertion after this sign-in.
    pub fn asserted_class(&self, multi_factor_used: bool) -> &str {
        match &self.class {
            Some(class) => class,
            None if multi_factor_used => MULTI_FACTOR[0],
            None => PASSWORD_PROTECTED_TRANSPORT,
        }
    }
}

/// What a request asks of the sign-in.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestOptions {
    pub name_id_format: NameIdFormat,
    pub authn: AuthnRequirement,
    /// Ask for the password even where a session would do.
    pub force_authn: bool,
    /// Answer without showing the user anything: from the IdP session, or `NoPassive`.
    pub is_passive: bool,
}

/// A non-success status the IdP answers an SP's request with (SAML core
/// 3.2.2.2), in a signed Response without an assertion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SamlStatus {
    /// IsPassive, and the user would have to sign in (no IdP session, or one that will not do).
    NoPassive,
    /// A NameID format the IdP does not issue, or a value the user lacks.
    InvalidNameIdPolicy,
    /// An authentication context the IdP cannot meet.
    NoAuthnContext,
    /// Something the IdP does not do (Scoping, proxying).
    RequestUnsupported,
}

impl SamlStatus {
    /// The top-level and second-level status codes.
    pub fn codes(self) -> (&'static str, &'static str) {
        const REQUESTER: &str = "urn:oasis:names:tc:SAML:2.0:status:Requester";
        const RESPONDER: &str = "urn:oasis:names:tc:SAML:2.0:status:Responder";
        match self {
            SamlStatus::NoPassive => (RESPONDER, "urn:oasis:names:tc:SAML:2.0:status:NoPassive"),
            SamlStatus::InvalidNameIdPolicy => {
                (RESPONDER, "urn:oasis:names:tc:SAML:2.0:status:InvalidNameIDPolicy")
            }
            SamlStatus::NoAuthnContext => (RESPONDER, "urn:oasis:names:tc:SAML:2.0:status:NoAuthnContext"),
            SamlStatus::RequestUnsupported => {
                (REQUESTER, "urn:oasis:names:tc:SAML:2.0:status:RequestUnsupported")
            }
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            SamlStatus::NoPassive => "the user is not signed in at the identity provider",
            SamlStatus::InvalidNameIdPolicy => {
                "the identity provider cannot issue the NameID format asked for"
            }
            SamlStatus::NoAuthnContext => {
                "the identity provider cannot meet the authentication context asked for"
            }
            SamlStatus::RequestUnsupported => "the identity provider does not support Scoping or proxying",
        }
    }
}

/// The strength of a class this IdP can meet: 1 password, 2 password and TOTP.
fn level(class: &str) -> Option<u8> {
    match class {
        PASSWORD | PASSWORD_PROTECTED_TRANSPORT | UNSPECIFIED_CLASS => Some(1),
        c if MULTI_FACTOR.contains(&c) => Some(2),
        _ => None,
    }
}

/// The sign-in a RequestedAuthnContext asks for, or `NoAuthnContext`.
fn requirement(r: &AuthnRequest) -> Result<AuthnRequirement, SamlStatus> {
    let Some(requested) = &r.requested_authn_context else { return Ok(AuthnRequirement::default()) };
    if requested.authn_context_decl_refs.as_ref().is_some_and(|d| !d.is_empty()) {
        return Err(SamlStatus::NoAuthnContext);
    }
    let classes: Vec<&str> =
        requested.authn_context_class_refs.iter().flatten().filter_map(|c| c.value.as_deref()).collect();
    let known: Vec<(&str, u8)> = classes.iter().filter_map(|c| Some((*c, level(c)?))).collect();
    let pick = |(class, level): (&str, u8)| AuthnRequirement {
        multi_factor: level == 2,
        class: Some(class.to_owned()),
    };
    match requested.comparison.as_ref().unwrap_or(&AuthnContextComparison::Exact) {
        // One of the classes, exactly: the first this IdP can meet.
        AuthnContextComparison::Exact => known.first().copied().map(pick).ok_or(SamlStatus::NoAuthnContext),
        // At least as strong as one of them: the weakest will do.
        AuthnContextComparison::Minimum => {
            known.iter().copied().min_by_key(|(_, l)| *l).map(pick).ok_or(SamlStatus::NoAuthnContext)
        }
        // No stronger than one of them: the strongest allowed is named.
        AuthnContextComparison::Maximum => {
            let (class, level) =
                known.iter().copied().max_by_key(|(_, l)| *l).ok_or(SamlStatus::NoAuthnContext)?;
            Ok(AuthnRequirement {
                multi_factor: false,
                class: Some(if level == 1 { class } else { PASSWORD_PROTECTED_TRANSPORT }.to_owned()),
            })
        }
        // Stronger than every one of them: only when all are password classes.
        AuthnContextComparison::Better => {
            if classes.is_empty() || known.len() != classes.len() || known.iter().any(|(_, l)| *l == 2) {
                return Err(SamlStatus::NoAuthnContext);
            }
            Ok(AuthnRequirement { multi_factor: true, class: Some(MULTI_FACTOR[0].to_owned()) })
        }
    }
}

/// The options of a request, or the status to answer it with at once.
pub(super) fn options(r: &AuthnRequest, scoping: bool) -> Result<RequestOptions, SamlStatus> {
    if scoping {
        return Err(SamlStatus::RequestUnsupported);
    }
    let name_id_format = match r.name_id_policy.as_ref().and_then(|p| p.format.as_deref()) {
        None => NameIdFormat::default(),
        Some(uri) => NameIdFormat::from_uri(uri).ok_or(SamlStatus::InvalidNameIdPolicy)?,
    };
    let authn = requirement(r)?;
    Ok(RequestOptions {
        name_id_format,
        authn,
        force_authn: r.force_authn == Some(true),
        is_passive: r.is_passive == Some(true),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(inner: &str, attributes: &str) -> AuthnRequest {
        format!(
            r#"<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_1" Version="2.0" IssueInstant="2026-12-02T12:00:00Z"{attributes}><saml:Issuer>sp</saml:Issuer>{inner}</samlp:AuthnRequest>"#
        )
        .parse()
        .unwrap()
    }

    fn context(comparison: &str, classes: &[&str]) -> AuthnRequest {
        let refs: String = classes
            .iter()
            .map(|c| format!("<saml:AuthnContextClassRef>{c}</saml:AuthnContextClassRef>"))
            .collect();
        request(
            &format!(
                r#"<samlp:RequestedAuthnContext Comparison="{comparison}">{refs}</samlp:RequestedAuthnContext>"#
            ),
            "",
        )
    }

    #[test]
    fn name_id_formats_are_the_four_issued() {
        let policy =
            |f: &str| request(&format!(r#"<samlp:NameIDPolicy Format="{f}" AllowCreate="true"/>"#), "");
        let email =
            options(&policy("urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"), false).unwrap();
        assert_eq!(email.name_id_format, NameIdFormat::Email);
        let transient =
            options(&policy("urn:oasis:names:tc:SAML:2.0:nameid-format:transient"), false).unwrap();
        assert_eq!(transient.name_id_format, NameIdFormat::Transient);
        let kerberos = policy("urn:oasis:names:tc:SAML:2.0:nameid-format:kerberos");
        assert_eq!(options(&kerberos, false), Err(SamlStatus::InvalidNameIdPolicy));
        assert_eq!(options(&request("", ""), false).unwrap().name_id_format, NameIdFormat::Persistent);
    }

    #[test]
    fn authentication_contexts_are_met_or_refused_by_their_comparison() {
        let ppt = PASSWORD_PROTECTED_TRANSPORT;
        let mfa = "https://refeds.org/profile/mfa";
        let exact = options(&context("exact", &[mfa]), false).unwrap().authn;
        assert!(exact.multi_factor && exact.asserted_class(true) == mfa);
        let exact_ppt = options(&context("exact", &[ppt]), false).unwrap().authn;
        assert!(!exact_ppt.multi_factor && exact_ppt.asserted_class(true) == ppt);
        let minimum = options(&context("minimum", &[mfa, ppt]), false).unwrap().authn;
        assert!(!minimum.multi_factor);
        let better = options(&context("better", &[ppt]), false).unwrap().authn;
        assert!(better.multi_factor);
        assert_eq!(options(&context("better", &[mfa]), false), Err(SamlStatus::NoAuthnContext));
        let smartcard = "urn:oasis:names:tc:SAML:2.0:ac:classes:Smartcard";
        assert_eq!(options(&context("exact", &[smartcard]), false), Err(SamlStatus::NoAuthnContext));
        assert!(!options(&context("maximum", &[mfa]), false).unwrap().authn.multi_factor);
        // No request: password, named PasswordProtectedTransport, or MFA when a code was given.
        let none = options(&request("", ""), false).unwrap().authn;
        assert_eq!((none.asserted_class(false), none.asserted_class(true)), (ppt, mfa));
    }

    #[test]
    fn passive_scoped_and_forced_requests() {
        assert!(options(&request("", r#" IsPassive="true""#), false).unwrap().is_passive);
        assert_eq!(options(&request("", ""), true), Err(SamlStatus::RequestUnsupported));
        assert!(options(&request("", r#" ForceAuthn="true""#), false).unwrap().force_authn);
    }
}
