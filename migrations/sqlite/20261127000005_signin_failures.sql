-- Failed sign-ins by user name and by source address, shared by every node,
-- so the throttle holds across a deployment. Old rows are swept.
CREATE TABLE signin_failures (
    throttle_key  TEXT NOT NULL,
    failed_at     BIGINT NOT NULL
);
CREATE INDEX signin_failures_key ON signin_failures (throttle_key, failed_at);
