-- A SAML provider's last verified response and last refused one (with the
-- check it failed), for the admin console; written at most once a minute
-- per provider and outcome by each node.
ALTER TABLE saml_providers ADD COLUMN last_success_at BIGINT;
ALTER TABLE saml_providers ADD COLUMN last_failure_at BIGINT;
ALTER TABLE saml_providers ADD COLUMN last_failure_check TEXT;

-- The admin console's sign-in history reads one account's events, newest
-- first. (Not request ids: an index of random ids cost a third of
-- GetCallerIdentity's throughput on SQLite; a request id is found among the
-- account's events.)
CREATE INDEX audit_events_account ON audit_events (account_id, id);

-- Refused assertions kept a short while (audit.keep_refused_assertions_seconds),
-- sealed, for the assertion debugger only; named by the refusal's audit event.
CREATE TABLE kept_assertions (
    id          TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL,
    sealed      TEXT NOT NULL,
    expires_at  BIGINT NOT NULL
);
