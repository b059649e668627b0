//! Result elements in AWS's shapes.
use crate::domain::{EntityKind, ManagedPolicy, Principal, Tag};
use crate::query::{text, text_opt, Member, Node};
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};

/// IAM returns policy documents URL-encoded; botocore decodes them.
pub fn encoded_document(doc: &str) -> String {
    utf8_percent_encode(doc, NON_ALPHANUMERIC).to_string()
}

pub fn date(secs: i64) -> String {
    crate::domain::iso_time(secs)
}

fn boundary(p: &Principal) -> Option<Node> {
    p.permissions_boundary.as_ref().map(|arn| {
        Node::Struct(
            "PermissionsBoundary",
            vec![
                text("PermissionsBoundaryType", "PermissionsBoundaryPolicy"),
                text("PermissionsBoundaryArn", arn),
            ],
        )
    })
}

pub fn tag_list(tags: &[Tag]) -> Node {
    Node::List(
        "Tags",
        tags.iter().map(|t| Member::Struct(vec![text("Key", &t.key), text("Value", &t.value)])).collect(),
    )
}

/// A user, group or role element. `tags` is given only where AWS includes them.
pub fn principal_fields(p: &Principal, tags: Option<&[Tag]>) -> Vec<Node> {
    let (name_el, id_el) = match p.kind {
        EntityKind::User => ("UserName", "UserId"),
        EntityKind::Group => ("GroupName", "GroupId"),
        _ => ("RoleName", "RoleId"),
    };
    let mut v = vec![
        text("Path", &p.path),
        text(name_el, &p.name),
        text(id_el, &p.id),
        text("Arn", &p.arn),
        text("CreateDate", date(p.created_at)),
    ];
    if p.kind == EntityKind::Role {
        if let Some(doc) = &p.trust_policy {
            v.push(text("AssumeRolePolicyDocument", encoded_document(doc)));
        }
        v.extend(text_opt("Description", p.description.as_deref()));
        v.extend(p.max_session_duration.map(|d| text("MaxSessionDuration", d.to_string())));
    }
    if p.kind == EntityKind::User {
        v.extend(p.password_last_used.map(|t| text("PasswordLastUsed", date(t))));
    }
    v.extend(boundary(p));
    if let Some(tags) = tags.filter(|t| !t.is_empty()) {
        v.push(tag_list(tags));
    }
    v
}

pub fn managed_policy_fields(p: &ManagedPolicy, tags: Option<&[Tag]>) -> Vec<Node> {
    let mut v = vec![
        text("PolicyName", &p.name),
        text("PolicyId", &p.id),
        text("Arn", &p.arn),
        text("Path", &p.path),
        text("DefaultVersionId", &p.default_version),
        text("AttachmentCount", p.attachment_count.to_string()),
        text("PermissionsBoundaryUsageCount", "0"),
        text("IsAttachable", "true"),
    ];
    v.extend(text_opt("Description", p.description.as_deref()));
    v.push(text("CreateDate", date(p.created_at)));
    v.push(text("UpdateDate", date(p.updated_at)));
    if let Some(tags) = tags.filter(|t| !t.is_empty()) {
        v.push(tag_list(tags));
    }
    v
}
