-- IAM model. Names are unique per account without regard to case, as in IAM, so
-- each named row keeps a lower-cased `name_key` beside the name as given.
-- Times are UTC seconds since the epoch.

CREATE TABLE accounts (
    account_id          TEXT PRIMARY KEY,
    alias               TEXT UNIQUE,
    root_email          TEXT NOT NULL,
    root_password_hash  TEXT NOT NULL,
    password_policy     TEXT,
    created_at          BIGINT NOT NULL
);

-- Users, groups and roles: the entities that hold policies.
CREATE TABLE principals (
    id                    TEXT PRIMARY KEY,
    account_id            TEXT NOT NULL REFERENCES accounts (account_id),
    kind                  TEXT NOT NULL,
    name                  TEXT NOT NULL,
    name_key              TEXT NOT NULL,
    path                  TEXT NOT NULL,
    arn                   TEXT NOT NULL,
    created_at            BIGINT NOT NULL,
    description           TEXT,
    trust_policy          TEXT,
    max_session_duration  BIGINT,
    permissions_boundary  TEXT,
    password_last_used    BIGINT,
    UNIQUE (account_id, kind, name_key)
);

CREATE TABLE group_members (
    group_id  TEXT NOT NULL REFERENCES principals (id),
    user_id   TEXT NOT NULL REFERENCES principals (id),
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user ON group_members (user_id);

CREATE TABLE inline_policies (
    principal_id  TEXT NOT NULL REFERENCES principals (id),
    name          TEXT NOT NULL,
    name_key      TEXT NOT NULL,
    document      TEXT NOT NULL,
    PRIMARY KEY (principal_id, name_key)
);

CREATE TABLE managed_policies (
    arn              TEXT PRIMARY KEY,
    id               TEXT NOT NULL UNIQUE,
    account_id       TEXT NOT NULL REFERENCES accounts (account_id),
    name             TEXT NOT NULL,
    name_key         TEXT NOT NULL,
    path             TEXT NOT NULL,
    description      TEXT,
    default_version  TEXT NOT NULL,
    next_version     BIGINT NOT NULL,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    UNIQUE (account_id, name_key)
);

CREATE TABLE policy_versions (
    policy_arn  TEXT NOT NULL REFERENCES managed_policies (arn),
    version_id  TEXT NOT NULL,
    document    TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (policy_arn, version_id)
);

-- Managed policies attached to users, groups and roles. AWS managed policies
-- (arn:aws:iam::aws:policy/...) are built in and have no managed_policies row.
CREATE TABLE policy_attachments (
    principal_id  TEXT NOT NULL REFERENCES principals (id),
    policy_arn    TEXT NOT NULL,
    PRIMARY KEY (principal_id, policy_arn)
);
CREATE INDEX policy_attachments_policy ON policy_attachments (policy_arn);

-- user_id is NULL for the root user's keys.
CREATE TABLE access_keys (
    access_key_id      TEXT PRIMARY KEY,
    account_id         TEXT NOT NULL REFERENCES accounts (account_id),
    user_id            TEXT REFERENCES principals (id),
    sealed_secret      TEXT NOT NULL,
    active             BIGINT NOT NULL,
    created_at         BIGINT NOT NULL,
    last_used_at       BIGINT,
    last_used_service  TEXT,
    last_used_region   TEXT
);
CREATE INDEX access_keys_user ON access_keys (user_id);

-- password_history: JSON list of earlier hashes, newest first, for the
-- password policy's PasswordReusePrevention (at most 24 kept).
CREATE TABLE login_profiles (
    user_id           TEXT PRIMARY KEY REFERENCES principals (id),
    password_hash     TEXT NOT NULL,
    password_history  TEXT NOT NULL DEFAULT '[]',
    reset_required    BIGINT NOT NULL,
    created_at        BIGINT NOT NULL
);

CREATE TABLE mfa_devices (
    serial       TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL REFERENCES accounts (account_id),
    path         TEXT NOT NULL,
    sealed_seed  TEXT NOT NULL,
    user_id      TEXT REFERENCES principals (id),
    root_user    BIGINT NOT NULL,
    enabled_at   BIGINT,
    created_at   BIGINT NOT NULL,
    last_step    BIGINT
);

CREATE TABLE saml_providers (
    arn          TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL REFERENCES accounts (account_id),
    name         TEXT NOT NULL,
    uuid         TEXT NOT NULL,
    metadata     TEXT NOT NULL,
    valid_until  BIGINT,
    created_at   BIGINT NOT NULL
);

-- Tags of any taggable entity, keyed by its unique id (users, roles), ARN
-- (policies, SAML providers) or serial (MFA devices).
CREATE TABLE tags (
    resource   TEXT NOT NULL,
    tag_key    TEXT NOT NULL,
    key_lower  TEXT NOT NULL,
    tag_value  TEXT NOT NULL,
    position   BIGINT NOT NULL,
    PRIMARY KEY (resource, key_lower)
);

-- CloudTrail-shaped audit events; `body` is the whole event as JSON.
CREATE TABLE audit_events (
    id             BIGSERIAL PRIMARY KEY,
    event_time     BIGINT NOT NULL,
    event_name     TEXT NOT NULL,
    event_source   TEXT NOT NULL,
    account_id     TEXT,
    principal_arn  TEXT,
    error_code     TEXT,
    request_id     TEXT NOT NULL,
    body           TEXT NOT NULL
);
CREATE INDEX audit_events_time ON audit_events (event_time);
