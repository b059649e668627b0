//! idbroker's SP pages: metadata, SP-initiated login (a signed AuthnRequest
//! whose id is remembered for this browser, once, in the database), and the
//! ACS, which validates the Response and opens a console session.
use super::console::{open_console, open_role_picker};
use super::error::PageFailure;
use super::pages::{self, Form, SSO_COOKIE};
use super::{web_audit, AppState};
use crate::console::same_origin_path;
use crate::crypto;
use crate::sts::{accept_browser_response, StsError};
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};

/// A pending AuthnRequest is good for this long.
const REQUEST_SECONDS: i64 = 600;
/// A form carrying a SAMLResponse: AWS's 100,000-character assertion limit,
/// base64 and then form-encoded (`+`, `/`, `=` take three bytes each), and RelayState.
const ACS_FORM_LIMIT: usize = 300_000;
/// Providers tagged so accept only responses to their own requests.
pub use crate::domain::TAG_REQUIRE_SP_INITIATED as SP_INITIATED_ONLY_TAG;

pub async fn metadata(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/samlmetadata+xml")
        .body(state.sp.metadata(state.idp.certificate_der()))
}

#[derive(serde::Deserialize)]
pub struct LoginQuery {
    provider: Option<String>,
    #[serde(rename = "RelayState")]
    relay_state: Option<String>,
}

/// `GET /saml/login[?provider=ARN]`: without a provider, the built-in IdP.
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<LoginQuery>,
) -> Result<HttpResponse, PageFailure> {
    let now = state.iam.clock.now();
    let (entity_id, sso_url) = match query.provider.as_deref() {
        None | Some("") => (state.idp.entity_id.clone(), state.idp.sso_url.clone()),
        Some(arn) => {
            let unknown = || {
                PageFailure::new(
                    404,
                    "Unknown identity provider",
                    "No identity provider is registered under that name.",
                )
            };
            let provider = state.iam.store.get_saml_provider(arn).await.map_err(|_| unknown())?;
            let metadata =
                crate::saml::validate_idp_metadata(&provider.metadata, now).map_err(|_| unknown())?;
            let sso = metadata.redirect_sso_url.ok_or_else(|| {
                PageFailure::new(
                    400,
                    "Sign-in not possible",
                    "This identity provider publishes no Redirect sign-in endpoint.",
                )
            })?;
            (metadata.entity_id, sso)
        }
    };
    let relay = query.relay_state.as_deref().and_then(same_origin_path);
    let browser = pages::cookie_value(&req, SSO_COOKIE).unwrap_or_else(|| crypto::random_token(24));
    let request_id = format!("_{}", crypto::random_token(20));
    state
        .iam
        .store
        .put_authn_request(
            &request_id,
            &entity_id,
            &crypto::sha256_hex(browser.as_bytes()),
            now.timestamp() + REQUEST_SECONDS,
        )
        .await?;
    let url = state
        .sp
        .redirect_url(state.idp.signing_key(), &sso_url, &request_id, relay, now)
        .map_err(|e| PageFailure::internal(e.to_string()))?;
    Ok(HttpResponse::Found()
        .insert_header((header::LOCATION, url))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .cookie(pages::cross_site_cookie(SSO_COOKIE, browser, REQUEST_SECONDS, state.https))
        .finish())
}

/// The answer to a response that was already used (recorded when the
/// session it opens is stored).
pub(super) fn replayed(state: &AppState, req: &HttpRequest) -> PageFailure {
    refused(state, req, "replay", "Invalid SAML assertion: assertion was already used".into())
}

fn refused(state: &AppState, req: &HttpRequest, check: &str, detail: String) -> PageFailure {
    let request_id = web_audit(
        state,
        req,
        "ConsoleSAMLLogin",
        None,
        Some(("InvalidIdentityToken", detail)),
        serde_json::json!({ "failedCheck": check }),
    );
    PageFailure::new(
        403,
        "Sign-in failed",
        format!(
            "The identity provider's response was not accepted (failed check: {check}). Start the sign-in \
             again; if it keeps failing, give your administrator the request id below."
        ),
    )
    .audited_as(request_id)
}

/// `POST /saml/acs`: validates the Response, then one role opens the
/// console directly and several go to the role picker.
pub async fn acs(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, PageFailure> {
    let form = Form::read(&req, payload, ACS_FORM_LIMIT).await?;
    let encoded =
        form.get("SAMLResponse")?.ok_or_else(|| PageFailure::bad_request("SAMLResponse is missing."))?;
    let relay = form.get("RelayState")?.and_then(same_origin_path).map(str::to_owned);
    let accepted = match accept_browser_response(&state.iam, encoded).await {
        Ok(a) => a,
        Err(StsError::Iam(e)) => return Err(PageFailure::internal(e.to_string())),
        Err(StsError::Internal(e)) => return Err(PageFailure::internal(e)),
        Err(e) => {
            let check = e.failed_check().unwrap_or("assertion");
            return Err(refused(&state, &req, check, e.to_string()));
        }
    };
    let now = state.iam.clock.now().timestamp();
    match &accepted.in_response_to {
        Some(id) => {
            // Solicited: it must answer a request this browser made, once.
            let browser = pages::cookie_value(&req, SSO_COOKIE).unwrap_or_default();
            let asked =
                state.iam.store.take_authn_request(id, &crypto::sha256_hex(browser.as_bytes()), now).await?;
            if asked.as_deref() != Some(accepted.claims.issuer.as_str()) {
                return Err(refused(
                    &state,
                    &req,
                    "in-response-to",
                    "the response answers no pending request of this browser".into(),
                ));
            }
        }
        None => {
            // Only the providers whose roles it offers: the built-in IdP is a
            // provider in every account, and one lookup per account would
            // put the whole deployment on each sign-in.
            let offering = accepted
                .providers
                .iter()
                .filter(|p| accepted.claims.roles.iter().any(|(_, arn)| *arn == p.arn));
            for provider in offering {
                if state.iam.store.tagged_true(&provider.arn, SP_INITIATED_ONLY_TAG).await? {
                    return Err(refused(
                        &state,
                        &req,
                        "unsolicited",
                        "the provider requires SP-initiated sign-in".into(),
                    ));
                }
            }
        }
    }
    let (claims, first_use) = (accepted.claims, accepted.first_use);
    if claims.roles.is_empty() {
        if !state.iam.store.record_assertion_use(first_use).await? {
            return Err(replayed(&state, &req));
        }
        web_audit(
            &state,
            &req,
            "ConsoleSAMLLogin",
            Some(&claims.name_id),
            Some(("NoRole", "the assertion offers no usable role".into())),
            serde_json::json!({ "issuer": claims.issuer }),
        );
        let body = pages::render(&pages::MessagePage {
            title: "No role for your account",
            message: "Your identity provider signed you in, but offers no AWS role here. Ask your administrator to map a role to your account.",
            request_id: None,
        })?;
        return Ok(pages::page_builder(StatusCode::OK, None, state.https).body(body));
    }
    if let [(role, _)] = claims.roles.as_slice() {
        let role = role.clone();
        return open_console(&req, &state, claims, &role, relay, Some(first_use)).await;
    }
    open_role_picker(&req, &state, claims, relay, first_use).await
}
