-- Temporary credentials requested per principal and clock hour, shared by
-- every node (sts.sessions_per_principal_per_hour). Old hours are swept.
CREATE TABLE issuance_counts (
    principal     TEXT NOT NULL,
    window_start  BIGINT NOT NULL,
    issued        BIGINT NOT NULL,
    PRIMARY KEY (principal, window_start)
);
