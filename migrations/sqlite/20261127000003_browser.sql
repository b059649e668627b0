-- Browser sign-in: the entity id of each SAML provider (the ACS finds the
-- provider of a response by its Issuer), server-side web sessions, pending
-- AuthnRequests (single use, bound to the browser that started them) and
-- console sign-in tokens (single use). Secrets in `data` are sealed.
ALTER TABLE saml_providers ADD COLUMN entity_id TEXT NOT NULL DEFAULT '';
CREATE INDEX saml_providers_entity ON saml_providers (entity_id);

CREATE TABLE web_sessions (
    id_hash     TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    data        TEXT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX web_sessions_expiry ON web_sessions (expires_at);

CREATE TABLE authn_requests (
    id            TEXT PRIMARY KEY,
    provider_arn  TEXT NOT NULL,
    browser_hash  TEXT NOT NULL,
    expires_at    BIGINT NOT NULL
);

CREATE TABLE signin_tokens (
    id_hash     TEXT PRIMARY KEY,
    data        TEXT NOT NULL,
    expires_at  BIGINT NOT NULL
);
