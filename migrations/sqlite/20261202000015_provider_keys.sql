-- AWS's SAML provider encryption settings (2025): AssertionEncryptionMode
-- ('Allowed' or 'Required') and up to two private keys per provider that
-- decrypt its EncryptedAssertions, sealed with the master key; no call ever
-- returns them.
ALTER TABLE saml_providers ADD COLUMN assertion_encryption_mode TEXT NOT NULL DEFAULT 'Allowed';
CREATE TABLE saml_provider_keys (
    key_id        TEXT PRIMARY KEY,
    provider_arn  TEXT NOT NULL,
    sealed_key    TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE INDEX saml_provider_keys_provider ON saml_provider_keys (provider_arn);
CREATE INDEX saml_providers_uuid ON saml_providers (uuid);
