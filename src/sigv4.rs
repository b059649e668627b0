//! AWS Signature Version 4, server side: parse the `Authorization` header,
//! rebuild the canonical request, and compare signatures in constant time.
//! Pure functions; the time and the secret are arguments.
use crate::crypto::{constant_time_eq, hmac_sha256, sha256_hex};
use chrono::{DateTime, NaiveDateTime, Utc};

const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// How far a request's date may be from ours, either way.
pub const MAX_SKEW_SECONDS: i64 = 15 * 60;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigV4Error {
    #[error("Request is missing Authentication Token")]
    Missing,
    #[error("{0}")]
    Incomplete(String),
    #[error("{0}")]
    Mismatch(String),
    #[error("{0}")]
    Expired(String),
}

/// The parts of an `Authorization: AWS4-HMAC-SHA256 ...` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    pub access_key_id: String,
    pub date: String,
    pub region: String,
    pub service: String,
    pub signed_headers: Vec<String>,
    pub signature: String,
}

/// What the server saw of the request.
#[derive(Debug, Clone)]
pub struct RequestParts<'a> {
    pub method: &'a str,
    /// The path as sent (still percent-encoded).
    pub path: &'a str,
    /// The raw query string, without `?`.
    pub query: &'a str,
    /// Header names lower-cased, in arrival order, repeats kept.
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

impl<'a> RequestParts<'a> {
    fn header_values<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'a str> + 's {
        self.headers.iter().filter(move |(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    pub fn header(&self, name: &str) -> Option<&'a str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

pub fn parse_authorization(header: &str) -> Result<Authorization, SigV4Error> {
    let incomplete = |m: &str| SigV4Error::Incomplete(m.to_owned());
    let rest = header
        .strip_prefix(ALGORITHM)
        .filter(|r| r.starts_with(' '))
        .ok_or_else(|| incomplete("Authorization header requires AWS4-HMAC-SHA256"))?;
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let part = part.trim();
        if let Some(v) = part.strip_prefix("Credential=") {
            credential = Some(v);
        } else if let Some(v) = part.strip_prefix("SignedHeaders=") {
            signed = Some(v);
        } else if let Some(v) = part.strip_prefix("Signature=") {
            signature = Some(v);
        } else if !part.is_empty() {
            return Err(incomplete("Authorization header has an unknown component"));
        }
    }
    let credential =
        credential.ok_or_else(|| incomplete("Authorization header requires 'Credential' parameter"))?;
    let signed =
        signed.ok_or_else(|| incomplete("Authorization header requires 'SignedHeaders' parameter"))?;
    let signature =
        signature.ok_or_else(|| incomplete("Authorization header requires 'Signature' parameter"))?;
    let scope: Vec<&str> = credential.split('/').collect();
    let [key, date, region, service, terminator] = scope.as_slice() else {
        return Err(incomplete("Credential must have the form KEY/DATE/REGION/SERVICE/aws4_request"));
    };
    if *terminator != "aws4_request"
        || key.is_empty()
        || date.len() != 8
        || !date.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(incomplete("Credential must have the form KEY/DATE/REGION/SERVICE/aws4_request"));
    }
    if signature.len() != 64 || !signature.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(incomplete("Signature must be 64 hexadecimal characters"));
    }
    let signed_headers: Vec<String> = signed.split(';').map(str::to_owned).collect();
    if signed_headers.iter().any(|h| h.is_empty() || h.bytes().any(|b| b.is_ascii_uppercase())) {
        return Err(incomplete("SignedHeaders must be lower-case names separated by ;"));
    }
    Ok(Authorization {
        access_key_id: (*key).to_owned(),
        date: (*date).to_owned(),
        region: (*region).to_owned(),
        service: (*service).to_owned(),
        signed_headers,
        signature: signature.to_ascii_lowercase(),
    })
}

/// RFC 3986 encoding as SigV4 wants it: unreserved characters stay, all else is %XX.
fn uri_encode(s: &str, keep_slash: bool, out: &mut String) {
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            b'/' if keep_slash => out.push('/'),
            _ => {
                out.push('%');
                out.push_str(&format!("{b:02X}"));
            }
        }
    }
}

pub fn canonical_uri(path: &str) -> String {
    if path.is_empty() {
        return "/".into();
    }
    let mut out = String::with_capacity(path.len());
    uri_encode(path, true, &mut out);
    out
}

pub fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = form_urlencoded_pairs(query)
        .map(|(k, v)| {
            let (mut ek, mut ev) = (String::new(), String::new());
            uri_encode(&k, false, &mut ek);
            uri_encode(&v, false, &mut ev);
            (ek, ev)
        })
        .collect();
    pairs.sort();
    pairs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&")
}

/// Query pairs decoded with `%XX` only: `+` stays a plus, as SigV4 treats it.
fn form_urlencoded_pairs(query: &str) -> impl Iterator<Item = (String, String)> + '_ {
    query.split('&').filter(|p| !p.is_empty()).map(|p| {
        let (k, v) = p.split_once('=').unwrap_or((p, ""));
        let dec = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned();
        (dec(k), dec(v))
    })
}

fn canonical_header_value(values: &mut dyn Iterator<Item = &str>) -> String {
    values.map(|v| v.split_whitespace().collect::<Vec<_>>().join(" ")).collect::<Vec<_>>().join(",")
}

pub fn canonical_request(req: &RequestParts<'_>, signed_headers: &[String], payload_hash: &str) -> String {
    let mut out = String::with_capacity(256);
    out.push_str(req.method);
    out.push('\n');
    out.push_str(&canonical_uri(req.path));
    out.push('\n');
    out.push_str(&canonical_query(req.query));
    out.push('\n');
    for name in signed_headers {
        out.push_str(name);
        out.push(':');
        out.push_str(&canonical_header_value(&mut req.header_values(name)));
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&signed_headers.join(";"));
    out.push('\n');
    out.push_str(payload_hash);
    out
}

pub fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> [u8; 32] {
    let k_date = hmac_sha256(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k_region = hmac_sha256(&k_date, region.as_bytes());
    let k_service = hmac_sha256(&k_region, service.as_bytes());
    hmac_sha256(&k_service, b"aws4_request")
}

pub fn string_to_sign(amz_date: &str, scope: &str, canonical_request: &str) -> String {
    format!("{ALGORITHM}\n{amz_date}\n{scope}\n{}", sha256_hex(canonical_request.as_bytes()))
}

/// Computes the signature of a request, as a client would.
pub fn sign(
    req: &RequestParts<'_>,
    auth: &Authorization,
    amz_date: &str,
    secret: &str,
    payload_hash: &str,
) -> String {
    let scope = format!("{}/{}/{}/aws4_request", auth.date, auth.region, auth.service);
    let creq = canonical_request(req, &auth.signed_headers, payload_hash);
    let sts = string_to_sign(amz_date, &scope, &creq);
    hex::encode(hmac_sha256(&signing_key(secret, &auth.date, &auth.region, &auth.service), sts.as_bytes()))
}

fn parse_amz_date(s: &str) -> Option<DateTime<Utc>> {
    NaiveDateTime::parse_from_str(s, "%Y%m%dT%H%M%SZ").ok().map(|t| t.and_utc())
}

/// Checks everything that does not need the secret: the signed headers, the
/// date window, the scope's date, region and service. Returns the request time.
pub fn check_request(
    req: &RequestParts<'_>,
    auth: &Authorization,
    now: DateTime<Utc>,
    region: &str,
    service: &str,
) -> Result<String, SigV4Error> {
    let incomplete = |m: String| SigV4Error::Incomplete(m);
    for required in ["host", "x-amz-date"] {
        if !auth.signed_headers.iter().any(|h| h == required) {
            return Err(incomplete(format!(
                "'{required}' must be a 'SignedHeader' in the AWS Authorization."
            )));
        }
    }
    for h in &auth.signed_headers {
        if req.header(h).is_none() {
            return Err(incomplete(format!("Signed header '{h}' is missing from the request.")));
        }
    }
    let amz_date =
        req.header("x-amz-date").ok_or_else(|| incomplete("Request must carry X-Amz-Date.".into()))?;
    let when = parse_amz_date(amz_date)
        .ok_or_else(|| incomplete(format!("Date `{amz_date}` must be in ISO 8601 basic format.")))?;
    if (now - when).num_seconds().abs() > MAX_SKEW_SECONDS {
        return Err(SigV4Error::Expired(format!(
            "Request timestamp {amz_date} is more than 15 minutes from the server time {}",
            now.format("%Y%m%dT%H%M%SZ")
        )));
    }
    if !amz_date.starts_with(&auth.date) {
        return Err(SigV4Error::Mismatch("Credential date does not match X-Amz-Date.".into()));
    }
    if auth.region != region {
        return Err(SigV4Error::Mismatch(format!(
            "Credential should be scoped to a valid region, not '{}'.",
            auth.region
        )));
    }
    if auth.service != service {
        return Err(SigV4Error::Mismatch(format!(
            "Credential should be scoped to correct service: '{service}'."
        )));
    }
    Ok(amz_date.to_owned())
}

/// Verifies the signature with the caller's secret. The body hash is always
/// computed from the body received; a differing `x-amz-content-sha256` fails.
pub fn verify_signature(
    req: &RequestParts<'_>,
    auth: &Authorization,
    amz_date: &str,
    secret: &str,
) -> Result<(), SigV4Error> {
    let body_hash = sha256_hex(req.body);
    if let Some(claimed) = req.header("x-amz-content-sha256") {
        if !claimed.eq_ignore_ascii_case(&body_hash) {
            return Err(SigV4Error::Mismatch(
                "The provided 'x-amz-content-sha256' header does not match what was computed.".into(),
            ));
        }
    }
    let expected = sign(req, auth, amz_date, secret, &body_hash);
    if constant_time_eq(expected.as_bytes(), auth.signature.as_bytes()) {
        Ok(())
    } else {
        Err(SigV4Error::Mismatch(
            "The request signature we calculated does not match the signature you provided. \
             Check your AWS Secret Access Key and signing method."
                .into(),
        ))
    }
}

#[cfg(test)]
mod tests;
