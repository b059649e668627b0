-- Service providers of the built-in IdP registered at run time (the
-- configuration file's stay in the configuration). Every node reads them
-- again when the change counter moves. `acs` is a JSON array of
-- {"index": N, "url": "..."}, the default first; `signing_certificate` is the
-- base64 DER of the certificate its AuthnRequests must verify with.
CREATE TABLE service_providers (
    entity_id            TEXT PRIMARY KEY,
    acs                  TEXT NOT NULL,
    signing_certificate  TEXT,
    sign_assertions      BIGINT NOT NULL,
    metadata             TEXT,
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL
);
