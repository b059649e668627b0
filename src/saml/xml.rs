//! The one XML reader of the SAML path: strict XML 1.0 (fifth edition) with
//! Namespaces 1.0, never recovering. It refuses what the SAML path has no use
//! for (DOCTYPE and entities, comments, processing instructions, CDATA) and
//! everything that is not well-formed, so the tree it returns is the only
//! reading of the message: the signature is checked over this tree's
//! canonical form and the claims are read from these same nodes.
//!
//! Values are borrowed from the input where nothing had to be replaced
//! (references, line ends, attribute white space), which keeps a parse at a
//! few microseconds for a typical Response.
use std::borrow::Cow;

pub const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";
/// XML's white space (S): what may sit between elements and pad values.
pub const XML_SPACE: [char; 4] = [' ', '\t', '\n', '\r'];
const XMLNS_NS: &str = "http://www.w3.org/2000/xmlns/";

/// Bounds on a document's shape, checked while it is read.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_depth: usize,
    pub max_elements: usize,
    pub max_attributes: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    #[error("not well-formed at byte {at}: {what}")]
    Malformed { at: usize, what: &'static str },
    #[error("DOCTYPE or entity reference at byte {at}")]
    Doctype { at: usize },
    #[error("document too deep or too wide")]
    TooComplex,
}

/// Index of a namespace URI in `Document::uris`: 0 is "no namespace", 1 is `XML_NS`.
pub type UriId = u32;
const NO_NS: UriId = 0;
const XML_URI: UriId = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Node {
    Element(usize),
    Text(usize),
}

#[derive(Debug)]
pub struct Element<'a> {
    /// The qualified name as written (`saml:Assertion`).
    pub qname: &'a str,
    pub prefix: &'a str,
    pub local: &'a str,
    pub ns: UriId,
    pub parent: Option<usize>,
    pub children: Vec<Node>,
    /// Namespace declarations made on this element: (prefix, "" for the default; URI).
    pub declarations: Vec<(&'a str, UriId)>,
    pub attributes: Vec<Attribute<'a>>,
}

#[derive(Debug)]
pub struct Attribute<'a> {
    pub qname: &'a str,
    pub prefix: &'a str,
    pub local: &'a str,
    pub ns: UriId,
    /// The normalised value (XML 1.0 §3.3.3).
    pub value: Cow<'a, str>,
}

/// A well-formed, namespace-well-formed document. Element 0 is the root.
#[derive(Debug)]
pub struct Document<'a> {
    pub elements: Vec<Element<'a>>,
    pub texts: Vec<Cow<'a, str>>,
    uris: Vec<Cow<'a, str>>,
}

impl<'a> Document<'a> {
    pub fn uri(&self, id: UriId) -> &str {
        &self.uris[id as usize]
    }

    pub fn element(&self, id: usize) -> &Element<'a> {
        &self.elements[id]
    }

    /// Whether element `id` is `{ns}local`.
    pub fn is(&self, id: usize, ns: &str, local: &str) -> bool {
        let e = &self.elements[id];
        e.local == local && self.uri(e.ns) == ns
    }

    /// The element children of `id`, in order.
    pub fn child_elements(&self, id: usize) -> impl Iterator<Item = usize> + '_ {
        self.elements[id].children.iter().filter_map(|n| match n {
            Node::Element(e) => Some(*e),
            Node::Text(_) => None,
        })
    }

    /// The element children of `id`, or None if any text beside them is not
    /// white space (mixed content, which no SAML element has).
    pub fn element_children_only(&self, id: usize) -> Option<Vec<usize>> {
        let children = &self.elements[id].children;
        let mut out = Vec::with_capacity(children.len());
        for child in children {
            match child {
                Node::Element(e) => out.push(*e),
                Node::Text(t) if self.texts[*t].trim_matches(XML_SPACE).is_empty() => {}
                Node::Text(_) => return None,
            }
        }
        Some(out)
    }

    /// The value of the unqualified attribute `name` of element `id`.
    pub fn attribute(&self, id: usize, name: &str) -> Option<&str> {
        self.elements[id].attributes.iter().find(|a| a.ns == NO_NS && a.local == name).map(|a| &*a.value)
    }

    /// The value of the attribute `{ns}local` of element `id`.
    pub fn attribute_ns(&self, id: usize, ns: &str, local: &str) -> Option<&str> {
        self.elements[id]
            .attributes
            .iter()
            .find(|a| a.local == local && a.ns != NO_NS && self.uri(a.ns) == ns)
            .map(|a| &*a.value)
    }

    /// The text of element `id` if it has no element children (None if it has).
    pub fn text(&self, id: usize) -> Option<Cow<'_, str>> {
        let children = &self.elements[id].children;
        match children.as_slice() {
            [] => Some(Cow::Borrowed("")),
            [Node::Text(t)] => Some(Cow::Borrowed(&self.texts[*t])),
            _ => {
                let mut out = String::new();
                for c in children {
                    match c {
                        Node::Text(t) => out.push_str(&self.texts[*t]),
                        Node::Element(_) => return None,
                    }
                }
                Some(Cow::Owned(out))
            }
        }
    }

    /// The namespace bound to `prefix` ("" for the default) at element `id`.
    pub fn lookup(&self, id: usize, prefix: &str) -> UriId {
        if prefix == "xml" {
            return XML_URI;
        }
        let mut at = Some(id);
        while let Some(e) = at {
            let element = &self.elements[e];
            if let Some((_, uri)) = element.declarations.iter().find(|(p, _)| *p == prefix) {
                return *uri;
            }
            at = element.parent;
        }
        NO_NS
    }
}

/// Parses `text` as one XML document, or says where it is not well-formed.
pub fn parse(text: &str, limits: Limits) -> Result<Document<'_>, XmlError> {
    parser::Parser::new(text, limits).document()
}

mod lexical;
mod parser;

#[cfg(test)]
mod tests;
