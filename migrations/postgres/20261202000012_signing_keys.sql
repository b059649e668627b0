-- The signing keys of the session tokens ("token") and of the built-in IdP
-- ("idp"), sealed under the master key: every node with the database and the
-- master key has them, and sees a new one within a change poll. A key is
-- published (announced: in the metadata and JWKS, it verifies), then active
-- (it signs; one per purpose), then retired (gone). The sealed PEM is bound
-- to "<purpose>-key:<kid>".
CREATE TABLE signing_keys (
    kid         TEXT PRIMARY KEY,
    purpose     TEXT NOT NULL,
    sealed_pem  TEXT NOT NULL,
    state       TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    changed_at  BIGINT NOT NULL
);
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys (purpose) WHERE state = 'active';
