#!/usr/bin/env bash
# bench/memory.sh: memory search (issue 7, BENCH.md P5): its latency with
# 100 000 and 10 000 memories for one user among many, against exact
# cosine similarity over all of the user's vectors measured in the same
# run, and recall@5 of the hybrid ranking on a labelled set.
#
# Brings up PostgreSQL, quipu and nginx with ./dev's own functions, in a
# state directory and on ports of its own (var/bench-memory, nginx on
# 18390, nginx's `return 200' on 18391, PostgreSQL on 18392), so that it
# never disturbs the other benchmarks' data. Seeds with bench/memseed
# (deterministic): user A 100 000 memories, user B 10 000, ten others
# 10 000 each, interleaved in id order, with builtin vectors and LSH
# buckets, and 40 labelled "needles" planted in A's and B's memories,
# their lexemes written into memory_lexemes by one INSERT (the load runs
# without triggers), then VACUUM ANALYZE. **It empties the memory tables of its own cluster.** The
# data is kept and reused by the next run while bench/memseed.c, the
# embedder and sql/ are unchanged (MEMORY_RESEED=1 writes it again; a
# change in sql/ rebuilds the cluster, whose schema would be stale).
#
# Then BENCH_ROUNDS rounds, each:
#   hybrid A, hybrid B: POST /api/v1/memories/search {"query","limit":5}
#       through nginx, `wrk -t1 -c1 -s bench/memory.lua' for
#       BENCH_DURATION (one request at a time), the 200 questions of
#       memseed in turn (40 labelled, 160 others), after a short
#       unmeasured run;
#   floor: the same wrk script against nginx's `return 200': the HTTP
#       part alone;
#   exact A, exact B: `memseed exact': each labelled question's vector
#       against every vector of the user (one statement, binary results,
#       scored in C), the obvious search without an index: the reference
#       (its cost is reading the vectors, whatever the question).
# Medians of the rounds' p50, p95 and p99. Then recall@5: each labelled
# question through the API (limit 5) and through exact cosine (top 5),
# the share whose needle is in the top 5, and the overlap of the two top
# fives. Replaces the section "# Benchmark: memory search" of
# bench/RESULTS.md. Everything it started is stopped on exit. Exits
# non-zero when any search answered non-2xx (the run is flagged).
#
# Environment: BENCH_ROUNDS (3), BENCH_DURATION (20s), BENCH_WARMUP (5s),
# MEMORY_RESEED (unset), MEMSEED (build/bench/memseed),
# MEMBENCH_VAR (var/bench-memory),
# MEMBENCH_HTTP_PORT (18390), MEMBENCH_CEILING_PORT (18391),
# MEMBENCH_PG_PORT (18392). QUIPU_* variables reach quipu-fcgi; the
# section reports the values in effect.

set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
ROUNDS=${BENCH_ROUNDS:-3}
DURATION=${BENCH_DURATION:-20s}
WARMUP=${BENCH_WARMUP:-5s}

# Memories per user: A, B, then the ten others (memseed's user n is
# 00000000-0000-4000-b000-<n on 12 digits>).
COUNTS=(100000 10000 10000 10000 10000 10000 10000 10000 10000 10000 10000 10000)
USER_A=00000000-0000-4000-b000-000000000001
USER_B=00000000-0000-4000-b000-000000000002

# Its own state and ports, whatever the other scripts are told.
QUIPU_BENCH_VAR=${MEMBENCH_VAR:-$BENCH_DIR/../var/bench-memory}
QUIPU_BENCH_HTTP_PORT=${MEMBENCH_HTTP_PORT:-18390}
QUIPU_BENCH_CEILING_PORT=${MEMBENCH_CEILING_PORT:-18391}
QUIPU_BENCH_PG_PORT=${MEMBENCH_PG_PORT:-18392}

# The test routes are not part of the API under test.
export QUIPU_TEST_ROUTES=off

# shellcheck source=SCRIPTDIR/lib.sh
source "$BENCH_DIR/lib.sh"
BENCH_PREFIX=memory

MEMSEED=${MEMSEED:-$REPO/build/bench/memseed}
HZ=$(getconf CLK_TCK)
CONF_DUMP=
TOKENS=
QUESTIONS=
NEEDLES=
BAD=0

now() { date +%s.%N; }

pg_psql() {
	"$(pg_bindir)/psql" -X -q -h "$VAR/pg/run" -p "$PG_PORT" -U postgres \
	    -d quipu -v ON_ERROR_STOP=1 "$@"
}

pg_conninfo() {
	printf 'host=%s port=%s dbname=quipu user=postgres' "$VAR/pg/run" "$PG_PORT"
}

# ------------------------------------------------------------ data

# What the seeded data depends on: the generator, the embedder, the
# counts. The schema is checked apart (schema_check).
seed_sum() {
	{
		cat "$BENCH_DIR/memseed.c" "$REPO/lib/embed.c" \
		    "$REPO/lib/embed.h" "$REPO/lib/recall.h"
		echo "${COUNTS[*]}"
	} | sha256sum | cut -d' ' -f1
}

schema_sum() {
	cat "$REPO"/sql/*.sql | sha256sum | cut -d' ' -f1
}

# A cluster migrated from other sql/ files than these would be measured
# with a stale schema (migrations are applied once, by name): it is
# rebuilt. Before stack_start, which creates and migrates it.
schema_check() {
	local want have
	want=$(schema_sum)
	have=$(cat "$VAR/memory-schema.sum" 2>/dev/null || true)
	[[ $have == "$want" ]] && return 0
	if [[ -d $VAR/pg/data ]]; then
		say "sql/ changed since this cluster was made: rebuilding $VAR/pg"
		pg_stop "$VAR/pg"
		rm -rf "${VAR:?}/pg"
	fi
	rm -f "$VAR/memory-seed.sum"
	printf '%s\n' "$want" > "$VAR/memory-schema.sum"
}

# The COPY streams of the seed, with the SQL around them, for psql's
# standard input. Loaded in one transaction; the foreign keys are not
# checked row by row (session_replication_role = replica): the data is
# consistent by construction, and 6.7 million bucket rows would
# otherwise cost as many lookups.
seed_stream() {
	cat <<'EOF'
BEGIN;
TRUNCATE memories, memory_vectors, memory_buckets, memory_lexemes,
    memory_events, memory_jobs RESTART IDENTITY;
DELETE FROM users WHERE id::text LIKE '00000000-0000-4000-b000-%';
CREATE TEMP TABLE memseed_users (id uuid, username text) ON COMMIT DROP;
CREATE TEMP TABLE memseed_memories (id bigint, user_id uuid, content text,
    subject text, embed_model text, embed_dim integer, age_s bigint)
    ON COMMIT DROP;
COPY memseed_users FROM STDIN;
EOF
	"$MEMSEED" data users "${COUNTS[@]}"
	printf '\\.\nCOPY memseed_memories FROM STDIN;\n'
	"$MEMSEED" data memories "${COUNTS[@]}"
	cat <<'EOF'
\.
-- These users never log in (the benchmark signs their tokens itself).
INSERT INTO users (id, username, password_hash, display_name)
SELECT id, username,
       '$argon2id$v=19$m=65536,t=2,p=1$bench-user-never-logs-in',
       'Memory bench user'
FROM memseed_users;
SET LOCAL session_replication_role = replica;
INSERT INTO memories (id, user_id, content, subject, embed_model,
                      embed_dim, created_at, updated_at)
OVERRIDING SYSTEM VALUE
SELECT id, user_id, content, subject, embed_model, embed_dim,
       now() - make_interval(secs => age_s),
       now() - make_interval(secs => age_s)
FROM memseed_memories ORDER BY id;
DO $$
BEGIN
    PERFORM setval(pg_get_serial_sequence('memories', 'id'),
                   (SELECT max(id) FROM memories));
END
$$;
COPY memory_vectors (memory_id, embedding) FROM STDIN;
EOF
	"$MEMSEED" data vectors "${COUNTS[@]}"
	printf '\\.\nCOPY memory_buckets (user_id, bucket, memory_id) FROM STDIN;\n'
	"$MEMSEED" data buckets "${COUNTS[@]}"
	# The COPY and INSERT above ran without triggers: the lexemes that
	# memories_lexemes would have written, in one statement.
	cat <<'EOF'
\.
INSERT INTO memory_lexemes (user_id, lexeme, memory_id)
SELECT user_id, unnest(tsvector_to_array(words)), id FROM memories;
COMMIT;
VACUUM (ANALYZE) memories, memory_vectors, memory_buckets, memory_lexemes;
EOF
}

# Whether the memories' lexemes are there: data seeded by a version of
# this script from before memory_lexemes lacks them.
seed_lexemes() {
	pg_psql -tA -c "SELECT EXISTS (SELECT FROM memory_lexemes
	    WHERE user_id = '$USER_A')" 2>/dev/null || true
}

# The memories of each bench user, as the database has them.
seed_counts() {
	pg_psql -tA -F' ' -c "SELECT count(*) FROM memories
	    WHERE user_id::text LIKE '00000000-0000-4000-b000-%'
	    GROUP BY user_id ORDER BY user_id" | tr '\n' ' ' | sed 's/ $//'
}

seed() {
	local want t0
	want=$(seed_sum)
	if [[ -z ${MEMORY_RESEED:-} &&
	    $(cat "$VAR/memory-seed.sum" 2>/dev/null || true) == "$want" &&
	    $(seed_counts) == "${COUNTS[*]}" && $(seed_lexemes) == t ]]; then
		say "reusing the seeded memories (MEMORY_RESEED=1 writes them again)"
	else
		say "seeding ${#COUNTS[@]} users, $(IFS=+; echo $((${COUNTS[*]}))) memories (bench/memseed; a few minutes)"
		rm -f "$VAR/memory-seed.sum"
		t0=$(now)
		seed_stream | pg_psql || die "seeding failed"
		[[ $(seed_counts) == "${COUNTS[*]}" ]] ||
		    die "the seeded counts are $(seed_counts), not ${COUNTS[*]}"
		printf '%s\n' "$want" > "$VAR/memory-seed.sum"
		say "seeded in $(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.0f", b - a }') s"
	fi
	QUESTIONS=$VAR/memory-questions.tsv
	NEEDLES=$VAR/memory-needles.tsv
	"$MEMSEED" data questions "${COUNTS[@]}" > "$QUESTIONS"
	"$MEMSEED" data needles "${COUNTS[@]}" > "$NEEDLES"
	# The labelled questions, and their text alone for memseed exact.
	awk -F'\t' '$1 > 0' "$QUESTIONS" > "$VAR/memory-labelled.tsv"
	cut -f2 "$VAR/memory-labelled.tsv" > "$VAR/memory-labelled.txt"
}

# ------------------------------------------------------------ tokens

# An access token for A (line 1) and B (line 2), signed with the key
# quipu loaded; each also alone in a file for memory.lua.
tokens_make() {
	local key kid mine
	key=$(conf_value jwt_secret_file)
	kid=$(awk '/^# jwt key:/ { print $NF }' <<<"$CONF_DUMP")
	TOKENS=$VAR/memory-tokens.txt
	rm -f "$TOKENS" "$TOKENS".A "$TOKENS".B
	printf '%s\n%s\n' "$USER_A" "$USER_B" |
	    (umask 077 && "$REPO/build/bench/mktokens" "$key" 21600 \
	    > "$TOKENS" 2> "$VAR/memory-mktokens.err") ||
	    { cat "$VAR/memory-mktokens.err" >&2; die "mktokens failed"; }
	mine=$(awk '/kid/ { print $NF }' "$VAR/memory-mktokens.err")
	[[ -n $kid && $mine == "$kid" ]] ||
	    die "mktokens signed with kid ${mine:-?}, quipu loaded kid ${kid:-?}"
	(umask 077 && sed -n 1p "$TOKENS" > "$TOKENS.A" &&
	    sed -n 2p "$TOKENS" > "$TOKENS.B")
}

# request USER(A|B) METHOD PATH [BODY]: prints the status, leaves the
# body in $VAR/memory-check.json.
request() {
	bench_request "$(cat "$TOKENS.$1")" "$VAR/memory-check.json" "$2" "$3" \
	    ${4:+"$4"}
}

# expect STATUS USER METHOD PATH [BODY]
expect() {
	local want=$1; shift
	bench_expect "$want" "$(request "$@")" "$VAR/memory-check.json" \
	    "$2 $3 as $1"
}

check() {
	say "checking the API sees the seeded memories"
	expect 200 A GET "/api/v1/memories?limit=1"
	grep -q "\"total\":${COUNTS[0]}" "$VAR/memory-check.json" ||
	    die "user A's list does not say total ${COUNTS[0]}"
	expect 200 B GET "/api/v1/memories?limit=1"
	grep -q "\"total\":${COUNTS[1]}" "$VAR/memory-check.json" ||
	    die "user B's list does not say total ${COUNTS[1]}"
	expect 200 A POST /api/v1/memories/search \
	    "{\"query\":\"$(sed -n 1p "$VAR/memory-labelled.txt")\",\"limit\":5}"
	grep -q '"items":\[{"memory":{"id":' "$VAR/memory-check.json" ||
	    die "a search as A found nothing: $(head -c 300 "$VAR/memory-check.json")"
}

# ------------------------------------------------------------ rounds

# The machine's busy CPU ticks so far (/proc/stat: user, nice, system,
# irq, softirq).
machine_ticks() {
	awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 }' /proc/stat
}

# busy_pct TICKS0 T0: the machine's busy share since then, in %.
busy_pct() {
	awk -v a="$1" -v b="$(machine_ticks)" -v t0="$2" -v t1="$(now)" \
	    -v hz="$HZ" -v n="$(nproc)" 'BEGIN {
		w = t1 - t0
		printf "%.0f", (w > 0 ? 100 * (b - a) / hz / w / n : 0)
	}'
}

load1() { cut -d' ' -f1 /proc/loadavg; }

# wrk_run USER(A|B) BASE DURATION: prints "requests non2xx errors p50
# p95 p99" from memory.lua's done().
wrk_run() {
	local out
	out=$(MEMORY_TOKEN_FILE=$TOKENS.$1 MEMORY_QUESTIONS=$QUESTIONS \
	    wrk -t1 -c1 -d"$3" --latency -s "$BENCH_DIR/memory.lua" "$2")
	printf '%s\n' "$out" >> "$VAR/memory-wrk.log"
	awk '$1 == "memory.lua:" { $1 = ""; sub(/^ /, ""); print }' <<<"$out"
}

# The p50 and p95 of quipu's own time for the searches logged after
# line SKIP of its access log (duration_ms: from the request read to the
# answer written), or "- -" when there are none (the floor).
own_time() {
	local log
	log=$(conf_value access_log)
	tail -n +"$(($1 + 1))" "$log" 2>/dev/null |
	    grep '"route":"memories.search"' |
	    grep -o '"duration_ms":[0-9.]*' | cut -d: -f2 | sort -g | awk '
	    function at(q,  i) {
		i = int(NR * q + 0.5)
		if (i < 1)
			i = 1
		return a[i]
	    }
	    { a[NR] = $1 }
	    END {
		if (NR == 0)
			print "- -"
		else
			printf "%.3f %.3f\n", at(0.50), at(0.95)
	    }'
}

log_lines() {
	wc -l < "$(conf_value access_log)" 2>/dev/null || echo 0
}

# One measured wrk round: "requests non2xx errors p50 p95 p99 load busy%
# own_p50 own_p95".
wrk_round() {
	local l t0 k0 r skip
	wrk_run "$1" "$2" 2s >/dev/null
	l=$(load1) t0=$(now) k0=$(machine_ticks) skip=$(log_lines)
	r=$(wrk_run "$1" "$2" "$DURATION")
	[[ -n $r ]] || die "wrk printed no figures (see $VAR/memory-wrk.log)"
	printf '%s %s %s %s\n' "$r" "$l" "$(busy_pct "$k0" "$t0")" \
	    "$(own_time "$skip")"
}

# Percentiles of column 1 of FILE (nearest rank): "p50 p95 p99".
pctl() {
	awk '{ print $1 }' "$1" | sort -g | awk '
	    function at(q,  i) {
		i = int(NR * q + 0.5)
		if (i < 1)
			i = 1
		return a[i]
	    }
	    { a[NR] = $1 }
	    END { printf "%.3f %.3f %.3f\n", at(0.50), at(0.95), at(0.99) }'
}

# One exact round for USER_ID into OUT (memseed's lines), over the
# labelled questions: its cost is reading every vector of the user,
# whatever the question. Prints "questions 0 0 p50 p95 p99 load busy%
# fetch_p50".
exact_round() {
	local user=$1 out=$2 l t0 k0
	l=$(load1) t0=$(now) k0=$(machine_ticks)
	"$MEMSEED" exact "$(pg_conninfo)" "$user" \
	    < "$VAR/memory-labelled.txt" > "$out" ||
	    die "memseed exact failed"
	printf '%s 0 0 %s %s %s %s\n' "$(wc -l < "$out")" "$(pctl "$out")" \
	    "$l" "$(busy_pct "$k0" "$t0")" \
	    "$(awk '{ print $2 }' "$out" | pctl /dev/stdin | cut -d' ' -f1)"
}

warm_up() {
	say "warming up ($WARMUP per user, one exact pass each)"
	wrk_run A "http://127.0.0.1:$QUIPU_HTTP_PORT" "$WARMUP" >/dev/null
	wrk_run B "http://127.0.0.1:$QUIPU_HTTP_PORT" "$WARMUP" >/dev/null
	head -n 5 "$VAR/memory-labelled.txt" |
	    "$MEMSEED" exact "$(pg_conninfo)" "$USER_A" >/dev/null ||
	    die "memseed exact failed"
	head -n 5 "$VAR/memory-labelled.txt" |
	    "$MEMSEED" exact "$(pg_conninfo)" "$USER_B" >/dev/null ||
	    die "memseed exact failed"
}

run_rounds() {
	local i t
	for t in hybA hybB floor exactA exactB; do
		: > "$VAR/memory-$t.txt"
	done
	: > "$VAR/memory-wrk.log"
	for ((i = 1; i <= ROUNDS; i++)); do
		say "round $i/$ROUNDS: hybrid A, hybrid B, floor ($DURATION each)"
		wrk_round A "http://127.0.0.1:$QUIPU_HTTP_PORT" >> "$VAR/memory-hybA.txt"
		wrk_round B "http://127.0.0.1:$QUIPU_HTTP_PORT" >> "$VAR/memory-hybB.txt"
		wrk_round A "http://127.0.0.1:$CEILING_PORT" >> "$VAR/memory-floor.txt"
		say "round $i/$ROUNDS: exact A, exact B ($(wc -l < "$VAR/memory-labelled.txt") questions each)"
		exact_round "$USER_A" "$VAR/memory-exact-A-$i.txt" >> "$VAR/memory-exactA.txt"
		exact_round "$USER_B" "$VAR/memory-exact-B-$i.txt" >> "$VAR/memory-exactB.txt"
	done
}

# ------------------------------------------------------------ recall

# hybrid_top USER(A|B) OUT: each labelled question through the API,
# limit 5; one line a question, the ids found, best first (maybe fewer than 5: the
# search's threshold). Counts non-2xx in $VAR/memory-recall-bad.
hybrid_top() {
	local q code hdr=$VAR/memory-recall.hdr bad=0
	(umask 077 && printf 'Authorization: Bearer %s\n' \
	    "$(cat "$TOKENS.$1")" > "$hdr")
	: > "$2"
	while IFS= read -r q; do
		code=$(curl -sS -o "$VAR/memory-recall.json" -w '%{http_code}' \
		    --max-time 30 -H @"$hdr" -H 'Content-Type: application/json' \
		    --data-binary "{\"query\":\"$q\",\"limit\":5}" \
		    "http://127.0.0.1:$QUIPU_HTTP_PORT/api/v1/memories/search") ||
		    code=000
		[[ $code == 2* ]] || bad=$((bad + 1))
		# The memories' contents hold no quotes (memseed checks).
		grep -o '{"memory":{"id":[0-9]*' "$VAR/memory-recall.json" |
		    grep -o '[0-9]*$' | tr '\n' ' ' | sed 's/ $//' >> "$2"
		echo >> "$2"
	done < "$VAR/memory-labelled.txt"
	rm -f "$hdr"
	echo "$bad" >> "$VAR/memory-recall-bad"
}

# recall USER_ID HYBRID EXACT: over the labelled questions (line i of
# HYBRID and of EXACT answer line i of memory-labelled.tsv), prints
# "questions hyb@5 ex@5 hyb@1 ex@1 overlap" (shares in [0, 1]).
recall() {
	awk -v user="$1" -v nf="$NEEDLES" -v lf="$VAR/memory-labelled.tsv" \
	    -v hf="$2" -v ef="$3" '
	BEGIN {
		while ((getline l < nf) > 0) {
			split(l, f, "\t")
			if (f[2] == user)
				needle[f[1]] = f[3]
		}
		while ((getline l < lf) > 0) {
			split(l, f, "\t")
			id = needle[f[1]]
			getline hl < hf
			getline el < ef
			nh = split(hl, h, " ")
			# memseed exact: total_ms fetch_ms vectors id1..id5
			ne = split(el, e, " ")
			delete inh
			for (j = 1; j <= nh; j++)
				inh[h[j]] = 1
			for (j = 4; j <= ne; j++)
				if (e[j] in inh)
					common++
			n++
			if (id in inh)
				h5++
			if (nh > 0 && h[1] == id)
				h1++
			for (j = 4; j <= ne; j++)
				if (e[j] == id) {
					e5++
					if (j == 4)
						e1++
				}
		}
		if (n == 0)
			exit 1
		printf "%d %.3f %.3f %.3f %.3f %.3f\n", n, h5 / n, e5 / n,
		    h1 / n, e1 / n, common / 5 / n
	}'
}

# The labelled questions whose needle a top five (HYBRID or EXACT
# lines, FIRST the column of the first id) left out, for USER_ID:
# "question<TAB>the first id found, or -".
missed() {
	awk -v user="$1" -v nf="$NEEDLES" -v lf="$VAR/memory-labelled.tsv" \
	    -v tf="$2" -v first="$3" '
	BEGIN {
		while ((getline l < nf) > 0) {
			split(l, f, "\t")
			if (f[2] == user)
				needle[f[1]] = f[3]
		}
		while ((getline l < lf) > 0) {
			split(l, f, "\t")
			getline tl < tf
			nt = split(tl, t, " ")
			hit = 0
			for (j = first; j <= nt; j++)
				if (t[j] == needle[f[1]])
					hit = 1
			if (!hit)
				printf "%s\t%s\n", f[2], (nt >= first ? t[first] : "-")
		}
	}'
}

# The content of memory ID.
content_of() {
	pg_psql -tA -c "SELECT content FROM memories WHERE id = $1"
}

recall_run() {
	say "recall@5: the questions through the API as A and B"
	rm -f "$VAR/memory-recall-bad"
	hybrid_top A "$VAR/memory-top-hybA.txt"
	hybrid_top B "$VAR/memory-top-hybB.txt"
	recall "$USER_A" "$VAR/memory-top-hybA.txt" "$VAR/memory-exact-A-1.txt" \
	    > "$VAR/memory-recallA.txt" || die "no labelled question"
	recall "$USER_B" "$VAR/memory-top-hybB.txt" "$VAR/memory-exact-B-1.txt" \
	    > "$VAR/memory-recallB.txt" || die "no labelled question"
}

# ------------------------------------------------------------ report

# Three decimals: the reference is a hundred times slower.
ratio3() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "-" }'
}

meets() {
	awk -v a="$1" -v b="$3" -v op="$2" 'BEGIN {
		ok = (op == ">=") ? a >= b : (op == "<") ? a < b : a == b
		print ok ? "yes" : "**no**"
	}'
}

# f FILE COLUMN: a figure of the recall file.
f() {
	awk -v c="$2" '{ print $c }' "$VAR/memory-recall$1.txt"
}

pct_of() {
	awk -v x="$1" 'BEGIN { printf "%.0f %%", 100 * x }'
}

# missed_list TOP FIRST: the questions a top five of user A missed, as
# a list, or "none".
missed_list() {
	local q first n=0
	while IFS=$'\t' read -r q first; do
		n=$((n + 1))
		if [[ $first == - ]]; then
			printf -- '- "%s": nothing above the threshold\n' "$q"
		else
			printf -- '- "%s": first came "%s"\n' "$q" "$(content_of "$first")"
		fi
	done < <(missed "$USER_A" "$1" "$2")
	((n > 0)) || echo "- none"
}

# latency_row TARGET LABEL MEMORIES [own]
latency_row() {
	local own=
	[[ -z ${4:-} ]] ||
	    own="$(med "$1" 9 %.2f) / $(med "$1" 10 %.2f) ms"
	printf '| %s | %s | %s ms | %s ms | %s ms | %s | %s | %s |\n' "$2" "$3" \
	    "$(med "$1" 4 %.2f)" "$(med "$1" 5 %.2f)" "$(med "$1" 6 %.2f)" \
	    "$own" "$(total "$1" 1)" "$(total "$1" 2)"
}

write_results() {
	local load=$1 bad flag ngx pg quipu a50 a95 e50 e95 b50 b95 f50 f95
	local sizes settings
	a50=$(med hybA 4 %.2f) a95=$(med hybA 5 %.2f)
	b50=$(med hybB 4 %.2f) b95=$(med hybB 5 %.2f)
	e50=$(med exactA 4 %.2f) e95=$(med exactA 5 %.2f)
	f50=$(med floor 4 %.2f) f95=$(med floor 5 %.2f)
	bad=$(($(total hybA 2) + $(total hybA 3) + $(total hybB 2) +
	    $(total hybB 3) + $(awk '{ s += $1 } END { print s + 0 }' \
	    "$VAR/memory-recall-bad")))
	BAD=$bad
	flag=
	if ((bad > 0)); then
		flag="**FLAGGED: $bad searches answered non-2xx or failed. A fast error is not a result: the figures below do not count.**"
	fi
	ngx=$("$(command -v nginx || echo /usr/sbin/nginx)" -v 2>&1 | sed 's/.*: //')
	pg=$("$(pg_bindir)/postgres" --version)
	quipu=$("$QUIPU_FCGI" -V 2>/dev/null | head -n 1 || true)
	settings=$(pg_psql -tA -c "SELECT string_agg(name || ' = ' ||
	    setting || coalesce(unit, ''), ', ' ORDER BY name) FROM pg_settings
	    WHERE name IN ('shared_buffers', 'work_mem', 'effective_cache_size',
	    'random_page_cost', 'jit')")
	sizes=$(pg_psql -tA -c "SELECT string_agg(c || ' ' ||
	    pg_size_pretty(pg_total_relation_size(c::regclass)), ', ')
	    FROM unnest(ARRAY['memories', 'memory_vectors', 'memory_buckets',
	    'memory_lexemes']) c")
	results_section_replace "$RESULTS" "# Benchmark: memory search" <<EOF
# Benchmark: memory search, against exact cosine over all of a user's vectors

Written by bench/memory.sh; run it again to refresh.
${flag:+
$flag
}
- date: $(date -u +%Y-%m-%dT%H:%M:%SZ)
- machine: $(nproc) CPUs ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)),
  kernel $(uname -r), load average before the run: $load (shared with other
  work: the load and the machine's busy share at the start of each round are in the
  per-round lines below)
- versions: $ngx, $pg, ${quipu:-quipu-fcgi ?}, $(wrk -v 2>&1 | head -n 1 | cut -d' ' -f1-2)
- quipu: \`workers = $(conf_value workers)\`, \`threads = $(conf_value threads)\`,
  \`db_pool_size = $(conf_value db_pool_size)\`, \`embedding_provider = $(conf_value embedding_provider)\`;
  PostgreSQL: $settings
- data (bench/memseed, deterministic): $(IFS=+; echo $((${COUNTS[*]}))) memories of ${#COUNTS[@]} users,
  interleaved in id order, ids growing with time over two years: user A
  ${COUNTS[0]}, user B ${COUNTS[1]}, ten others ${COUNTS[2]} each; short facts from 54
  templates over word lists, builtin 256-dimension vectors and 32 LSH buckets
  each; 40 labelled needles planted in A's and in B's memories. Sizes with
  indexes: $sizes
- load: \`POST /api/v1/memories/search {"query","limit":5}\` through nginx,
  \`wrk -t1 -c1 -d$DURATION -s bench/memory.lua\` (one request at a time, after a
  $WARMUP warm-up per user and 2 s unmeasured before each round), the 200 questions of
  memseed in turn (40 labelled, 160 from 30 question templates). The reference,
  exact: \`memseed exact\`, the question's vector against every vector of the
  user, read with one prepared statement (binary results) and scored in C,
  top 5, for the 40 labelled questions (its cost is reading all the vectors,
  whatever the question). The floor: the same wrk script against nginx's
  \`return 200\`. Rounds: $ROUNDS, each hybrid A, hybrid B, floor, exact A,
  exact B; the figures are medians of the rounds' percentiles.

| search | memories of the user | p50 | p95 | p99 | quipu's own p50 / p95 (access log) | requests or questions (all rounds) | non-2xx |
|---|---:|---:|---:|---:|---:|---:|---:|
$(latency_row hybA "hybrid, through the API" "${COUNTS[0]}" own)
$(latency_row exactA "exact cosine, all vectors (reference)" "${COUNTS[0]}")
$(latency_row hybB "hybrid, through the API" "${COUNTS[1]}" own)
$(latency_row exactB "exact cosine, all vectors (reference)" "${COUNTS[1]}")
$(latency_row floor "nginx \`return 200\` (the HTTP floor)" "-")

Against the target of BENCH.md and the reference:

| # | figure | hybrid | exact | hybrid / exact | target | met |
|---|---|---:|---:|---:|---|---|
| P5 | p95 at ${COUNTS[0]} memories | $a95 ms | $e95 ms | $(ratio3 "$a95" "$e95") | < 20 ms | $(meets "$a95" "<" 20) |
| | p50 at ${COUNTS[0]} memories | $a50 ms | $e50 ms | $(ratio3 "$a50" "$e50") | | |
| | p95 at ${COUNTS[1]} memories | $b95 ms | $(med exactB 5 %.2f) ms | $(ratio3 "$b95" "$(med exactB 5 %.2f)") | | |
| | p50 at ${COUNTS[1]} memories | $b50 ms | $(med exactB 4 %.2f) ms | $(ratio3 "$b50" "$(med exactB 4 %.2f)") | | |
| | p50 / p95 at ${COUNTS[0]} against the HTTP floor | $a50 / $a95 ms | floor $f50 / $f95 ms | | | |
| | non-2xx or failed searches | $bad | | | 0 | $(meets "$bad" "==" 0) |

Of exact's time, reading the vectors (the statement and the transfer of its
result, p50, median of the rounds): $(med exactA 9 %.1f) ms at ${COUNTS[0]}, $(med exactB 9 %.1f) ms at
${COUNTS[1]}; the rest is scoring them in C.

Recall on the labelled set ($(f A 1) questions, each answered by one planted
memory; through the API with limit 5, against exact cosine's top 5):

| user | memories | hybrid recall@5 | exact recall@5 | hybrid / exact | hybrid recall@1 | exact recall@1 | top-5 overlap |
|---|---:|---:|---:|---:|---:|---:|---:|
| A | ${COUNTS[0]} | $(pct_of "$(f A 2)") | $(pct_of "$(f A 3)") | $(ratio "$(f A 2)" "$(f A 3)") | $(pct_of "$(f A 4)") | $(pct_of "$(f A 5)") | $(f A 6) |
| B | ${COUNTS[1]} | $(pct_of "$(f B 2)") | $(pct_of "$(f B 3)") | $(ratio "$(f B 2)" "$(f B 3)") | $(pct_of "$(f B 4)") | $(pct_of "$(f B 5)") | $(f B 6) |

(overlap: mean |hybrid top 5 ∩ exact top 5| / 5.) Labelled questions whose
needle hybrid did not put in A's top 5:

$(missed_list "$VAR/memory-top-hybA.txt" 1)

and exact cosine:

$(missed_list "$VAR/memory-exact-A-1.txt" 4)

Per round (requests or questions, non-2xx, errors, p50, p95, p99 in ms, load
average at the start, the machine's busy % during the round; hybrid also
quipu's own p50 and p95, exact the p50 of its statement alone):

\`\`\`
hybrid A:
$(cat "$VAR/memory-hybA.txt")
exact A:
$(cat "$VAR/memory-exactA.txt")
hybrid B:
$(cat "$VAR/memory-hybB.txt")
exact B:
$(cat "$VAR/memory-exactB.txt")
floor:
$(cat "$VAR/memory-floor.txt")
\`\`\`
EOF
	say "wrote the memory section of $RESULTS"
}

bench_stop() {
	[[ -z $TOKENS ]] || rm -f "$TOKENS" "$TOKENS.A" "$TOKENS.B"
	stack_stop
}

bench_main() {
	local load
	# The machine's own load, before our build and seeding.
	load=$(cut -d' ' -f1-3 /proc/loadavg)
	deps_install wrk
	trap 'bench_stop' EXIT
	trap 'exit 130' INT TERM
	state_init
	schema_check
	stack_start "$QUIPU_HTTP_PORT" "$CEILING_PORT"
	[[ -x $MEMSEED ]] || die "$MEMSEED is missing (bench/memseed in Makefile.am?)"
	conf_effective
	seed
	tokens_make
	check
	warm_up
	run_rounds
	recall_run
	write_results "$load"
	awk '/^# / { p = index($0, "# Benchmark: memory search") == 1 } p' "$RESULTS"
	((BAD == 0)) || die "$BAD searches answered non-2xx or failed (see above)"
}

# Sourced (for its functions), it runs nothing.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	bench_main "$@"
fi
