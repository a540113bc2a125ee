-- 002_auth: sessions with rotating refresh tokens, login throttling, and
-- the API's time format.

-- Times in the API's form, "2026-11-22T10:30:00.123Z", for the JSON that
-- PostgreSQL builds itself in every module.
CREATE FUNCTION api_time(t timestamptz) RETURNS text
    LANGUAGE sql STABLE STRICT PARALLEL SAFE
    RETURN to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"');

-- A user as the API shows it. row_to_json writes compact JSON, like the
-- rest of the API (json_build_object would put blanks around every ':').
CREATE FUNCTION api_user(u users) RETURNS json
    LANGUAGE sql STABLE PARALLEL SAFE
    BEGIN ATOMIC
        SELECT row_to_json(x) FROM (SELECT
            u.id,
            u.username,
            u.display_name,
            api_time(u.created_at) AS created_at,
            api_time(u.updated_at) AS updated_at) x;
    END;

-- One row per refresh token. A login starts a family (its id is the "sid"
-- of the access tokens); each refresh spends the family's live token and
-- adds the next one. Presenting a spent token again revokes the family.
-- Only the SHA-256 of a token is kept: a copy of this table signs no one in.
CREATE TABLE auth_sessions (
    id          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id     uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    family_id   uuid        NOT NULL,
    token_hash  bytea       NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    spent_at    timestamptz,
    revoked_at  timestamptz,
    user_agent  text,
    remote_addr text,
    CONSTRAINT auth_sessions_token_hash_key UNIQUE (token_hash),
    CONSTRAINT auth_sessions_token_hash_length
        CHECK (octet_length(token_hash) = 32)
);
CREATE INDEX auth_sessions_family_idx ON auth_sessions (family_id);
CREATE INDEX auth_sessions_user_idx ON auth_sessions (user_id);

-- Failed logins within the throttling window. The username is kept only as
-- the SHA-256 of its lower-case form: people type passwords into the
-- username field, and this table must not collect them. A successful login
-- sets username_hash to NULL: the username's count starts again, while the
-- address's keeps the row.
CREATE TABLE login_failures (
    id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username_hash bytea,
    remote_addr   text        NOT NULL,
    failed_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_failures_username_idx
    ON login_failures (username_hash, failed_at);
CREATE INDEX login_failures_addr_idx ON login_failures (remote_addr, failed_at);
CREATE INDEX login_failures_failed_at_idx ON login_failures (failed_at);

-- Accounts created per client address, for the registration limit
-- (register_max_per_hour). Rows older than an hour are deleted as new ones
-- come in.
CREATE TABLE registrations (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    remote_addr text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX registrations_addr_idx ON registrations (remote_addr, created_at);
CREATE INDEX registrations_created_at_idx ON registrations (created_at);
