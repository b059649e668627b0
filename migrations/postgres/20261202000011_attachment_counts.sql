-- How many principals of an account each policy is attached to, kept with
-- every attach and detach: listing a policy shows its AttachmentCount
-- without counting its attachments (a policy may be attached to every user).
CREATE TABLE attachment_counts (
    account_id  TEXT NOT NULL,
    policy_arn  TEXT NOT NULL,
    attached    BIGINT NOT NULL,
    PRIMARY KEY (account_id, policy_arn)
);
INSERT INTO attachment_counts (account_id, policy_arn, attached)
SELECT p.account_id, a.policy_arn, COUNT(*)
FROM policy_attachments a JOIN principals p ON p.id = a.principal_id
GROUP BY p.account_id, a.policy_arn;
