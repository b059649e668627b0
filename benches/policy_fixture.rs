//! The realistic request and policies shared by the benchmark and the
//! instruction-count driver (`examples/policy_instructions.rs`).
use idbroker::iam::policy::{Policy, PolicyKind, RequestContext};

pub const SELF_SERVICE: &str = r#"{"Version":"2012-10-17","Statement":[
  {"Sid":"OwnKeys","Effect":"Allow","Action":["iam:*AccessKey*","iam:GetUser","iam:ChangePassword"],
   "Resource":"arn:aws:iam::111122223333:user/${aws:username}"},
  {"Sid":"OwnMfa","Effect":"Allow","Action":["iam:*MFADevice"],
   "Resource":["arn:aws:iam::111122223333:mfa/${aws:username}","arn:aws:iam::111122223333:user/${aws:username}"]},
  {"Sid":"NoDeleteWithoutMfa","Effect":"Deny","Action":"iam:Delete*","Resource":"*",
   "Condition":{"BoolIfExists":{"aws:MultiFactorAuthPresent":"false"}}}]}"#;

pub const TEAM: &str = r#"{"Version":"2012-10-17","Statement":[
  {"Sid":"ReadAll","Effect":"Allow","Action":["iam:Get*","iam:List*"],"Resource":"*",
   "Condition":{"IpAddress":{"aws:SourceIp":["10.0.0.0/8","192.0.2.0/24"]}}},
  {"Sid":"TeamUsers","Effect":"Allow","Action":["iam:CreateUser","iam:TagUser","iam:UpdateUser"],
   "Resource":"arn:aws:iam::111122223333:user/teams/*",
   "Condition":{"StringEquals":{"aws:RequestTag/team":"${aws:PrincipalTag/team}"}}},
  {"Sid":"OfficeHours","Effect":"Deny","Action":"iam:*","Resource":"*",
   "Condition":{"DateGreaterThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"}}},
  {"Sid":"Roles","Effect":"Allow","Action":"iam:PassRole","Resource":"arn:aws:iam::111122223333:role/app-*",
   "Condition":{"StringLike":{"iam:PassedToService":"ec2.amazonaws.com"}}}]}"#;

pub const GUARD: &str = r#"{"Version":"2012-10-17","Statement":[
  {"Sid":"NoAdmins","Effect":"Deny","Action":["iam:AttachUserPolicy","iam:PutUserPolicy"],"Resource":"*",
   "Condition":{"ArnEquals":{"iam:PolicyARN":"arn:aws:iam::aws:policy/AdministratorAccess"}}},
  {"Sid":"TaggedOnly","Effect":"Deny","Action":"iam:CreateUser","Resource":"*",
   "Condition":{"Null":{"aws:RequestTag/team":"true"}}},
  {"Sid":"KnownTags","Effect":"Deny","Action":"iam:TagUser","Resource":"*",
   "Condition":{"ForAnyValue:StringNotEquals":{"aws:TagKeys":["team","cost-center"]}}}]}"#;

pub fn context() -> RequestContext {
    let mut c = RequestContext::new("iam:GetUser", "arn:aws:iam::111122223333:user/teams/alice");
    c.set("aws:username", "alice");
    c.set("aws:userid", "AIDAEXAMPLEEXAMPLE123");
    c.set("aws:PrincipalTag/team", "ops");
    c.set("aws:SourceIp", "10.1.2.3");
    c.set("aws:CurrentTime", "2026-11-27T12:00:00Z");
    c.set("aws:SecureTransport", "true");
    c.set("aws:PrincipalArn", "arn:aws:iam::111122223333:user/teams/alice");
    c
}

pub fn policies() -> Vec<Policy> {
    [SELF_SERVICE, TEAM, GUARD].iter().map(|p| Policy::parse(p, PolicyKind::Identity).unwrap()).collect()
}
