//! Policy variables: `${aws:username}`, `${aws:PrincipalTag/team}`, `${saml:sub}`,
//! the literal escapes `${*}`, `${?}`, `${$}`, and defaults `${key, 'value'}`.
//! Only `Version: 2012-10-17` documents substitute; older ones take `${...}` literally.
use super::context::RequestContext;
use super::glob;

/// Replaces the variables in `text`. Returns `None` when a variable has no value
/// and no default: AWS then treats that element as not matching.
/// With `for_glob`, substituted values are escaped so their `*` and `?` are literal.
pub(super) fn substitute(text: &str, ctx: &RequestContext, for_glob: bool) -> Option<String> {
    let mut out = String::with_capacity(text.len() + 16);
    let mut rest = text;
    while let Some(start) = find_open(rest) {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return Some(out);
        };
        let inner = &after[..end];
        let value = match inner {
            "*" | "?" | "$" => Some(inner.to_owned()),
            _ => {
                let (key, default) = split_default(inner);
                ctx.single_value(key).map(str::to_owned).or(default)
            }
        };
        let value = value?;
        if for_glob {
            glob::escape(&value, &mut out);
        } else {
            out.push_str(&value);
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Some(out)
}

/// Where the next `${` starts (a byte scan: cheaper than a substring search).
fn find_open(s: &str) -> Option<usize> {
    s.as_bytes().windows(2).position(|w| w == b"${")
}

fn split_default(inner: &str) -> (&str, Option<String>) {
    match inner.split_once(',') {
        Some((key, default)) => {
            let d = default.trim();
            let d = d.strip_prefix('\'').and_then(|d| d.strip_suffix('\'')).unwrap_or(d);
            (key.trim(), Some(d.to_owned()))
        }
        None => (inner.trim(), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> RequestContext {
        let mut c = RequestContext::new("iam:GetUser", "arn:aws:iam::111122223333:user/alice");
        c.set("aws:username", "alice");
        c.set("aws:PrincipalTag/team", "a*b");
        c
    }

    #[test]
    fn substitutes_values_defaults_and_escapes() {
        let c = ctx();
        assert_eq!(substitute("user/${aws:username}", &c, false).as_deref(), Some("user/alice"));
        assert_eq!(substitute("x/${AWS:UserName}/y", &c, false).as_deref(), Some("x/alice/y"));
        assert_eq!(substitute("${aws:PrincipalTag/team}", &c, true).as_deref(), Some("a\\*b"));
        assert_eq!(substitute("${*}${?}${$}", &c, false).as_deref(), Some("*?$"));
        assert_eq!(substitute("${saml:sub, 'nobody'}", &c, false).as_deref(), Some("nobody"));
        assert_eq!(substitute("${saml:sub}", &c, false), None);
        assert_eq!(substitute("no vars", &c, false).as_deref(), Some("no vars"));
    }
}
