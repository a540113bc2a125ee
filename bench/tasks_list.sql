-- bench/tasks_list.sql: pgbench's side of the tasks benchmark
-- (bench/tasks.sh): the statement lib/tasks.c runs for
-- GET /api/v1/tasks?limit=20, for a random bench user, with its
-- parameters written in: $1 the user's id (the deterministic ids of
-- tasks_seed.sql), $2 the limit (20), $3 the offset (0).
--   pgbench -n -M prepared -c16 -j2 -T20 -f bench/tasks_list.sql
\set n random(1, 1000)
SELECT (SELECT count(*) FROM tasks WHERE user_id = format('00000000-0000-4000-8000-%s', lpad(:n::text, 12, '0'))::uuid), (SELECT coalesce(array_to_json(array_agg(api_task(p.t) ORDER BY (p.t).created_at DESC, (p.t).id DESC)), '[]') FROM (SELECT t FROM tasks t WHERE user_id = format('00000000-0000-4000-8000-%s', lpad(:n::text, 12, '0'))::uuid ORDER BY created_at DESC, id DESC LIMIT 20 OFFSET 0) p);
