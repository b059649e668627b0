use crate::store::StoreError;

/// IAM failures, one variant per AWS error code a client may see.
#[derive(Debug, thiserror::Error)]
pub enum IamError {
    #[error("{0}")]
    NoSuchEntity(String),
    #[error("{0}")]
    EntityAlreadyExists(String),
    #[error("{0}")]
    LimitExceeded(String),
    #[error("{0}")]
    DeleteConflict(String),
    #[error("{0}")]
    InvalidInput(String),
    #[error("{0}")]
    Validation(String),
    #[error("{0}")]
    MalformedPolicyDocument(String),
    #[error("{0}")]
    AccessDenied(String),
    #[error("{0}")]
    InvalidAuthenticationCode(String),
    #[error("{0}")]
    PasswordPolicyViolation(String),
    #[error("{0}")]
    UnmodifiableEntity(String),
    #[error("{0}")]
    InvalidAction(String),
    #[error("storage failure")]
    Store(#[source] StoreError),
    #[error("internal failure: {0}")]
    Internal(String),
}

impl IamError {
    /// The AWS error code and whether the client (Sender) or we (Receiver) erred.
    pub fn code(&self) -> (&'static str, u16) {
        match self {
            IamError::NoSuchEntity(_) => ("NoSuchEntity", 404),
            IamError::EntityAlreadyExists(_) => ("EntityAlreadyExists", 409),
            IamError::LimitExceeded(_) => ("LimitExceeded", 409),
            IamError::DeleteConflict(_) => ("DeleteConflict", 409),
            IamError::InvalidInput(_) => ("InvalidInput", 400),
            IamError::Validation(_) => ("ValidationError", 400),
            IamError::MalformedPolicyDocument(_) => ("MalformedPolicyDocument", 400),
            IamError::AccessDenied(_) => ("AccessDenied", 403),
            IamError::InvalidAuthenticationCode(_) => ("InvalidAuthenticationCode", 403),
            IamError::PasswordPolicyViolation(_) => ("PasswordPolicyViolation", 400),
            IamError::UnmodifiableEntity(_) => ("UnmodifiableEntity", 400),
            IamError::InvalidAction(_) => ("InvalidAction", 400),
            IamError::Store(e) if e.is_unavailable() => ("ServiceUnavailable", 503),
            IamError::Store(_) | IamError::Internal(_) => ("ServiceFailure", 500),
        }
    }
}

impl From<StoreError> for IamError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => IamError::NoSuchEntity(format!("The {what} cannot be found.")),
            other => IamError::Store(other),
        }
    }
}

impl From<crate::domain::IdError> for IamError {
    fn from(e: crate::domain::IdError) -> Self {
        IamError::Validation(e.to_string())
    }
}

impl From<super::policy::PolicyError> for IamError {
    fn from(e: super::policy::PolicyError) -> Self {
        IamError::MalformedPolicyDocument(e.0)
    }
}
