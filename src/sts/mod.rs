//! STS and request authentication. `sigv4` is pure canonicalisation and signing;
//! the caller looks the key up and calls `sigv4::verify`.
pub mod sigv4;
