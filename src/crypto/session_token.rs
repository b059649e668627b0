//! Session tokens: ES256 JWTs signed with idbroker's token keys. Verification
//! pins the algorithm, takes the key only from our own key set by `kid`, and
//! refuses any header field it does not know (`jku`, `x5u`, `jwk`, `crit`, ...).
//! Time claims are checked by the caller against its clock.
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, Header, Validation};
use openssl::bn::BigNumContext;
use openssl::ec::{EcGroup, EcKey};
use openssl::nid::Nid;
use openssl::pkey::PKey;
use serde::de::DeserializeOwned;
use serde::Serialize;

pub const TOKEN_ISSUER: &str = "idbroker";

/// A JWS part: JSON, base64url without padding.
fn part<T: Serialize + ?Sized>(value: &T) -> Result<String, TokenError> {
    serde_json::to_vec(value).map(|j| B64URL.encode(j)).map_err(|e| TokenError::KeyMaterial(e.to_string()))
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("token is malformed")]
    Malformed,
    #[error("token header is not accepted")]
    Header,
    #[error("token was not signed by a known key")]
    UnknownKey,
    #[error("token signature or claims are invalid")]
    Invalid,
    #[error("token key material is invalid: {0}")]
    KeyMaterial(String),
}

struct TokenKey {
    kid: String,
    /// Signing goes through OpenSSL with the key loaded once (the JWT
    /// crate's pure-Rust ECDSA re-parses the key for every token).
    signing: EcKey<openssl::pkey::Private>,
    decoding: DecodingKey,
    x: String,
    y: String,
}

/// The keys that verify session tokens; one of them (the active one) signs.
pub struct TokenKeys {
    keys: Vec<TokenKey>,
    /// Index of the key that signs.
    active: usize,
    validation: Validation,
}

/// A new P-256 private key as PKCS#8 PEM.
pub fn generate_token_key_pem() -> Result<String, TokenError> {
    let err = |e: openssl::error::ErrorStack| TokenError::KeyMaterial(e.to_string());
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).map_err(err)?;
    let key = PKey::from_ec_key(EcKey::generate(&group).map_err(err)?).map_err(err)?;
    String::from_utf8(key.private_key_to_pem_pkcs8().map_err(err)?)
        .map_err(|e| TokenError::KeyMaterial(e.to_string()))
}

fn load_key(kid: &str, pem: &str) -> Result<TokenKey, TokenError> {
    let err = |e: openssl::error::ErrorStack| TokenError::KeyMaterial(e.to_string());
    let ec = PKey::private_key_from_pem(pem.as_bytes()).map_err(err)?.ec_key().map_err(err)?;
    let mut ctx = BigNumContext::new().map_err(err)?;
    let (mut x, mut y) = (openssl::bn::BigNum::new().map_err(err)?, openssl::bn::BigNum::new().map_err(err)?);
    ec.public_key().affine_coordinates(ec.group(), &mut x, &mut y, &mut ctx).map_err(err)?;
    let pad = |b: Vec<u8>| {
        let mut v = vec![0u8; 32usize.saturating_sub(b.len())];
        v.extend(b);
        B64URL.encode(v)
    };
    let (x, y) = (pad(x.to_vec()), pad(y.to_vec()));
    let public_pem = ec.public_key_to_pem().map_err(err)?;
    Ok(TokenKey {
        kid: kid.to_owned(),
        signing: ec.clone(),
        decoding: DecodingKey::from_ec_pem(&public_pem)
            .map_err(|e| TokenError::KeyMaterial(e.to_string()))?,
        x,
        y,
    })
}

impl TokenKeys {
    /// `(kid, PEM)` pairs that verify; the one named `active` signs.
    pub fn from_pems(
        pems: Vec<(String, String)>,
        active: &str,
        audience: &str,
    ) -> Result<TokenKeys, TokenError> {
        let keys = pems.iter().map(|(kid, pem)| load_key(kid, pem)).collect::<Result<Vec<_>, _>>()?;
        let active = keys
            .iter()
            .position(|k| k.kid == active)
            .ok_or_else(|| TokenError::KeyMaterial(format!("the active token key {active} is missing")))?;
        let mut validation = Validation::new(Algorithm::ES256);
        // Time claims are checked against idbroker's clock by the caller.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.required_spec_claims.clear();
        validation.set_issuer(&[TOKEN_ISSUER]);
        validation.set_audience(&[audience]);
        Ok(TokenKeys { keys, active, validation })
    }

    /// An ES256 JWS (RFC 7515 compact form): ECDSA P-256 over SHA-256 of
    /// `header.payload`, the signature as R || S, 32 bytes each.
    pub fn sign<T: Serialize>(&self, claims: &T) -> Result<String, TokenError> {
        let key = self.keys.get(self.active).ok_or(TokenError::UnknownKey)?;
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(key.kid.clone());
        let input = format!("{}.{}", part(&header)?, part(claims)?);
        let err = |e: openssl::error::ErrorStack| TokenError::KeyMaterial(e.to_string());
        let sig = openssl::ecdsa::EcdsaSig::sign(&crate::crypto::sha256(input.as_bytes()), &key.signing)
            .map_err(err)?;
        let mut raw = sig.r().to_vec_padded(32).map_err(err)?;
        raw.extend(sig.s().to_vec_padded(32).map_err(err)?);
        Ok(format!("{input}.{}", B64URL.encode(raw)))
    }

    pub fn verify<T: DeserializeOwned>(&self, token: &str) -> Result<T, TokenError> {
        let kid = strict_header(token)?;
        let key = self.keys.iter().find(|k| k.kid == kid).ok_or(TokenError::UnknownKey)?;
        jsonwebtoken::decode::<T>(token, &key.decoding, &self.validation)
            .map(|d| d.claims)
            .map_err(|_| TokenError::Invalid)
    }

    /// The public keys as a JWK Set.
    pub fn jwks(&self) -> serde_json::Value {
        let keys: Vec<_> = self
            .keys
            .iter()
            .map(|k| {
                serde_json::json!({"kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": k.kid, "x": k.x, "y": k.y})
            })
            .collect();
        serde_json::json!({ "keys": keys })
    }
}

/// Accepts exactly `{"alg":"ES256","typ":"JWT","kid":...}` (typ optional) and
/// returns the kid.
fn strict_header(token: &str) -> Result<String, TokenError> {
    let mut parts = token.split('.');
    let (Some(h), Some(_), Some(_), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(TokenError::Malformed);
    };
    let raw = B64URL.decode(h).map_err(|_| TokenError::Malformed)?;
    let header: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&raw).map_err(|_| TokenError::Malformed)?;
    if header.keys().any(|k| !["alg", "typ", "kid"].contains(&k.as_str())) {
        return Err(TokenError::Header);
    }
    if header.get("alg").and_then(|a| a.as_str()) != Some("ES256") {
        return Err(TokenError::Header);
    }
    match header.get("kid").and_then(|k| k.as_str()) {
        Some(kid) if !kid.is_empty() && kid.len() <= 64 => Ok(kid.to_owned()),
        _ => Err(TokenError::Header),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    struct Claims {
        iss: String,
        aud: String,
        exp: i64,
        v: String,
    }

    fn keys(kids: &[&str]) -> (TokenKeys, Vec<(String, String)>) {
        let pems: Vec<(String, String)> =
            kids.iter().map(|k| (k.to_string(), generate_token_key_pem().unwrap())).collect();
        let active = kids.last().unwrap();
        (TokenKeys::from_pems(pems.clone(), active, "test").unwrap(), pems)
    }

    fn claims() -> Claims {
        Claims { iss: TOKEN_ISSUER.into(), aud: "test".into(), exp: 2_000_000_000, v: "x".into() }
    }

    fn forge(header: &str, payload: &str, sig: &str) -> String {
        format!("{}.{}.{sig}", B64URL.encode(header), B64URL.encode(payload))
    }

    #[test]
    fn the_active_key_signs_and_every_key_verifies() {
        let (k, pems) = keys(&["k1", "k2"]);
        let t = k.sign(&claims()).unwrap();
        assert!(strict_header(&t).unwrap() == "k2");
        assert_eq!(k.verify::<Claims>(&t).unwrap(), claims());
        // A token from the older key still verifies after rotation.
        let old_only = TokenKeys::from_pems(vec![pems[0].clone()], "k1", "test").unwrap();
        let old = old_only.sign(&claims()).unwrap();
        assert!(k.verify::<Claims>(&old).is_ok());
        assert_eq!(k.jwks()["keys"].as_array().unwrap().len(), 2);
        // A key published ahead of its activation verifies but does not sign.
        let ahead = TokenKeys::from_pems(pems.clone(), "k1", "test").unwrap();
        assert_eq!(strict_header(&ahead.sign(&claims()).unwrap()).unwrap(), "k1");
        assert!(ahead.verify::<Claims>(&t).is_ok());
    }

    #[test]
    fn forged_tokens_are_refused() {
        let (k, _) = keys(&["k1"]);
        let good = k.sign(&claims()).unwrap();
        let (h, rest) = good.split_once('.').unwrap();
        let (p, s) = rest.split_once('.').unwrap();
        let payload = String::from_utf8(B64URL.decode(p).unwrap()).unwrap();
        let evil = payload.replace("\"v\":\"x\"", "\"v\":\"admin\"");
        // alg none, stripped signature, HS256, unknown kid, foreign header fields.
        let cases = [
            forge(r#"{"alg":"none","kid":"k1"}"#, &payload, ""),
            format!("{h}.{p}."),
            forge(r#"{"alg":"HS256","kid":"k1"}"#, &payload, "c2ln"),
            forge(r#"{"alg":"ES256","kid":"../../dev/null"}"#, &payload, s),
            forge(r#"{"alg":"ES256","kid":"k1","jku":"https://evil.test/jwks"}"#, &payload, s),
            forge(r#"{"alg":"ES256","kid":"k1","crit":["exp"]}"#, &payload, s),
            format!("{h}.{}.{s}", B64URL.encode(&evil)),
            format!("{h}.{p}"),
            "not a token".into(),
        ];
        for bad in cases {
            assert!(k.verify::<Claims>(&bad).is_err(), "{bad}");
        }
        // Claims of the wrong types or audience are refused.
        let (other, _) = keys(&["k1"]);
        assert_eq!(other.verify::<Claims>(&good), Err(TokenError::Invalid));
        let wrong_aud =
            TokenKeys::from_pems(vec![("k1".into(), generate_token_key_pem().unwrap())], "k1", "other")
                .unwrap();
        let t = wrong_aud.sign(&claims()).unwrap();
        assert!(wrong_aud.verify::<Claims>(&t).is_err());
    }
}
