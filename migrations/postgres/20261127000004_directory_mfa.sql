-- TOTP devices of directory users whose group requires a second factor, by
-- the user's directory DN (lower case). The seed is sealed; the last accepted
-- step makes every code single use.
CREATE TABLE directory_mfa (
    user_key     TEXT PRIMARY KEY,
    sealed_seed  TEXT NOT NULL,
    last_step    BIGINT,
    created_at   BIGINT NOT NULL
);
