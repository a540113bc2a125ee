-- bench/tasks_seed.sql: the data of the tasks benchmark (bench/tasks.sh).
--
-- EMPTIES THE TASKS TABLE. Meant for the private bench cluster only:
--   psql -v ON_ERROR_STOP=1 -v bench_port=PORT -f bench/tasks_seed.sql
-- refuses to run unless PORT is the server's own port (bench/tasks.sh
-- passes its cluster's), so it cannot be pointed at another one by mistake.
--
-- 1000 users and 50 tasks each, written with SQL rather than through the
-- API: 1000 argon2id registrations would take minutes, and these users
-- never log in (the benchmark signs their access tokens itself with
-- bench/mktokens), so any password_hash will do.
--
-- Deterministic, so that the load generators need no lookup:
--   user n (1..1000): id 00000000-0000-4000-8000-<n on 12 digits>,
--                     username bench_task_<n>
--   its tasks:        ids (n - 1) * 50 + 1 .. n * 50 (the identity
--                     restarts at 1 and the rows go in in that order;
--                     checked below)
--   its session:      family (the tokens' "sid") 00000000-0000-4000-9000-
--                     <n on 12 digits>, live for a day, as after a login
--                     (GET /api/v1/auth/me checks it; the tasks need not)
-- The tasks vary like a real user's: titles, some descriptions, a third
-- completed, four priorities, most with a due date, a few tags.

\set ON_ERROR_STOP on

-- The guard: an unset bench_port leaves ":'bench_port'" as it is, a
-- syntax error.
SET bench.port = :'bench_port';
DO $$
BEGIN
    IF current_setting('bench.port') <> current_setting('port') THEN
        RAISE EXCEPTION 'tasks_seed.sql: this server listens on port %, '
            'not on the bench port %', current_setting('port'),
            current_setting('bench.port');
    END IF;
END
$$;

BEGIN;

TRUNCATE tasks RESTART IDENTITY CASCADE;
-- The users of an earlier seed (their sessions and keys go with them).
DELETE FROM users
    WHERE username LIKE 'bench\_task\_%'
       OR id::text LIKE '00000000-0000-4000-8000-%';

INSERT INTO users (id, username, password_hash, display_name)
SELECT format('00000000-0000-4000-8000-%s', lpad(n::text, 12, '0'))::uuid,
       'bench_task_' || n,
       '$argon2id$v=19$m=65536,t=2,p=1$bench-user-never-logs-in',
       'Bench user ' || n
FROM generate_series(1, 1000) AS n;

-- Only the SHA-256 of a refresh token is kept; no one holds these tokens.
INSERT INTO auth_sessions (user_id, family_id, token_hash, expires_at,
                           user_agent, remote_addr)
SELECT format('00000000-0000-4000-8000-%s', lpad(n::text, 12, '0'))::uuid,
       format('00000000-0000-4000-9000-%s', lpad(n::text, 12, '0'))::uuid,
       sha256(convert_to('bench-task-session-' || n, 'UTF8')),
       now() + interval '1 day', 'bench/tasks.sh', '127.0.0.1'
FROM generate_series(1, 1000) AS n;

-- created_at grows with k, so the default listing (newest first) shows
-- tasks 50, 49, ... of the user; completed rows satisfy the
-- tasks_completed_at constraint.
INSERT INTO tasks (user_id, title, description, completed, priority,
                   due_at, tags, created_at, updated_at, completed_at)
SELECT s.user_id, s.title, s.description, s.completed, s.priority,
       s.due_at, s.tags, s.created_at,
       CASE WHEN s.completed THEN s.created_at + interval '30 minutes'
            ELSE s.created_at END,
       CASE WHEN s.completed THEN s.created_at + interval '30 minutes' END
FROM (
    SELECT n, k,
           format('00000000-0000-4000-8000-%s',
               lpad(n::text, 12, '0'))::uuid AS user_id,
           (ARRAY['Buy milk', 'Call the plumber', 'Write the quarterly report',
                  'Book train tickets', 'Renew the passport',
                  'Review pull request', 'Water the plants',
                  'Prepare the slides for Monday', 'Pay the electricity bill',
                  'Read chapter 4', 'Fix the bike''s brakes',
                  'Plan the team offsite'])[1 + (n + k) % 12]
               || ' #' || k AS title,
           CASE WHEN k % 3 = 0 THEN NULL
                ELSE 'Notes for task ' || k || ' of user ' || n
                     || ': what to check, who to ask, and by when.'
           END AS description,
           k % 3 = 1 AS completed,
           (enum_range(NULL::task_priority))[1 + (n + k) % 4] AS priority,
           CASE WHEN k % 4 = 0 THEN NULL
                ELSE date_trunc('day', now()) + interval '17 hours'
                     + ((k % 30) - 10) * interval '1 day'
           END AS due_at,
           CASE k % 6
               WHEN 0 THEN '{}'::text[]
               WHEN 1 THEN '{work}'
               WHEN 2 THEN '{home}'
               WHEN 3 THEN '{work,urgent}'
               WHEN 4 THEN '{errands,home}'
               ELSE '{reading}'
           END AS tags,
           now() - interval '60 days' + k * interval '1 hour'
               + n * interval '1 second' AS created_at
    FROM generate_series(1, 1000) AS n, generate_series(1, 50) AS k
) s
ORDER BY s.n, s.k;

-- The load generators count on these ids.
DO $$
DECLARE
    bad bigint;
BEGIN
    -- Each in its user's range, and 50 000 distinct ids: then every
    -- user holds exactly its 50.
    SELECT count(*) INTO bad
    FROM tasks t, LATERAL (SELECT substr(t.user_id::text, 25)::int AS n) u
    WHERE t.id NOT BETWEEN (u.n - 1) * 50 + 1 AND u.n * 50;
    IF bad <> 0 OR (SELECT count(*) FROM tasks) <> 50000 THEN
        RAISE EXCEPTION 'tasks_seed.sql: % tasks out of their id range', bad;
    END IF;
END
$$;

COMMIT;

-- VACUUM too, as autovacuum would have by now: it sets the visibility
-- map, without which the count's index-only scan reads every heap row.
VACUUM (ANALYZE) users, auth_sessions, tasks;
