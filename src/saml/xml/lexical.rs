//! The lexical rules of XML 1.0 (fifth edition), Namespaces 1.0 and RFC 3986
//! that the reader applies: characters, names, references, namespace names.

pub(super) fn char_ref(digits: &str, radix: u32) -> Option<char> {
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let c = char::from_u32(u32::from_str_radix(digits, radix).ok()?)?;
    is_xml_char(c).then_some(c)
}

/// An absolute URI per RFC 3986 (`scheme ":" hier-part [ "?" query ] [ "#"
/// fragment ]`), without IP literals: what a namespace name must be, and what
/// libxml2 checks before xmlsec will touch a document.
pub(super) fn is_absolute_uri(uri: &str) -> bool {
    let pct_ok = |s: &str| {
        let b = s.as_bytes();
        b.iter().enumerate().all(|(i, c)| {
            *c != b'%' || b.get(i + 1..i + 3).is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit))
        })
    };
    let chars_ok = |s: &str, extra: &[u8]| {
        pct_ok(s)
            && s.bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"-._~%!$&'()*+,;=".contains(&c) || extra.contains(&c))
    };
    let Some((scheme, rest)) = uri.split_once(':') else { return false };
    if !scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        || !scheme.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    {
        return false;
    }
    let (rest, fragment) = rest.split_once('#').unwrap_or((rest, ""));
    let (hier, query) = rest.split_once('?').unwrap_or((rest, ""));
    if !chars_ok(fragment, b":@/?") || !chars_ok(query, b":@/?") {
        return false;
    }
    let path = match hier.strip_prefix("//") {
        Some(after) => {
            let (authority, path) = after.find('/').map_or((after, ""), |i| after.split_at(i));
            let host_port = authority.rsplit_once('@').map_or(authority, |(user, host)| {
                if chars_ok(user, b":") {
                    host
                } else {
                    "\u{0}"
                }
            });
            // RFC 3986 allows an empty port after ':'; libxml2 does not, nor
            // would any namespace name: a port is 1 to 5 digits.
            let (host, port) = host_port.split_once(':').unwrap_or((host_port, "1"));
            if !chars_ok(host, b"")
                || !(1..=5).contains(&port.len())
                || !port.bytes().all(|c| c.is_ascii_digit())
            {
                return false;
            }
            path
        }
        None => hier,
    };
    chars_ok(path, b":@/")
}

/// Char ::= #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

/// NameStartChar without ':' (Namespaces 1.0 NCName).
pub(super) fn is_name_start(c: char) -> bool {
    matches!(c,
        'A'..='Z' | '_' | 'a'..='z' | '\u{C0}'..='\u{D6}' | '\u{D8}'..='\u{F6}' | '\u{F8}'..='\u{2FF}'
        | '\u{370}'..='\u{37D}' | '\u{37F}'..='\u{1FFF}' | '\u{200C}'..='\u{200D}' | '\u{2070}'..='\u{218F}'
        | '\u{2C00}'..='\u{2FEF}' | '\u{3001}'..='\u{D7FF}' | '\u{F900}'..='\u{FDCF}' | '\u{FDF0}'..='\u{FFFD}'
        | '\u{10000}'..='\u{EFFFF}')
}

pub(super) fn is_name_char(c: char) -> bool {
    is_name_start(c)
        || matches!(c, '-' | '.' | '0'..='9' | '\u{B7}' | '\u{300}'..='\u{36F}' | '\u{203F}'..='\u{2040}')
}
