-- Service providers of the built-in IdP registered at run time (the
-- configuration file's stay in the configuration). Every node reads them
-- again when the change counter moves. `acs` is a JSON array of
-- {"index": N, "url": "..."}, the default first; `signing_certificate` is the
-- base64 DER of the certificate its AuthnRequests must verify with. An SP
-- registered by `metadata_url` is fetched again on a schedule; a refresh that
-- fails keeps the last good registration and says why in `refresh_error`.
CREATE TABLE service_providers (
    entity_id            TEXT PRIMARY KEY,
    acs                  TEXT NOT NULL,
    signing_certificate  TEXT,
    sign_assertions      BIGINT NOT NULL,
    slo                  TEXT,
    metadata             TEXT,
    metadata_url         TEXT,
    refreshed_at         BIGINT,
    refresh_error        TEXT,
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL
);
