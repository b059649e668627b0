//! HTML pages: the askama views, the headers every page carries, and the
//! small browser helpers (cookies, forms, client address) the page handlers share.
use super::error::PageFailure;
use crate::console::ConsoleSession;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse, HttpResponseBuilder};
use askama::Template;
use futures_util::StreamExt;

pub const SESSION_COOKIE: &str = "idbroker_session";
pub const CSRF_COOKIE: &str = "idbroker_csrf";
/// The built-in IdP's session (console/idp_session.rs).
pub const IDP_SESSION_COOKIE: &str = "idbroker_idp";
/// A Single Logout under way (console/idp_logout.rs).
pub const LOGOUT_COOKIE: &str = "idbroker_slo";
pub const SSO_COOKIE: &str = "idbroker_sso";

#[derive(Template)]
#[template(path = "home.html")]
pub struct HomePage;

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage<'a> {
    pub csrf: &'a str,
    pub request: &'a str,
    pub username: &'a str,
    pub error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "mfa.html")]
pub struct MfaPage<'a> {
    pub csrf: &'a str,
    pub pending: &'a str,
    pub enrolling: bool,
    pub qr_png_base64: Option<String>,
    pub secret_base32: Option<String>,
    pub error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "autopost.html")]
pub struct AutoPostPage<'a> {
    pub title: &'a str,
    /// `SAMLResponse`, or `SAMLRequest` for a logout request.
    pub field: &'a str,
    pub acs_url: &'a str,
    pub saml_response: &'a str,
    pub relay_state: Option<&'a str>,
}

pub struct RoleChoice {
    pub arn: String,
    pub name: String,
    pub checked: bool,
}

pub struct AccountRoles {
    pub id: String,
    pub label: String,
    pub roles: Vec<RoleChoice>,
}

/// The roles offered, grouped by account, as the pickers show them, `checked` ticked.
pub fn account_roles(
    offered: Vec<crate::console::saml_signin::OfferedAccount>,
    checked: Option<&str>,
) -> Vec<AccountRoles> {
    offered
        .into_iter()
        .map(|a| AccountRoles {
            id: a.account_id,
            label: a.label,
            roles: a
                .roles
                .into_iter()
                .map(|(arn, name)| RoleChoice { checked: checked == Some(arn.as_str()), arn, name })
                .collect(),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "roles.html")]
pub struct RolesPage<'a> {
    pub user: &'a str,
    pub csrf: &'a str,
    pub error: Option<&'a str>,
    pub accounts: Vec<AccountRoles>,
}

#[derive(Template)]
#[template(path = "console.html")]
pub struct ConsolePage<'a> {
    pub s: &'a ConsoleSession,
    pub expiration: String,
    pub endpoint: &'a str,
    pub csrf: &'a str,
    pub can_switch: bool,
    pub can_sign_in_again: bool,
}

#[derive(Template)]
#[template(path = "cli_approve.html")]
pub struct CliApprovePage<'a> {
    pub client: &'a str,
    pub user: &'a str,
    pub user_code: Option<&'a str>,
    pub csrf: &'a str,
    pub request: &'a str,
    pub accounts: Vec<AccountRoles>,
}

#[derive(Template)]
#[template(path = "cli_device.html")]
pub struct CliDevicePage<'a> {
    pub error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage<'a> {
    pub title: &'a str,
    pub message: &'a str,
    /// On error pages: the id under which the failure was audited or logged.
    pub request_id: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "signin.html")]
pub struct SigninPage<'a> {
    pub csrf: &'a str,
    pub account: &'a str,
    pub username: &'a str,
    pub error: Option<&'a str>,
}

/// A page response builder with the headers every page carries: a strict
/// CSP (forms may post to `form_action` besides this origin), no framing,
/// no sniffing, no caching (pages may hold credentials or tokens).
pub fn page_builder(
    status: actix_web::http::StatusCode,
    form_action: Option<&str>,
    https: bool,
) -> HttpResponseBuilder {
    let mut b = HttpResponse::build(status);
    let form_action = match form_action {
        Some(url) => format!("'self' {}", url.replace([';', ',', ' ', '\'', '"'], "")),
        None => "'self'".to_owned(),
    };
    b.content_type("text/html; charset=utf-8")
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            format!(
                "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; \
                 form-action {form_action}; frame-ancestors 'none'; base-uri 'none'"
            ),
        ))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "same-origin"))
        .insert_header((header::CACHE_CONTROL, "no-store"));
    if https {
        b.insert_header((header::STRICT_TRANSPORT_SECURITY, "max-age=31536000; includeSubDomains"));
    }
    b
}

/// Renders a template into a response, or a failure if it cannot render.
pub fn render(t: &impl Template) -> Result<String, PageFailure> {
    t.render().map_err(|e| PageFailure::internal(format!("template: {e}")))
}

/// A cookie for this site: HttpOnly, SameSite=Lax, Secure over https, path /.
pub fn cookie(name: &'static str, value: String, max_age_seconds: i64, https: bool) -> Cookie<'static> {
    Cookie::build(name, value)
        .path("/")
        .http_only(true)
        .secure(https)
        .same_site(SameSite::Lax)
        .max_age(actix_web::cookie::time::Duration::seconds(max_age_seconds))
        .finish()
}

/// A cookie that must come back on the IdP's cross-site POST to the ACS:
/// SameSite=None where browsers allow it (https, with Secure), else Lax
/// (which still covers the built-in IdP on this same site).
pub fn cross_site_cookie(
    name: &'static str,
    value: String,
    max_age_seconds: i64,
    https: bool,
) -> Cookie<'static> {
    let mut c = cookie(name, value, max_age_seconds, https);
    if https {
        c.set_same_site(SameSite::None);
    }
    c
}

pub fn removal(name: &'static str, https: bool) -> Cookie<'static> {
    let mut c = cookie(name, String::new(), 0, https);
    c.make_removal();
    c
}

pub fn cookie_value(req: &HttpRequest, name: &str) -> Option<String> {
    req.cookie(name).map(|c| c.value().to_owned()).filter(|v| !v.is_empty() && v.len() <= 128)
}

/// The client's address: the socket peer's, or the one a trusted proxy
/// names in its forwarding headers (`server.trusted_proxies`).
pub fn client_address(req: &HttpRequest) -> String {
    let Some(peer) = req.peer_addr().map(|a| a.ip()) else {
        return "unknown".into();
    };
    let Some(state) = req.app_data::<web::Data<super::AppState>>() else {
        return peer.to_string();
    };
    let lines =
        |name: &str| -> Vec<&str> { req.headers().get_all(name).filter_map(|v| v.to_str().ok()).collect() };
    state.trusted_proxies.client_address(peer, &lines("x-forwarded-for"), &lines("forwarded")).to_string()
}

/// A form body, read within `limit` bytes. Only `application/x-www-form-urlencoded`.
pub struct Form(Vec<(String, String)>);

impl Form {
    pub async fn read(
        req: &HttpRequest,
        mut payload: web::Payload,
        limit: usize,
    ) -> Result<Form, PageFailure> {
        let is_form =
            req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| {
                v.trim().to_ascii_lowercase().starts_with("application/x-www-form-urlencoded")
            });
        if !is_form {
            return Err(PageFailure::bad_request("This page only accepts a submitted form."));
        }
        let mut body = Vec::new();
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(|_| PageFailure::bad_request("The form could not be read."))?;
            if body.len() + chunk.len() > limit {
                return Err(PageFailure::too_large());
            }
            body.extend_from_slice(&chunk);
        }
        // Counted before anything is decoded (R05).
        if body.split(|b| *b == b'&').count() > 32 {
            return Err(PageFailure::bad_request("The form has too many fields."));
        }
        let pairs: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
        Ok(Form(pairs))
    }

    /// A field given once (a repeated field is refused, not guessed at).
    pub fn get(&self, name: &str) -> Result<Option<&str>, PageFailure> {
        let mut values = self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str());
        let first = values.next();
        if values.next().is_some() {
            return Err(PageFailure::bad_request("A form field was repeated."));
        }
        Ok(first)
    }

    pub fn text(&self, name: &str) -> Result<&str, PageFailure> {
        Ok(self.get(name)?.unwrap_or(""))
    }
}

/// A form posted from this site's own page: read within `limit`, refused
/// (403) when the browser names another origin, or when its `csrf` field does
/// not fit the value of `cookie_name` for `purpose`. Returns the form and
/// that cookie value.
pub async fn checked_form(
    req: &HttpRequest,
    state: &super::AppState,
    payload: web::Payload,
    limit: usize,
    cookie_name: &str,
    purpose: &str,
) -> Result<(Form, String), PageFailure> {
    let form = Form::read(req, payload, limit).await?;
    same_origin(req, state.public_url.as_str())?;
    let binding = cookie_value(req, cookie_name).ok_or_else(PageFailure::forbidden)?;
    if !crate::console::csrf_ok(&state.csrf_key, purpose, &binding, form.text("csrf")?) {
        return Err(PageFailure::forbidden());
    }
    Ok((form, binding))
}

/// Cross-site form posts are refused outright when the browser names the origin.
pub fn same_origin(req: &HttpRequest, public_url: &str) -> Result<(), PageFailure> {
    match req.headers().get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        None => Ok(()),
        Some(origin) if public_url.trim_end_matches('/').starts_with(origin) && !origin.is_empty() => {
            let rest = &public_url[origin.len()..];
            if rest.is_empty() || rest.starts_with('/') {
                Ok(())
            } else {
                Err(PageFailure::forbidden())
            }
        }
        Some(_) => Err(PageFailure::forbidden()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_http_only_lax_and_secure_on_https() {
        let c = cookie(SESSION_COOKIE, "v".into(), 60, true);
        assert_eq!((c.http_only(), c.secure(), c.same_site()), (Some(true), Some(true), Some(SameSite::Lax)));
        assert_eq!(cookie(SESSION_COOKIE, "v".into(), 60, false).secure(), Some(false));
        // The AuthnRequest cookie must survive an external IdP's POST on https.
        assert_eq!(cross_site_cookie(SSO_COOKIE, "v".into(), 60, true).same_site(), Some(SameSite::None));
        assert_eq!(cross_site_cookie(SSO_COOKIE, "v".into(), 60, false).same_site(), Some(SameSite::Lax));
    }
}
