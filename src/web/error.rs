//! The one place that turns failures into HTTP responses. API failures become
//! AWS `ErrorResponse` XML with AWS's code and status; internal failures are
//! opaque to the client (a request id) and logged in full once.
use crate::iam::{AuthError, IamError};
use crate::query::render_error;
use crate::sts::StsError;
use crate::telemetry::error_chain as chain;
use actix_web::http::StatusCode;
use actix_web::HttpResponse;

pub const IAM_NS: &str = "https://iam.amazonaws.com/doc/2010-05-08/";
pub const STS_NS: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

/// A failure on the Query API, as the client will see it.
#[derive(Debug)]
pub struct ApiFailure {
    pub code: &'static str,
    pub status: u16,
    pub message: String,
    /// The full cause, for the log, when it is our fault.
    pub internal: Option<String>,
    /// The check a refused SAML assertion failed, for the audit record only.
    pub failed_check: Option<&'static str>,
    /// Which case of a refused role (`role-not-offered`, `role-missing`, `trust-policy`).
    pub denial_reason: Option<&'static str>,
}

impl ApiFailure {
    pub fn client(code: &'static str, status: u16, message: impl Into<String>) -> Self {
        ApiFailure {
            code,
            status,
            message: message.into(),
            internal: None,
            failed_check: None,
            denial_reason: None,
        }
    }

    fn from_code(code: (&'static str, u16), err: &(dyn std::error::Error + 'static)) -> Self {
        if code.1 >= 500 {
            ApiFailure {
                code: code.0,
                status: code.1,
                message: String::new(),
                internal: Some(chain(err)),
                failed_check: None,
                denial_reason: None,
            }
        } else {
            ApiFailure::client(code.0, code.1, err.to_string())
        }
    }

    pub fn respond(&self, namespace: &str, request_id: &str) -> HttpResponse {
        let message = match &self.internal {
            Some(cause) => {
                tracing::error!(request_id, code = self.code, cause = %cause, "internal failure");
                format!("We encountered an internal error. Please try again. (request {request_id})")
            }
            None => self.message.clone(),
        };
        let body = render_error(namespace, self.status < 500, self.code, &message, request_id);
        HttpResponse::build(StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
            .content_type("text/xml")
            .insert_header(("x-amzn-RequestId", request_id.to_owned()))
            .body(body)
    }
}

impl From<IamError> for ApiFailure {
    fn from(e: IamError) -> Self {
        ApiFailure::from_code(e.code(), &e)
    }
}

impl From<AuthError> for ApiFailure {
    fn from(e: AuthError) -> Self {
        ApiFailure::from_code(e.code(), &e)
    }
}

impl From<StsError> for ApiFailure {
    fn from(e: StsError) -> Self {
        let mut f = ApiFailure::from_code(e.code(), &e);
        f.failed_check = e.failed_check();
        f.denial_reason = e.denial_reason();
        f
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreError;

    #[test]
    fn client_errors_keep_their_message_and_internal_ones_do_not() {
        let f = ApiFailure::from(IamError::NoSuchEntity("The user with name bob cannot be found.".into()));
        assert_eq!((f.code, f.status), ("NoSuchEntity", 404));
        assert!(f.internal.is_none());
        let f = ApiFailure::from(IamError::Store(StoreError::Corrupt("principal kind")));
        assert_eq!((f.code, f.status), ("ServiceFailure", 500));
        assert!(f.message.is_empty());
        assert!(f.internal.unwrap().contains("principal kind"));
        let f = ApiFailure::from(AuthError::InvalidClientTokenId);
        assert_eq!((f.code, f.status), ("InvalidClientTokenId", 403));
    }
}

/// A failure on a browser page: a readable page with the right status.
/// Internal causes are logged once and never shown.
#[derive(Debug)]
pub struct PageFailure {
    pub status: u16,
    pub title: &'static str,
    pub message: String,
    pub internal: Option<String>,
    /// The request id of the failure's audit event; pages without one get a
    /// new id, written to the log with the failure.
    pub request_id: Option<String>,
}

impl PageFailure {
    pub fn new(status: u16, title: &'static str, message: impl Into<String>) -> Self {
        PageFailure { status, title, message: message.into(), internal: None, request_id: None }
    }
    /// The page names the audit event that recorded this failure.
    pub fn audited_as(mut self, request_id: String) -> Self {
        self.request_id = Some(request_id);
        self
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "Request refused", message)
    }
    pub fn forbidden() -> Self {
        Self::new(
            403,
            "Request refused",
            "This form has expired or did not come from this site. Go back, reload the page and try again.",
        )
    }
    pub fn too_large() -> Self {
        Self::new(413, "Request refused", "The request is too large.")
    }
    /// Past the sign-in throttle's limit.
    pub fn throttled() -> Self {
        Self::new(
            429,
            "Too many attempts",
            "There have been too many failed sign-ins. Wait a few minutes and try again.",
        )
    }
    pub fn not_found() -> Self {
        Self::new(404, "Page not found", "There is no page at this address. Start again from the home page.")
    }
    pub fn signed_out() -> Self {
        Self::new(401, "Signed out", "You are not signed in, or your session has ended. Sign in again.")
    }
    pub fn internal(cause: impl Into<String>) -> Self {
        PageFailure {
            status: 500,
            title: "Something went wrong",
            message: String::new(),
            internal: Some(cause.into()),
            request_id: None,
        }
    }
}

impl std::fmt::Display for PageFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.title)
    }
}

impl<E: Into<crate::store::StoreError>> From<E> for PageFailure {
    fn from(e: E) -> Self {
        let e = e.into();
        if e.is_unavailable() {
            tracing::warn!(error = %chain(&e), "database unavailable");
            return PageFailure::new(
                503,
                "Service unavailable",
                "The service cannot reach its database right now. Try again in a minute.",
            );
        }
        PageFailure::internal(chain(&e))
    }
}

/// The directory login's failures, as pages.
impl From<crate::console::login::LoginError> for PageFailure {
    fn from(e: crate::console::login::LoginError) -> Self {
        use crate::console::login::LoginError as E;
        match e {
            E::Expired => {
                PageFailure::bad_request("This sign-in page has expired. Start again from the application.")
            }
            E::Throttled => PageFailure::throttled(),
            E::NotConfigured => PageFailure::new(
                503,
                "Directory sign-in unavailable",
                "Sign-in with a company account is not configured here.",
            ),
            E::DirectoryUnavailable => PageFailure::new(
                503,
                "Directory unavailable",
                "The company directory cannot be reached right now. Try again in a few minutes.",
            ),
            E::TooLong => PageFailure::bad_request("The user name or password is too long."),
            E::Store(e) => e.into(),
            E::Internal(cause) => PageFailure::internal(cause),
        }
    }
}

/// The admin console's failures, as pages.
impl From<crate::console::admin::AdminError> for PageFailure {
    fn from(e: crate::console::admin::AdminError) -> Self {
        use crate::console::admin::AdminError as E;
        match e {
            E::SignedOut => PageFailure::signed_out(),
            E::Refused("AccessDenied", message) => PageFailure::new(403, "Not allowed", message),
            E::Refused("NoSuchEntity", message) => PageFailure::new(404, "Not found", message),
            E::Refused(_, message) => PageFailure::bad_request(message),
            E::Store(e) => e.into(),
            E::Internal(cause) => PageFailure::internal(cause),
        }
    }
}

/// The SAML sign-in's failures, as pages.
impl From<crate::console::saml_signin::SamlSignInError> for PageFailure {
    fn from(e: crate::console::saml_signin::SamlSignInError) -> Self {
        use crate::console::saml_signin::SamlSignInError as E;
        match e {
            E::UnknownProvider => PageFailure::new(
                404,
                "Unknown identity provider",
                "No identity provider is registered under that name.",
            ),
            E::NoRedirectEndpoint => PageFailure::new(
                400,
                "Sign-in not possible",
                "This identity provider publishes no Redirect sign-in endpoint.",
            ),
            E::Refused(check) => PageFailure::new(
                403,
                "Sign-in failed",
                format!(
                    "The identity provider's response was not accepted (failed check: {check}). Start the \
                     sign-in again; if it keeps failing, give your administrator the request id below."
                ),
            ),
            E::NotOffered => PageFailure::bad_request("Choose one of the roles offered to you."),
            E::Expired => PageFailure::new(
                403,
                "Sign-in expired",
                "Your sign-in is more than a few minutes old. Sign in again to choose a role.",
            ),
            E::RoleUnavailable => PageFailure::new(
                403,
                "Role not available",
                "You were signed in, but this role does not accept sign-ins from your identity provider. Ask your administrator to check the role's trust policy.",
            ),
            E::SessionRefused(why) => PageFailure::new(400, "Session not available", why),
            E::Store(e) => e.into(),
            E::Internal(cause) => PageFailure::internal(cause),
        }
    }
}

/// The password sign-in's failures, as pages.
impl From<crate::console::signin::PasswordSignInError> for PageFailure {
    fn from(e: crate::console::signin::PasswordSignInError) -> Self {
        use crate::console::signin::PasswordSignInError as E;
        match e {
            E::Throttled => PageFailure::throttled(),
            E::Store(e) => e.into(),
            E::Internal(cause) => PageFailure::internal(cause),
        }
    }
}

/// The federation endpoint's failures, as pages.
impl From<crate::console::signin::FederationError> for PageFailure {
    fn from(e: crate::console::signin::FederationError) -> Self {
        use crate::console::signin::FederationError as E;
        match e {
            E::Store(e) => e.into(),
            E::Internal(cause) => PageFailure::internal(cause),
            E::LinkNotValid | E::Duration | E::InvalidCredentials | E::NotARoleSession => PageFailure::new(
                400,
                "Sign-in link not valid",
                "This sign-in link has expired or was already used. Ask for a new one.",
            ),
        }
    }
}

/// A failure answered to the command line: OAuth's JSON error (RFC 6749
/// §5.2, RFC 8628 §3.5), with idbroker's own codes for the password sign-in.
#[derive(Debug)]
pub struct CliFailure(pub crate::console::cli::CliError);

impl CliFailure {
    fn code(&self) -> (u16, &'static str) {
        use crate::console::cli::CliError as E;
        use crate::console::login::LoginError as L;
        match &self.0 {
            E::InvalidRequest(_) => (400, "invalid_request"),
            E::InvalidGrant | E::UnknownRequest => (400, "invalid_grant"),
            E::AuthorizationPending => (400, "authorization_pending"),
            E::SlowDown => (400, "slow_down"),
            E::ExpiredToken => (400, "expired_token"),
            E::AccessDenied => (400, "access_denied"),
            E::BadPassword => (401, "invalid_credentials"),
            E::MfaRequired => (401, "mfa_required"),
            E::BadMfaCode => (401, "invalid_mfa_code"),
            E::MfaEnrolmentRequired => (403, "mfa_enrolment_required"),
            E::NoRole => (403, "no_role"),
            E::RoleNotOffered(_) => (403, "role_not_offered"),
            E::Login(L::Throttled) => (429, "throttled"),
            E::Login(L::DirectoryUnavailable | L::NotConfigured) => (503, "directory_unavailable"),
            E::Login(L::TooLong) => (400, "invalid_request"),
            E::Login(L::Expired) => (400, "expired_token"),
            E::SignIn(crate::console::saml_signin::SamlSignInError::Expired) => (400, "expired_token"),
            E::SignIn(crate::console::saml_signin::SamlSignInError::RoleUnavailable) => {
                (403, "role_unavailable")
            }
            E::SignIn(crate::console::saml_signin::SamlSignInError::SessionRefused(_)) => {
                (400, "invalid_request")
            }
            E::SignIn(crate::console::saml_signin::SamlSignInError::NotOffered) => (403, "role_not_offered"),
            E::Store(e) if e.is_unavailable() => (503, "temporarily_unavailable"),
            _ => (500, "server_error"),
        }
    }

    pub fn respond(&self, request_id: &str) -> HttpResponse {
        let (status, code) = self.code();
        let description = if status >= 500 {
            tracing::error!(request_id, cause = %chain(&self.0), "command-line failure");
            format!("an internal error occurred (request {request_id})")
        } else {
            self.0.to_string()
        };
        HttpResponse::build(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
            .insert_header(("Cache-Control", "no-store"))
            .json(serde_json::json!({ "error": code, "error_description": description, "request_id": request_id }))
    }
}

/// Single Logout's failures, as pages.
impl From<crate::console::idp_logout::LogoutError> for PageFailure {
    fn from(e: crate::console::idp_logout::LogoutError) -> Self {
        use crate::console::idp_logout::LogoutError as E;
        match e {
            E::Expired | E::Unexpected => PageFailure::bad_request(
                "This sign-out has expired or was finished elsewhere. Close the browser to be sure you are signed out.",
            ),
            E::Idp(e) => PageFailure::internal(e.to_string()),
            E::Store(e) => e.into(),
        }
    }
}

/// The command line's failures on its browser pages.
impl From<crate::console::cli::CliError> for PageFailure {
    fn from(e: crate::console::cli::CliError) -> Self {
        use crate::console::cli::CliError as E;
        match e {
            E::UnknownRequest => PageFailure::new(
                404,
                "Request not found",
                "This command-line sign-in is unknown, already decided or expired. Run the command again.",
            ),
            E::RoleNotOffered(role) => PageFailure::new(
                403,
                "Role not offered",
                format!("The command asked for {role}, which your sign-in does not offer. Run it again with another --role."),
            ),
            E::InvalidRequest(why) => PageFailure::bad_request(why),
            E::Login(e) => e.into(),
            E::SignIn(e) => e.into(),
            E::Store(e) => e.into(),
            other => PageFailure::internal(other.to_string()),
        }
    }
}

impl actix_web::ResponseError for PageFailure {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let request_id = self.request_id.clone().unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let message = match &self.internal {
            Some(cause) => {
                tracing::error!(request_id, cause = %cause, "page failure");
                "An internal error occurred. Please try again.".to_owned()
            }
            None => {
                if self.request_id.is_none() {
                    tracing::info!(request_id, status = self.status, title = self.title, "page refused");
                }
                self.message.clone()
            }
        };
        let page =
            super::pages::MessagePage { title: self.title, message: &message, request_id: Some(&request_id) };
        let body = askama::Template::render(&page).unwrap_or_else(|_| message.clone());
        super::pages::page_builder(self.status_code(), None, false).body(body)
    }
}
