//! Wildcard matching for Action, Resource, StringLike and ArnLike: `*` matches any
//! run of characters (also none), `?` exactly one. A backslash in a compiled
//! pattern makes the next character literal; policy text never contains such
//! escapes (parsing doubles any backslash), only substituted variables do.

fn utf8_len(lead: u8) -> usize {
    match lead {
        0x00..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        _ => 4,
    }
}

/// Matches `text` against `pattern`. ASCII letters compare case-insensitively
/// when `fold_case` is set (action names); otherwise exactly.
pub fn glob_match(pattern: &str, text: &str, fold_case: bool) -> bool {
    let p = pattern.as_bytes();
    let t = text.as_bytes();
    let (mut pi, mut ti) = (0usize, 0usize);
    // Where to resume after the last `*`: (pattern index after it, text index it covers up to).
    let mut resume: Option<(usize, usize)> = None;
    let eq = |a: u8, b: u8| {
        if fold_case {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    };
    while ti < t.len() {
        if pi < p.len() {
            match p[pi] {
                b'*' => {
                    pi += 1;
                    resume = Some((pi, ti));
                    continue;
                }
                b'?' => {
                    pi += 1;
                    ti += utf8_len(t[ti]);
                    continue;
                }
                b'\\' if pi + 1 < p.len() && eq(p[pi + 1], t[ti]) => {
                    pi += 2;
                    ti += 1;
                    continue;
                }
                b'\\' => {}
                c if eq(c, t[ti]) => {
                    pi += 1;
                    ti += 1;
                    continue;
                }
                _ => {}
            }
        }
        match resume {
            Some((sp, st)) => {
                let next = st + utf8_len(t[st]);
                resume = Some((sp, next));
                pi = sp;
                ti = next;
            }
            None => return false,
        }
    }
    while pi < p.len() && p[pi] == b'*' {
        pi += 1;
    }
    pi == p.len()
}

/// ARN matching as AWS does for `Resource`, `ArnLike` and `ArnEquals`: each of the
/// six colon-separated parts is matched on its own, so a `*` in the account part
/// cannot swallow the service. A pattern of fewer parts (such as `*`) is matched
/// against the whole ARN.
pub fn arn_like(pattern: &str, arn: &str) -> bool {
    match PatternShape::of(pattern) {
        PatternShape::Anything => true,
        PatternShape::Literal => pattern == arn,
        PatternShape::Glob { arn_parts } => arn_glob(pattern, arn, arn_parts),
    }
}

/// What a pattern needs for matching, worked out once when a policy is parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PatternShape {
    /// `*`: matches everything.
    Anything,
    /// No wildcard: matching is equality.
    Literal,
    /// Wildcards; `arn_parts` when it has the six parts of an ARN.
    Glob { arn_parts: bool },
}

impl PatternShape {
    pub(super) fn of(pattern: &str) -> PatternShape {
        if pattern == "*" {
            PatternShape::Anything
        } else if !pattern.bytes().any(|b| matches!(b, b'*' | b'?' | b'\\')) {
            PatternShape::Literal
        } else {
            PatternShape::Glob { arn_parts: pattern.bytes().filter(|&b| b == b':').count() >= 5 }
        }
    }
}

/// ARN matching for a pattern with wildcards.
pub(super) fn arn_glob(pattern: &str, arn: &str, arn_parts: bool) -> bool {
    if !arn_parts {
        return glob_match(pattern, arn, false);
    }
    let mut arn_rest = arn.splitn(6, ':');
    for p in pattern.splitn(6, ':') {
        match arn_rest.next() {
            Some(a) if glob_match(p, a, false) => {}
            _ => return false,
        }
    }
    arn_rest.next().is_none()
}

/// Makes `value` literal inside a glob pattern.
pub(super) fn escape(value: &str, out: &mut String) {
    for c in value.chars() {
        if matches!(c, '*' | '?' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// An obviously correct reference: recursion over characters.
    fn reference(p: &[char], t: &[char]) -> bool {
        match (p.first(), t.first()) {
            (None, None) => true,
            (Some('*'), _) => reference(&p[1..], t) || (!t.is_empty() && reference(p, &t[1..])),
            (Some('?'), Some(_)) => reference(&p[1..], &t[1..]),
            (Some(a), Some(b)) if a == b => reference(&p[1..], &t[1..]),
            _ => false,
        }
    }

    #[test]
    fn documented_examples() {
        assert!(glob_match("iam:*", "iam:CreateUser", true));
        assert!(glob_match("iam:Get*", "iam:getuser", true));
        assert!(!glob_match("iam:Get*", "iam:ListUsers", true));
        assert!(glob_match("iam:?etUser", "iam:GetUser", true));
        assert!(!glob_match("iam:?etUser", "iam:etUser", true));
        assert!(glob_match("*", "", false));
        assert!(glob_match("a*b*c", "aXXbYYbc", false));
        assert!(!glob_match("User", "user", false));
        assert!(glob_match("h?llo", "héllo", false));
        assert!(glob_match("\\*", "*", false));
        assert!(!glob_match("\\*", "x", false));
    }

    #[test]
    fn arns_match_part_by_part() {
        assert!(arn_like("arn:aws:iam::111122223333:user/*", "arn:aws:iam::111122223333:user/a/b"));
        assert!(arn_like("arn:aws:iam::*:role/Dev", "arn:aws:iam::111122223333:role/Dev"));
        assert!(!arn_like("arn:aws:iam::*:role/Dev", "arn:aws:iam::111122223333:role/Ops"));
        assert!(!arn_like("arn:aws:iam::*:*", "arn:aws:s3:::bucket"));
        assert!(!arn_like("arn:aws:iam::1*:user/a", "arn:aws:iam::111122223333:role/x:user/a"));
        assert!(arn_like("*", "arn:aws:iam::111122223333:role/Dev"));
        assert!(arn_like("arn:aws:s3:::bucket/a:*", "arn:aws:s3:::bucket/a:b:c"));
        assert!(!arn_like("arn:aws:iam::111122223333:user/*", "arn:aws:iam::999988887777:user/a"));
    }

    proptest! {
        #[test]
        fn agrees_with_the_reference(p in "[ab*?é]{0,8}", t in "[abé]{0,10}") {
            let pc: Vec<char> = p.chars().collect();
            let tc: Vec<char> = t.chars().collect();
            prop_assert_eq!(glob_match(&p, &t, false), reference(&pc, &tc));
        }

        #[test]
        fn star_matches_everything(t in ".{0,20}") {
            prop_assert!(glob_match("*", &t, false));
        }

        #[test]
        fn escaped_text_matches_only_itself(v in "[a*?\\\\]{0,6}", t in "[a*?\\\\]{0,6}") {
            let mut pat = String::new();
            escape(&v, &mut pat);
            prop_assert_eq!(glob_match(&pat, &t, false), v == t);
        }
    }
}
