//! The AWS Query protocol as plain data: form parameters in, an element tree out,
//! rendered as AWS's XML. Shared by IAM and STS; no HTTP here.
use std::collections::HashMap;
use std::fmt::Write;

/// A service's actions and what serves each, in one list: the names
/// (`ACTIONS`) and the dispatch (`async fn $dispatch`) are both made from it,
/// so neither can lack what the other has. `$unknown` answers any other name.
macro_rules! action_table {
    (async fn $dispatch:ident($($arg:ident: $ty:ty),*; $action:ident) -> $out:ty;
     unknown: $unknown:expr;
     $($name:literal => $serve:expr,)+) => {
        /// Every action this build serves, spelt as AWS spells it.
        pub const ACTIONS: &[&str] = &[$($name),+];

        async fn $dispatch($($arg: $ty),*, $action: &str) -> $out {
            match $action {
                $($name => $serve,)+
                other => Err($unknown(other)),
            }
        }
    };
}
pub(crate) use action_table;

/// The validation failure AWS reports for a bad parameter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParamError(pub String);

/// Decoded form parameters of one request.
#[derive(Debug, Clone, Default)]
pub struct Params {
    pairs: Vec<(String, String)>,
    index: HashMap<String, usize>,
}

fn lower_first(name: &str) -> String {
    let mut c = name.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

impl Params {
    pub fn parse(body: &[u8]) -> Params {
        Self::from_pairs(
            form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned())).collect(),
        )
    }

    pub fn from_pairs(pairs: Vec<(String, String)>) -> Params {
        let mut index = HashMap::new();
        for (i, (k, _)) in pairs.iter().enumerate() {
            // The first occurrence of a name counts, as on AWS.
            index.entry(k.clone()).or_insert(i);
        }
        Params { pairs, index }
    }

    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.index.get(name).map(|&i| self.pairs[i].1.as_str())
    }

    pub fn required(&self, name: &str) -> Result<&str, ParamError> {
        self.get(name).ok_or_else(|| {
            ParamError(format!(
                "1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must not be null",
                lower_first(name)
            ))
        })
    }

    /// A string whose length (in characters) must lie in `min..=max`.
    pub fn string(&self, name: &str, min: usize, max: usize) -> Result<Option<&str>, ParamError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => {
                let n = v.chars().count();
                if n < min || n > max {
                    return Err(ParamError(format!(
                        "1 validation error detected: Value at '{}' failed to satisfy constraint: \
                         Member must have length between {min} and {max}",
                        lower_first(name)
                    )));
                }
                Ok(Some(v))
            }
        }
    }

    pub fn required_string(&self, name: &str, min: usize, max: usize) -> Result<&str, ParamError> {
        self.required(name)?;
        self.string(name, min, max)?.ok_or_else(|| ParamError(String::new()))
    }

    pub fn int(&self, name: &str, min: i64, max: i64) -> Result<Option<i64>, ParamError> {
        let Some(v) = self.get(name) else {
            return Ok(None);
        };
        match v.parse::<i64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(Some(n)),
            _ => Err(ParamError(format!(
                "1 validation error detected: Value '{v}' at '{}' failed to satisfy constraint: \
                 Member must have value between {min} and {max}",
                lower_first(name)
            ))),
        }
    }

    pub fn bool(&self, name: &str) -> Result<Option<bool>, ParamError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(v) => Err(ParamError(format!("Value '{v}' for parameter {name} is not a boolean"))),
        }
    }

    /// `Name.member.1`, `Name.member.2`, ... in order, stopping at the first gap.
    pub fn list(&self, name: &str) -> Vec<&str> {
        (1..).map_while(|i| self.get(&format!("{name}.member.{i}"))).collect()
    }

    /// `Tags.member.N.Key` / `.Value` pairs.
    pub fn key_values(&self, name: &str, key: &str, value: &str) -> Vec<(&str, &str)> {
        (1..)
            .map_while(|i| {
                let k = self.get(&format!("{name}.member.{i}.{key}"))?;
                Some((k, self.get(&format!("{name}.member.{i}.{value}")).unwrap_or("")))
            })
            .collect()
    }
}

/// One element of a result.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Text(&'static str, String),
    Struct(&'static str, Vec<Node>),
    /// A list: each item becomes a `<member>`.
    List(&'static str, Vec<Member>),
    /// A map (`entry` / `key` / `value`), as in GetAccountSummary.
    Map(&'static str, Vec<(String, String)>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Member {
    Text(String),
    Struct(Vec<Node>),
}

pub fn text(name: &'static str, value: impl Into<String>) -> Node {
    Node::Text(name, value.into())
}

/// A text element only when there is a value.
pub fn text_opt(name: &'static str, value: Option<impl Into<String>>) -> Option<Node> {
    value.map(|v| Node::Text(name, v.into()))
}

/// `s` escaped for XML text and attribute values.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    escape_xml(s, &mut out);
    out
}

pub fn escape_xml(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
}

fn render_nodes(nodes: &[Node], out: &mut String) {
    for n in nodes {
        match n {
            Node::Text(name, v) => {
                let _ = write!(out, "<{name}>");
                escape_xml(v, out);
                let _ = write!(out, "</{name}>");
            }
            Node::Struct(name, children) => {
                let _ = write!(out, "<{name}>");
                render_nodes(children, out);
                let _ = write!(out, "</{name}>");
            }
            Node::List(name, members) => {
                let _ = write!(out, "<{name}>");
                for m in members {
                    out.push_str("<member>");
                    match m {
                        Member::Text(v) => escape_xml(v, out),
                        Member::Struct(children) => render_nodes(children, out),
                    }
                    out.push_str("</member>");
                }
                let _ = write!(out, "</{name}>");
            }
            Node::Map(name, entries) => {
                let _ = write!(out, "<{name}>");
                for (k, v) in entries {
                    out.push_str("<entry><key>");
                    escape_xml(k, out);
                    out.push_str("</key><value>");
                    escape_xml(v, out);
                    out.push_str("</value></entry>");
                }
                let _ = write!(out, "</{name}>");
            }
        }
    }
}

/// `<{Action}Response xmlns=..><{Action}Result>..</..><ResponseMetadata>..`.
/// An action without a result (a delete) has no Result element.
pub fn render_response(action: &str, namespace: &str, result: Option<&[Node]>, request_id: &str) -> String {
    let mut out = String::with_capacity(512);
    let _ = write!(out, "<{action}Response xmlns=\"{namespace}\">");
    if let Some(nodes) = result {
        let _ = write!(out, "<{action}Result>");
        render_nodes(nodes, &mut out);
        let _ = write!(out, "</{action}Result>");
    }
    out.push_str("<ResponseMetadata><RequestId>");
    escape_xml(request_id, &mut out);
    let _ = write!(out, "</RequestId></ResponseMetadata></{action}Response>");
    out
}

pub fn render_error(namespace: &str, sender: bool, code: &str, message: &str, request_id: &str) -> String {
    let mut out = String::with_capacity(256);
    let _ = write!(
        out,
        "<ErrorResponse xmlns=\"{namespace}\"><Error><Type>{}</Type><Code>",
        if sender { "Sender" } else { "Receiver" }
    );
    escape_xml(code, &mut out);
    out.push_str("</Code><Message>");
    escape_xml(message, &mut out);
    out.push_str("</Message></Error><RequestId>");
    escape_xml(request_id, &mut out);
    out.push_str("</RequestId></ErrorResponse>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lists_and_tags() {
        let p = Params::parse(b"Action=X&Tags.member.1.Key=a&Tags.member.1.Value=1&Tags.member.2.Key=b&ClientIDList.member.1=x&ClientIDList.member.2=y&ClientIDList.member.4=z");
        assert_eq!(p.key_values("Tags", "Key", "Value"), vec![("a", "1"), ("b", "")]);
        assert_eq!(p.list("ClientIDList"), vec!["x", "y"]);
        assert!(p.required("UserName").unwrap_err().0.contains("'userName'"));
    }

    #[test]
    fn renders_escaped_xml() {
        let body = render_response(
            "GetUser",
            "https://iam.amazonaws.com/doc/2010-05-08/",
            Some(&[Node::Struct("User", vec![text("UserName", "a<b&c")])]),
            "rid",
        );
        assert_eq!(
            body,
            "<GetUserResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><GetUserResult><User><UserName>a&lt;b&amp;c</UserName></User></GetUserResult><ResponseMetadata><RequestId>rid</RequestId></ResponseMetadata></GetUserResponse>"
        );
    }
}
