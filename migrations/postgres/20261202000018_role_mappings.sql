-- Directory group -> role rules of the built-in IdP, edited at run time in
-- the admin console; the configuration's idp.role_mappings seed it once.
-- `account_id` is the role's account: an administrator sees and changes only
-- the rules for roles of their own account.
CREATE TABLE role_mappings (
    group_dn    TEXT NOT NULL,
    role_arn    TEXT NOT NULL,
    account_id  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (group_dn, role_arn)
);
CREATE INDEX role_mappings_account ON role_mappings (account_id);
-- Seeds applied once (their names), so a rule deleted at run time stays deleted.
CREATE TABLE seeds (
    name  TEXT PRIMARY KEY
);
