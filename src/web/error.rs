//! The one place that turns failures into HTTP responses. API failures become
//! AWS `ErrorResponse` XML with AWS's code and status; internal failures are
//! opaque to the client (a request id) and logged in full once.
use crate::iam::{AuthError, IamError};
use crate::query::render_error;
use crate::sts::StsError;
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
}

impl ApiFailure {
    pub fn client(code: &'static str, status: u16, message: impl Into<String>) -> Self {
        ApiFailure { code, status, message: message.into(), internal: None, failed_check: None }
    }

    fn from_code(code: (&'static str, u16), err: &(dyn std::error::Error + 'static)) -> Self {
        if code.1 >= 500 {
            ApiFailure {
                code: code.0,
                status: code.1,
                message: String::new(),
                internal: Some(chain(err)),
                failed_check: None,
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

fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
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
