//! `POST /`: the IAM and STS Query APIs. Reads the body within the size limit,
//! authenticates the SigV4 signature, runs the action, audits it and answers
//! in AWS's XML.
use super::error::{ApiFailure, IAM_NS, STS_NS};
use super::{audit_room, AppState};
use crate::audit::{redacted_parameters, AuditEvent};
use crate::iam::{self, Caller, Origin};
use crate::query::{render_response, Node, Params};
use crate::sigv4::RequestParts;
use crate::sts;
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use std::time::Instant;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Service {
    Iam,
    Sts,
}

impl Service {
    fn signing_name(self) -> &'static str {
        match self {
            Service::Iam => "iam",
            Service::Sts => "sts",
        }
    }
    fn namespace(self) -> &'static str {
        match self {
            Service::Iam => IAM_NS,
            Service::Sts => STS_NS,
        }
    }
    fn event_source(self) -> &'static str {
        match self {
            Service::Iam => "iam.amazonaws.com",
            Service::Sts => "sts.amazonaws.com",
        }
    }
    fn known_action(self, action: &str) -> Option<&'static str> {
        match self {
            Service::Iam => iam::known_action(action)
                .or_else(|| crate::operator::ACTIONS.iter().copied().find(|a| *a == action)),
            Service::Sts => sts::ACTIONS.iter().copied().find(|a| *a == action),
        }
    }
}

/// More than any action takes (tags, policy ARNs and list members included).
const MAX_PARAMETERS: usize = 500;

/// Reads the body, refusing it (413) as soon as it passes the limit.
async fn read_body(mut payload: web::Payload, limit: usize) -> Result<Vec<u8>, ApiFailure> {
    let too_large =
        || ApiFailure::client("RequestEntityTooLarge", 413, format!("Request body exceeds {limit} bytes."));
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ApiFailure::client("MalformedQueryString", 400, e.to_string()))?;
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn service_of(params: &Params, authorization: Option<&str>) -> Option<Service> {
    match params.get("Version") {
        Some("2010-05-08") => Some(Service::Iam),
        Some("2011-06-15") => Some(Service::Sts),
        Some(_) => None,
        // Without a Version, the signature's scope names the service.
        None => match authorization {
            Some(a) if a.contains("/iam/aws4_request") => Some(Service::Iam),
            Some(a) if a.contains("/sts/aws4_request") => Some(Service::Sts),
            _ => None,
        },
    }
}

pub async fn query(req: HttpRequest, payload: web::Payload, state: web::Data<AppState>) -> HttpResponse {
    let started = Instant::now();
    let request_id = uuid::Uuid::new_v4().to_string();
    let declared = req
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0);
    let body = if declared > state.max_body_bytes {
        Err(ApiFailure::client(
            "RequestEntityTooLarge",
            413,
            format!("Request body exceeds {} bytes.", state.max_body_bytes),
        ))
    } else {
        read_body(payload, state.max_body_bytes).await
    };
    let body = match body {
        Ok(b) => b,
        Err(f) => return f.respond(IAM_NS, &request_id),
    };
    // R05: the number of parameters is bounded before any is decoded.
    let pieces = |b: &[u8]| if b.is_empty() { 0 } else { b.split(|c| *c == b'&').count() };
    if pieces(req.query_string().as_bytes()) + pieces(&body) > MAX_PARAMETERS {
        let f = ApiFailure::client(
            "MalformedQueryString",
            400,
            format!("The request has more than {MAX_PARAMETERS} parameters."),
        );
        return f.respond(IAM_NS, &request_id);
    }
    let mut pairs: Vec<(String, String)> = form_urlencoded::parse(req.query_string().as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    pairs.extend(form_urlencoded::parse(&body).map(|(k, v)| (k.into_owned(), v.into_owned())));
    let params = Params::from_pairs(pairs);
    let authorization = req.headers().get("authorization").and_then(|v| v.to_str().ok());

    let Some(service) = service_of(&params, authorization) else {
        let f = ApiFailure::client("InvalidAction", 400, "The request names no known API version.");
        return f.respond(IAM_NS, &request_id);
    };
    let action = params.get("Action").unwrap_or_default().to_owned();
    let action_label = service.known_action(&action).unwrap_or("unknown");

    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect();
    let parts = RequestParts {
        method: req.method().as_str(),
        path: req.uri().path(),
        query: req.query_string(),
        headers: &headers,
        body: &body,
    };
    let origin = Origin {
        source_ip: Some(super::pages::client_address(&req)),
        user_agent: req.headers().get("user-agent").and_then(|v| v.to_str().ok()).map(str::to_owned),
        secure_transport: req.connection_info().scheme() == "https",
    };
    let unsigned_saml = service == Service::Sts && action == "AssumeRoleWithSAML";
    let (caller, outcome, identity) = if unsigned_saml {
        // As on AWS, the signed assertion is the credential; no SigV4.
        let (outcome, identity) = state.sts.assume_role_with_saml(&params).await;
        (None, outcome.map_err(ApiFailure::from), identity)
    } else {
        match state.iam.authenticate(&parts, authorization, service.signing_name(), origin.clone()).await {
            Err(e) => (None, Err(ApiFailure::from(e)), serde_json::json!({ "type": "Unknown" })),
            Ok(c) => {
                let outcome = run(&state, service, &c, &action, action_label, &params).await;
                let identity = c.audit_identity();
                (Some(c), outcome, identity)
            }
        }
    };
    audit(
        &state,
        &req,
        service,
        &action,
        &params,
        caller.as_ref(),
        identity,
        &origin,
        outcome.as_ref().err(),
        &request_id,
    );
    let label =
        if outcome.is_ok() { "success" } else { outcome.as_ref().err().map(|f| f.code).unwrap_or("error") };
    state.metrics.observe(service.signing_name(), action_label, label, started.elapsed().as_secs_f64());
    match outcome {
        Ok(result) => HttpResponse::Ok()
            .content_type("text/xml")
            .insert_header(("x-amzn-RequestId", request_id.clone()))
            .body(render_response(&action, service.namespace(), result.as_deref(), &request_id)),
        Err(f) => f.respond(service.namespace(), &request_id),
    }
}

async fn run(
    state: &AppState,
    service: Service,
    caller: &Caller,
    action: &str,
    action_label: &str,
    params: &Params,
) -> Result<Option<Vec<Node>>, ApiFailure> {
    if action_label == "unknown" {
        let version = params.get("Version").unwrap_or("this API");
        return Err(ApiFailure::client(
            "InvalidAction",
            400,
            format!("Could not find operation {action} for {version}"),
        ));
    }
    match service {
        Service::Iam => Ok(state.operator.handle_iam(caller, action, params).await?),
        Service::Sts => Ok(state.sts.handle(caller, action, params).await?),
    }
}

#[allow(clippy::too_many_arguments)]
fn audit(
    state: &AppState,
    req: &HttpRequest,
    service: Service,
    action: &str,
    params: &Params,
    caller: Option<&Caller>,
    identity: serde_json::Value,
    origin: &Origin,
    failure: Option<&ApiFailure>,
    request_id: &str,
) {
    let read_only = crate::audit::is_read_only(service.event_source(), action);
    let event = AuditEvent {
        event_time: state.clock.now(),
        event_name: if action.is_empty() { "Unknown".into() } else { action.chars().take(64).collect() },
        event_source: service.event_source().into(),
        account_id: caller.map(|c| c.account_id.to_string()),
        principal_arn: caller.map(|c| c.arn.clone()),
        user_identity: identity,
        source_ip: origin.source_ip.clone(),
        user_agent: origin.user_agent.clone(),
        request_parameters: redacted_parameters(params.pairs()),
        error_code: failure.map(|f| f.code.to_owned()),
        error_message: failure.map(|f| f.message.clone()),
        request_id: request_id.to_owned(),
        additional: match failure.and_then(|f| f.failed_check) {
            Some(check) => match failure.and_then(|f| f.denial_reason) {
                Some(reason) => serde_json::json!({ "failedCheck": check, "reason": reason }),
                None => serde_json::json!({ "failedCheck": check }),
            },
            None => serde_json::Value::Null,
        },
        read_only,
    };
    audit_room::record(state, req, event);
}
