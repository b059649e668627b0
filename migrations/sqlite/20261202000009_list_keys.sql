-- Every list reads one page through an index, whatever the account's size
-- (keyset pagination). A group's members page by user name, so each
-- membership keeps the user's name key (updated on rename).
ALTER TABLE group_members ADD COLUMN user_name_key TEXT NOT NULL DEFAULT '';
UPDATE group_members SET user_name_key = (SELECT name_key FROM principals WHERE id = group_members.user_id);
CREATE INDEX group_members_by_name ON group_members (group_id, user_name_key);

-- The principals a policy is attached to, page by page.
DROP INDEX policy_attachments_policy;
CREATE INDEX policy_attachments_policy ON policy_attachments (policy_arn, principal_id);

-- An account's MFA devices page by serial; a user's or the root user's
-- devices are found without reading the account's.
CREATE INDEX mfa_devices_account ON mfa_devices (account_id, serial);
CREATE INDEX mfa_devices_user ON mfa_devices (user_id);
