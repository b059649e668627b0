//! The request as policies see it: the action, the resource, who asks, and
//! the condition keys. A leaf: parsing, conditions and evaluation all read it.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PrincipalType {
    Aws,
    Federated,
    Service,
}

/// Who is asking, as a resource policy's `Principal` sees it.
#[derive(Debug, Clone)]
pub struct RequestPrincipal {
    pub account: String,
    /// The first entry is the principal's own ARN; further entries are the ARNs it
    /// also answers to (an assumed-role session also answers to its role's ARN).
    pub ids: Vec<(PrincipalType, String)>,
}

/// The request as policies see it. Condition keys are case-insensitive, so they
/// are stored lower-cased; a key may carry several values.
#[derive(Debug, Clone)]
pub struct RequestContext {
    action: String,
    pub resource: String,
    pub principal: Option<RequestPrincipal>,
    keys: Vec<(String, Vec<String>)>,
}

impl RequestContext {
    pub fn new(action: &str, resource: &str) -> Self {
        RequestContext {
            action: action.to_ascii_lowercase(),
            resource: resource.to_owned(),
            principal: None,
            keys: Vec::new(),
        }
    }

    pub fn action(&self) -> &str {
        &self.action
    }

    pub fn set_action(&mut self, action: &str) {
        self.action = action.to_ascii_lowercase();
    }

    pub fn set(&mut self, key: &str, value: impl Into<String>) {
        self.set_all(key, vec![value.into()]);
    }

    pub fn set_all(&mut self, key: &str, values: Vec<String>) {
        let key = key.to_ascii_lowercase();
        match self.keys.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = values,
            None => self.keys.push((key, values)),
        }
    }

    /// Every context key (lower case) with its values.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.keys.iter().map(|(k, v)| (k.as_str(), v.as_slice()))
    }

    pub fn values(&self, lower_key: &str) -> Option<&[String]> {
        self.keys.iter().find(|(k, _)| k == lower_key).map(|(_, v)| v.as_slice())
    }

    /// The value of a single-valued key, looked up case-insensitively.
    pub fn single_value(&self, key: &str) -> Option<&str> {
        let v = self.keys.iter().find(|(k, _)| k.eq_ignore_ascii_case(key))?;
        match v.1.as_slice() {
            [one] => Some(one.as_str()),
            _ => None,
        }
    }
}
