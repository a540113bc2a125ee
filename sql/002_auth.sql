-- 002_auth: sessions with rotating refresh tokens, login throttling, and
-- the API's time format.

-- Times in the API's form, "2026-11-22T10:30:00.123Z", for the JSON that
-- PostgreSQL builds itself (json_build_object) in every module.
CREATE FUNCTION api_time(t timestamptz) RETURNS text
    LANGUAGE sql STABLE STRICT PARALLEL SAFE
    RETURN to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"');

-- A user as the API shows it.
CREATE FUNCTION api_user(u users) RETURNS json
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN json_build_object(
        'id', u.id,
        'username', u.username,
        'display_name', u.display_name,
        'created_at', api_time(u.created_at),
        'updated_at', api_time(u.updated_at));

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
