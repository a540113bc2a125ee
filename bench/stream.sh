#!/usr/bin/env bash
# bench/stream.sh: quipu relaying model streams (BENCH.md P3, P4), against
# nginx proxying the same upstream alone, measured in the same run.
#
# Brings up PostgreSQL, quipu and nginx with ./dev's own functions (state
# in var/bench, the ports of healthz.sh) with quipu talking to t/fakellm
# (llm_provider = openai), a second nginx that proxies the fake directly
# (the floor, port QUIPU_BENCH_STREAM_PORT, 18383), writes the bench users
# with SQL and signs their tokens (bench/mktokens), checks one stream of
# each kind, then for each N in STREAM_COUNTS, BENCH_ROUNDS times:
#   nginx: bench/sseload opens N streams over STREAM_RAMP_MS, each posting
#          the very request body quipu sends upstream (captured from the
#          fake) to the fake's /v1/chat/completions through that nginx;
#   quipu: N fresh threads (POST /api/v1/threads with a title, so no title
#          call), then sseload opens N turns the same way, one per thread,
#          through nginx -> quipu -> the fake, while PostgreSQL's
#          connections and the workers' VmRSS are sampled every 200 ms.
#          STREAM_API picks the API of the turns:
#          quipu    POST /api/v1/threads/{id}/messages with Accept:
#                   text/event-stream (the native API; the default);
#          chatkit  POST /api/chatkit, threads.add_user_message on the
#                   same kind of thread (ChatKit's data-only frames).
# The message is "fake:stamp fake:tokens=50 fake:slow=100": 50 tokens 100
# ms apart, each the CLOCK_REALTIME microseconds at which the fake sent it,
# so a token's overhead is its arrival at sseload minus its stamp. The
# ladder stops after the first N at which quipu had errors. Writes the
# section "# Benchmark: streaming (SSE relay)" of bench/RESULTS.md, or
# with STREAM_API=chatkit "# Benchmark: streaming (ChatKit)", each with
# its own nginx-alone reference from the same run; the other sections
# stay. Everything it started is stopped on exit. Exits non-zero when
# quipu had errors: their figures are flagged in RESULTS.md.
#
# Environment: STREAM_API (quipu), STREAM_COUNTS ("100 500 1000 2000"),
# BENCH_ROUNDS (3, per N), STREAM_RAMP_MS (1500), STREAM_TIMEOUT (90,
# seconds per run), STREAM_PER_USER (50, streams per bench user),
# QUIPU_BENCH_STREAM_PORT (18383), STREAM_TOKEN_LOG (unset; 1 keeps every
# token of every run, "arrival_ms overhead_ms stream", in
# var/bench/PREFIX-tokens-TARGET-N-ROUND.txt: to see when in a run the
# overhead grows). Round files are var/bench/PREFIX-*, PREFIX being stream
# (native) or stream-chatkit, so one API's run keeps the other's.
# QUIPU_* variables reach quipu-fcgi; the defaults here are workers 2,
# threads 1024, db_pool_size 4; the section reports the values in effect.

set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
ROUNDS=${BENCH_ROUNDS:-3}
read -r -a COUNTS <<<"${STREAM_COUNTS:-100 500 1000 2000}"
RAMP_MS=${STREAM_RAMP_MS:-1500}
RUN_TIMEOUT=${STREAM_TIMEOUT:-90}
REF_PORT=${QUIPU_BENCH_STREAM_PORT:-18383}
API=${STREAM_API:-quipu}

# What every stream asks of the fake (BENCH.md: 50 tokens 100 ms apart).
NTOKENS=50
MESSAGE="fake:stamp fake:tokens=$NTOKENS fake:slow=100"
# Streams per bench user: a user's turns share the row of its daily
# usage, so fewer users means more lock waits in PostgreSQL.
PER_USER=${STREAM_PER_USER:-50}

# quipu-fcgi reads QUIPU_<KEY> itself, over quipu.conf.
export QUIPU_TEST_ROUTES=off
export QUIPU_WORKERS=${QUIPU_WORKERS:-2}
export QUIPU_THREADS=${QUIPU_THREADS:-1024}
export QUIPU_DB_POOL_SIZE=${QUIPU_DB_POOL_SIZE:-4}
export QUIPU_LLM_PROVIDER=openai
export QUIPU_MESSAGES_PER_DAY=0

# Without -x, shellcheck does not read lib.sh.
# shellcheck source=SCRIPTDIR/lib.sh disable=SC1091
source "$BENCH_DIR/lib.sh"

# The API's own round files (BENCH_PREFIX, also read by lib.sh's med and
# total), section and name in the tables.
case $API in
quipu)
	BENCH_PREFIX=stream
	SECTION="# Benchmark: streaming (SSE relay)"
	RELAY="nginx → quipu → fake"
	;;
chatkit)
	BENCH_PREFIX=stream-chatkit
	SECTION="# Benchmark: streaming (ChatKit)"
	RELAY="nginx → quipu ChatKit → fake"
	;;
*)
	die "STREAM_API is quipu or chatkit, not $API"
	;;
esac

HZ=$(getconf CLK_TCK)
SSELOAD=
FAKE_PID=
FAKE_PORT=
REF_PID=
PG_PID=
CONF_DUMP=
TOKENS_FILE=
PATHS_FILE=
SAMPLER_PIDS=()
WORKERS=()
FRESH_RSS=0
RSS=0
CHILD_TICKS=0
USERS=0
TOKENS=()

# ------------------------------------------------------------ setup

# sseload as the tree builds it (bench/sseload in Makefile.am), or else
# compiled here into $VAR with the project's warnings.
sseload_build() {
	if [[ -x $REPO/build/bench/sseload &&
	    $REPO/build/bench/sseload -nt $BENCH_DIR/sseload.c ]]; then
		SSELOAD=$REPO/build/bench/sseload
		return
	fi
	say "compiling bench/sseload.c into $VAR"
	cc -std=c11 -O2 -Wall -Wextra -Wshadow -Wstrict-prototypes \
	    -Wmissing-prototypes -Wformat=2 -Werror -o "$VAR/sseload" \
	    "$BENCH_DIR/sseload.c" || die "cannot compile bench/sseload.c"
	SSELOAD=$VAR/sseload
}

# The fake upstream, from the build tree, on an ephemeral port.
fake_start() {
	local out=$VAR/stream-fake.out i
	[[ -x $REPO/build/t/fakellm ]] || die "no $REPO/build/t/fakellm"
	: > "$out"
	setsid "$REPO/build/t/fakellm" -l 127.0.0.1:0 > "$out" 2>&1 &
	FAKE_PID=$!
	for ((i = 0; i < 50; i++)); do
		FAKE_PORT=$(awk '/^listening / { sub(/.*:/, "", $2); print $2 }' "$out")
		[[ -n $FAKE_PORT ]] && break
		alive "$FAKE_PID" || { cat "$out" >&2; die "t/fakellm exited"; }
		sleep 0.1
	done
	[[ -n $FAKE_PORT ]] || die "t/fakellm did not say where it listens"
	say "t/fakellm on 127.0.0.1:$FAKE_PORT"
	export QUIPU_LLM_BASE_URL=http://127.0.0.1:$FAKE_PORT/v1
}

fake_get() {
	curl -fsS --max-time 5 "http://127.0.0.1:$FAKE_PORT$1"
}

# The floor: a second nginx, configured as mkconf configures quipu's
# (workers, connections, access log), proxying the fake without
# buffering, as quipu's streaming locations do with fastcgi_buffering off.
ref_start() {
	local dir=$VAR/stream-ref ngx
	ngx=$(command -v nginx || echo /usr/sbin/nginx)
	mkdir -p "$dir"
	cat > "$dir/nginx.conf" <<EOF
# Written by bench/stream.sh: nginx proxying the fake upstream alone.
daemon off;
worker_processes auto;
worker_rlimit_nofile 16384;
pid $dir/nginx.pid;
error_log $dir/nginx-error.log warn;

events {
	worker_connections 4096;
}

http {
	server_tokens off;
	client_body_temp_path $dir/client_body_temp;
	proxy_temp_path $dir/proxy_temp;
	fastcgi_temp_path $dir/fastcgi_temp;
	scgi_temp_path $dir/scgi_temp;
	uwsgi_temp_path $dir/uwsgi_temp;
	access_log $dir/nginx-access.log;

	server {
		listen 127.0.0.1:$REF_PORT;
		location / {
			proxy_pass http://127.0.0.1:$FAKE_PORT;
			proxy_http_version 1.1;
			proxy_buffering off;
			proxy_read_timeout 160s;
		}
	}
}
EOF
	"$ngx" -q -t -e "$dir/nginx-error.log" -c "$dir/nginx.conf" -p "$dir" ||
	    die "nginx rejects $dir/nginx.conf"
	say "starting the reference nginx on 127.0.0.1:$REF_PORT"
	setsid "$ngx" -e "$dir/nginx-error.log" -c "$dir/nginx.conf" -p "$dir" \
	    >> "$dir/nginx.out" 2>&1 &
	REF_PID=$!
}



pg_psql() {
	"$(pg_bindir)/psql" -X -q -h "$VAR/pg/run" -p "$PG_PORT" -U postgres \
	    -v ON_ERROR_STOP=1 "$@"
}

# The bench users, written with SQL (argon2id registrations are slow):
# user n is 00000000-0000-4000-a000-<n on 12 digits>, bench_stream_<n>,
# with a live session 00000000-0000-4000-b000-<n>. Those of an earlier
# run go first, with their threads.
users_seed() {
	local max=0 n
	for n in "${COUNTS[@]}"; do
		((n > max)) && max=$n
	done
	USERS=$(((max + PER_USER - 1) / PER_USER))
	say "writing $USERS bench users"
	pg_psql -d quipu -v users="$USERS" <<'EOF' || die "cannot write the bench users"
BEGIN;
DELETE FROM users WHERE username LIKE 'bench\_stream\_%';
INSERT INTO users (id, username, password_hash, display_name)
SELECT format('00000000-0000-4000-a000-%s', lpad(n::text, 12, '0'))::uuid,
       'bench_stream_' || n,
       '$argon2id$v=19$m=65536,t=2,p=1$bench-user-never-logs-in',
       'Stream bench user ' || n
FROM generate_series(1, :users) AS n;
INSERT INTO auth_sessions (user_id, family_id, token_hash, expires_at,
                           user_agent, remote_addr)
SELECT format('00000000-0000-4000-a000-%s', lpad(n::text, 12, '0'))::uuid,
       format('00000000-0000-4000-b000-%s', lpad(n::text, 12, '0'))::uuid,
       sha256(convert_to('bench-stream-session-' || n, 'UTF8')),
       now() + interval '1 day', 'bench/stream.sh', '127.0.0.1'
FROM generate_series(1, :users) AS n;
COMMIT;
EOF
}

# One access token per user, signed with the key quipu-fcgi loaded.
tokens_make() {
	local key kid mine
	key=$(conf_value jwt_secret_file)
	kid=$(awk '/^# jwt key:/ { print $NF }' <<<"$CONF_DUMP")
	TOKENS_FILE=$VAR/stream-tokens.txt
	rm -f "$TOKENS_FILE"
	seq 1 "$USERS" | awk '{ printf "00000000-0000-4000-a000-%012d " \
	    "00000000-0000-4000-b000-%012d\n", $1, $1 }' |
	    (umask 077 && "$REPO/build/bench/mktokens" "$key" 7200 \
	    > "$TOKENS_FILE" 2> "$VAR/stream-mktokens.err") ||
	    { cat "$VAR/stream-mktokens.err" >&2; die "mktokens failed"; }
	mine=$(awk '/kid/ { print $NF }' "$VAR/stream-mktokens.err")
	[[ -n $kid && $mine == "$kid" ]] ||
	    die "mktokens signed with kid ${mine:-?}, quipu loaded kid ${kid:-?}"
	mapfile -t TOKENS < "$TOKENS_FILE"
	((${#TOKENS[@]} == USERS)) || die "mktokens wrote too few tokens"
}

# curl's configuration for N thread creations, 16 at a time; each
# prints "status user location". On stdin: the tokens stay out of argv.
threads_config() {
	local n=$1 i u
	printf 'parallel\nparallel-max = 16\nsilent\nno-progress-meter\nshow-error\n'
	for ((i = 0; i < n; i++)); do
		u=$((i / PER_USER))
		((i == 0)) || echo next
		printf 'url = "http://127.0.0.1:%s/api/v1/threads"\n' "$QUIPU_HTTP_PORT"
		printf 'header = "Authorization: Bearer %s"\n' "${TOKENS[u]}"
		echo 'header = "Content-Type: application/json"'
		echo 'data = "{\"title\":\"bench\"}"'
		echo 'output = /dev/null'
		echo 'max-time = 30'
		printf 'write-out = "%%{http_code} %d %%header{location}\\n"\n' "$u"
	done
}

# threads_make N: N fresh threads, ~PER_USER per user; writes
# $PATHS_FILE, "PATH<TAB>Bearer TOKEN" per stream (sseload -f), and for
# ChatKit a third field, the turn's body, which names the thread.
threads_make() {
	local n=$1 out bad
	out=$VAR/stream-threads.txt
	threads_config "$n" | curl -K - > "$out" 2>> "$VAR/stream-curl.log" || true
	bad=$(awk '$1 != 201 || $3 !~ /^\/api\/v1\/threads\// { n++ } END { print n + 0 }' "$out")
	(($(wc -l < "$out") == n && bad == 0)) ||
	    die "creating $n threads: $bad failed ($(awk '$1 != 201' "$out" | head -n 3))"
	(umask 077 && awk -v tf="$TOKENS_FILE" -v api="$API" -v msg="$MESSAGE" '
	    BEGIN { while ((getline t < tf) > 0) tok[u++] = t }
	    api == "quipu" { printf "%s/messages\tBearer %s\n", $3, tok[$2] }
	    api == "chatkit" {
		id = $3
		sub(/.*\//, "", id)
		printf "/api/chatkit\tBearer %s\t{\"type\":" \
		    "\"threads.add_user_message\",\"params\":{" \
		    "\"thread_id\":\"%s\",\"input\":{\"content\":[{" \
		    "\"type\":\"input_text\",\"text\":\"%s\"}]," \
		    "\"attachments\":[],\"inference_options\":{}}}}\n",
		    tok[$2], id, msg
	    }' "$out" > "$PATHS_FILE")
}

# ------------------------------------------------------------ runs

# The -o option of a run's sseload when STREAM_TOKEN_LOG asks for one:
# token_log TARGET N ROUND.
token_log() {
	[[ -n ${STREAM_TOKEN_LOG:-} ]] || return 0
	printf '%s\n' -o "$VAR/$BENCH_PREFIX-tokens-$1-$2-$3.txt"
}

# sseload_quipu N [ROUND]: N turns through nginx and quipu, in the API
# of STREAM_API (a ChatKit turn's body is in $PATHS_FILE).
sseload_quipu() {
	local o
	mapfile -t o < <(token_log quipu "$1" "${2:-0}")
	"$SSELOAD" -k "$API" -n "$1" -e "$NTOKENS" -r "$RAMP_MS" -T "$RUN_TIMEOUT" \
	    "${o[@]}" -f "$PATHS_FILE" -H 'Accept: text/event-stream' \
	    -H 'Content-Type: application/json' \
	    -b "{\"message\":\"$MESSAGE\"}" "127.0.0.1:$QUIPU_HTTP_PORT"
}

# sseload_ref N [ROUND]: N streams through the reference nginx to the
# fake.
sseload_ref() {
	local o
	mapfile -t o < <(token_log ref "$1" "${2:-0}")
	"$SSELOAD" -k openai -n "$1" -e "$NTOKENS" -r "$RAMP_MS" -T "$RUN_TIMEOUT" \
	    "${o[@]}" -P /v1/chat/completions -H 'Accept: text/event-stream' \
	    -H 'Content-Type: application/json' -B "$VAR/stream-upstream.json" \
	    "127.0.0.1:$REF_PORT"
}

# field SUMMARY KEY: a value of sseload's summary line.
field() {
	awk -v k="$2" '{ for (i = 1; i <= NF; i++) {
		split($i, kv, "=")
		if (kv[1] == k) print kv[2]
	} }' <<<"$1"
}

# One stream of each kind must work before anything is measured; the
# request quipu sends upstream for it becomes the reference's body.
check() {
	local out
	say "checking one stream through quipu ($API API, 5 s)"
	threads_make 1
	out=$(sseload_quipu 1 2>&1) || die "sseload failed: $out"
	[[ $(field "$out" ok) == 1 ]] || die "a stream through quipu failed: $out"
	fake_get /_fake/last | sed -e 's/^{"authorization":[a-z]*,"body"://' \
	    -e 's/}$//' > "$VAR/stream-upstream.json"
	if ! grep -q '"stream":true' "$VAR/stream-upstream.json" ||
	    ! grep -qF "$MESSAGE" "$VAR/stream-upstream.json"; then
		die "the fake's last request is not quipu's stream: $(head -c 300 "$VAR/stream-upstream.json")"
	fi
	say "checking one stream through the reference nginx (5 s)"
	out=$(sseload_ref 1 2>&1) || die "sseload failed: $out"
	[[ $(field "$out" ok) == 1 ]] || die "a stream through nginx alone failed: $out"
}

# A metric of quipu's /metrics (through nginx), 0 when absent.
metric() {
	awk -v k="$1" '$1 == k { v = $2 } END { print v + 0 }' <<<"$2"
}

metrics_get() {
	curl -fsS --max-time 5 "http://127.0.0.1:$QUIPU_HTTP_PORT/metrics" || true
}

# Until quipu has no stream open and no acceptor busy but the one
# answering, at most 60 s: the next run starts from rest.
quipu_settle() {
	local m i
	for ((i = 0; i < 300; i++)); do
		m=$(metrics_get)
		if [[ -n $m ]] && (($(metric quipu_sse_streams_open "$m") == 0 &&
		    $(metric 'quipu_acceptors{state="busy"}' "$m") <= 1)); then
			return 0
		fi
		sleep 0.2
	done
	say "quipu still busy 60 s after a run"
}

# The sum of the workers' VmRSS in kB. Builtins only: the sampler runs
# it every 200 ms.
rss_sum() {
	local w k v _ sum=0
	for w in "${WORKERS[@]}"; do
		while read -r k v _; do
			if [[ $k == VmRSS: ]]; then
				sum=$((sum + v))
				break
			fi
		done 2>/dev/null < "/proc/$w/status" || true
	done
	RSS=$sum
}

rss_sampler() {
	local flag=$1 RSS
	while [[ -e $flag ]]; do
		rss_sum
		echo "$RSS"
		sleep 0.2
	done
}

# Every 200 ms, PostgreSQL's client connections to the quipu database,
# how many of them are not idle, and how many wait for a lock: one psql,
# one connection (to another database, so it does not count itself).
pg_sampler() {
	local flag=$1
	while [[ -e $flag ]]; do
		echo "SELECT count(*), count(*) FILTER (WHERE state <> 'idle'),
		    count(*) FILTER (WHERE wait_event_type = 'Lock')
		    FROM pg_stat_activity WHERE datname = 'quipu'
		    AND backend_type = 'client backend';"
		sleep 0.2
	done | pg_psql -d postgres -At -F ' '
}

samplers_start() {
	touch "$1"
	rss_sampler "$1" > "$VAR/stream-rss.txt" &
	SAMPLER_PIDS=($!)
	pg_sampler "$1" > "$VAR/stream-pg.txt" 2>> "$VAR/stream-curl.log" &
	SAMPLER_PIDS+=($!)
}

samplers_stop() {
	local p
	rm -f "$1"
	for p in "${SAMPLER_PIDS[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	SAMPLER_PIDS=()
}


# "wall busy quipu nginx ref_nginx fake pg" now, busy and the rest in
# ticks. sseload's own time comes from `times' (child_ticks).
cpu_snapshot() {
	printf '%s %s %s\n' "$EPOCHREALTIME" \
	    "$(awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 }' /proc/stat)" \
	    "$(tree_ticks "$QUIPU_PID" "$NGINX_PID" "$REF_PID" "$FAKE_PID" "$PG_PID")"
}

# Sets CHILD_TICKS to the CPU time of this shell's reaped children (the
# load generator, run in command substitutions that this shell reaped)
# in ticks. Must run in this shell, never in a command substitution:
# the subshell's `times' would not see them.
child_ticks() {
	times > "$VAR/stream-times.txt"
	CHILD_TICKS=$(awk -v hz="$HZ" 'NR == 2 {
		s = 0
		for (i = 1; i <= 2; i++) {
			split($i, a, "m")
			sub(/s$/, "", a[2])
			s += a[1] * 60 + a[2]
		}
		printf "%d\n", s * hz + 0.5
	}' "$VAR/stream-times.txt")
}

# cpu_shares BEFORE AFTER CLIENT_TICKS: "busy quipu nginx fake pg client"
# as percentages of the whole machine over the interval (nginx: both).
cpu_shares() {
	awk -v a="$1" -v b="$2" -v cl="$3" -v hz="$HZ" -v n="$(nproc)" 'BEGIN {
		split(a, x, " "); split(b, y, " ")
		w = (y[1] - x[1]) * hz * n
		if (w <= 0) w = 1
		printf "%.0f %.0f %.0f %.0f %.0f %.0f\n", 100 * (y[2] - x[2]) / w,
		    100 * (y[3] - x[3]) / w, 100 * (y[4] - x[4] + y[5] - x[5]) / w,
		    100 * (y[6] - x[6]) / w, 100 * (y[7] - x[7]) / w, 100 * cl / w
	}'
}

# round_line SUMMARY "PG_MAX PG_BUSY_MAX" "RSS RSS_VS_FRESH" "CPU...": the
# round line of one run, columns: 1 ok, 2 errors, 3 tokens, 4-5 first
# token p50 p99, 6-9 overhead p50 p99 p99.9 max, 10 elapsed, 11 open at
# once, 12 streams/s, 13-14 PG, 15-16 RSS, 17-22 CPU (busy quipu nginx
# fake pg sseload), 23 error kinds.
round_line() {
	local out=$1 pg=$2 rss=$3 cpu=$4 ok el kinds
	ok=$(field "$out" ok) el=$(field "$out" elapsed)
	kinds=$(for k in connect status event short truncated timeout bad; do
		printf '%s=%s,' "$k" "$(field "$out" "$k")"
	done)
	printf '%s %s %s %s %s %s %s %s %s %s %s %s %s %s %s %s\n' "$ok" \
	    "$(field "$out" errors)" "$(field "$out" tokens)" \
	    "$(field "$out" ft_p50)" "$(field "$out" ft_p99)" \
	    "$(field "$out" ov_p50)" "$(field "$out" ov_p99)" \
	    "$(field "$out" ov_p999)" "$(field "$out" ov_max)" "$el" \
	    "$(field "$out" open_max)" \
	    "$(awk -v o="$ok" -v e="$el" 'BEGIN { printf "%.0f", (e > 0 ? o / e : 0) }')" \
	    "$pg" "$rss" "$cpu" "${kinds%,}"
}

# ref_run N ROUND: one reference run; appends to
# $VAR/$BENCH_PREFIX-ref-N.txt.
ref_run() {
	local n=$1 c0 c1 t0 out
	say "N=$n: nginx -> fake"
	c0=$(cpu_snapshot)
	child_ticks
	t0=$CHILD_TICKS
	out=$(sseload_ref "$n" "$2" 2>> "$VAR/$BENCH_PREFIX-sseload.log") ||
	    die "sseload failed (see $VAR/$BENCH_PREFIX-sseload.log)"
	child_ticks
	c1=$(cpu_snapshot)
	printf 'nginx %s: %s\n' "$n" "$out" >> "$VAR/$BENCH_PREFIX-sseload.log"
	round_line "$out" "- -" "- -" "$(cpu_shares "$c0" "$c1" $((CHILD_TICKS - t0)))" \
	    >> "$VAR/$BENCH_PREFIX-ref-$n.txt"
	sleep 1
}

# quipu_run N ROUND: one run through quipu; appends to
# $VAR/$BENCH_PREFIX-quipu-N.txt and its counters to
# $VAR/$BENCH_PREFIX-qm-N.txt.
quipu_run() {
	local n=$1 c0 c1 t0 out idle peak pg locks m0 m1 e0 flag=$VAR/stream-sampling
	say "N=$n: nginx -> quipu -> fake, $API API (creating $n threads first)"
	threads_make "$n"
	quipu_settle
	mapfile -t WORKERS < <(pgrep -P "$QUIPU_PID" | sort -n)
	rss_sum
	idle=$RSS
	m0=$(metrics_get)
	e0=$(wc -l < "$VAR/log/error.log" 2>/dev/null || echo 0)
	samplers_start "$flag"
	c0=$(cpu_snapshot)
	child_ticks
	t0=$CHILD_TICKS
	out=$(sseload_quipu "$n" "$2" 2>> "$VAR/$BENCH_PREFIX-sseload.log") ||
	    { samplers_stop "$flag"; die "sseload failed (see $VAR/$BENCH_PREFIX-sseload.log)"; }
	child_ticks
	c1=$(cpu_snapshot)
	samplers_stop "$flag"
	printf 'quipu %s: %s\n' "$n" "$out" >> "$VAR/$BENCH_PREFIX-sseload.log"
	peak=$(sort -n "$VAR/stream-rss.txt" | tail -n 1)
	pg=$(awk '$1 > a { a = $1 } $2 > b { b = $2 } END { print a + 0, b + 0 }' \
	    "$VAR/stream-pg.txt")
	locks=$(awk '$3 > a { a = $3 } END { print a + 0 }' "$VAR/stream-pg.txt")
	round_line "$out" "$pg" "$(awk -v p="${peak:-0}" -v i="$idle" \
	    -v f="$FRESH_RSS" -v n="$n" 'BEGIN { printf "%.0f %.0f",
	    (p - i) / n, (p - f) / n }')" \
	    "$(cpu_shares "$c0" "$c1" $((CHILD_TICKS - t0)))" >> "$VAR/$BENCH_PREFIX-quipu-$n.txt"
	quipu_settle
	m1=$(metrics_get)
	# "db_waits db_wait_s llm_errors worker_restarts slow_requests
	# log_errors log_warnings pool_timeouts lock_waits_max workers_before
	# workers_after" of the run; a pool timeout ("no free connection")
	# answers 503.
	printf '%s %s %s %s %s %s %s %s %s %s %s\n' \
	    $(($(metric quipu_db_waits_total "$m1") - $(metric quipu_db_waits_total "$m0"))) \
	    "$(awk -v a="$(metric quipu_db_wait_seconds_total "$m0")" \
	    -v b="$(metric quipu_db_wait_seconds_total "$m1")" 'BEGIN { printf "%.2f", b - a }')" \
	    $(($(metric quipu_llm_errors_total "$m1") - $(metric quipu_llm_errors_total "$m0"))) \
	    $(($(metric quipu_worker_restarts_total "$m1") - $(metric quipu_worker_restarts_total "$m0"))) \
	    $(($(metric quipu_slow_requests_total "$m1") - $(metric quipu_slow_requests_total "$m0"))) \
	    "$(tail -n +"$((e0 + 1))" "$VAR/log/error.log" | grep -c '\[error\]' || true)" \
	    "$(tail -n +"$((e0 + 1))" "$VAR/log/error.log" | grep -c '\[warn\]' || true)" \
	    "$(tail -n +"$((e0 + 1))" "$VAR/log/error.log" | grep -c 'no free connection' || true)" \
	    "$locks" \
	    "$(IFS=,; echo "${WORKERS[*]}")" \
	    "$(pgrep -P "$QUIPU_PID" | sort -n | paste -sd, -)" \
	    >> "$VAR/$BENCH_PREFIX-qm-$n.txt"
	alive "$QUIPU_PID" || { logs_tail; die "quipu-fcgi exited during the run"; }
}

# Runs the ladder; sets LAST_N to the largest N run.
run_ladder() {
	local n i
	LAST_N=
	rm -f "$VAR/$BENCH_PREFIX"-ref-*.txt "$VAR/$BENCH_PREFIX"-quipu-*.txt \
	    "$VAR/$BENCH_PREFIX"-qm-*.txt
	: > "$VAR/$BENCH_PREFIX-sseload.log"
	for n in "${COUNTS[@]}"; do
		for ((i = 1; i <= ROUNDS; i++)); do
			say "round $i/$ROUNDS"
			ref_run "$n" "$i"
			quipu_run "$n" "$i"
		done
		LAST_N=$n
		if (($(total "quipu-$n" 2) > 0)); then
			say "quipu had errors at N=$n: the ladder stops here"
			break
		fi
	done
}

# ------------------------------------------------------------ report

# yes or no: does `a OP b' hold?
meets() {
	awk -v a="$1" -v b="$3" -v op="$2" 'BEGIN {
		ok = (op == "<=") ? a <= b : (op == "<") ? a < b : a == b
		print ok ? "yes" : "**no**"
	}'
}

# The row of target T (ref or quipu) at N; REF_P99 for the ratio.
table_row() {
	local n=$1 t=$2 name=$3 p99 rp99 pg rss
	p99=$(med "$t-$n" 7 %.2f) rp99=$(med "ref-$n" 7 %.2f)
	if [[ $t == quipu ]]; then
		pg="$(med "quipu-$n" 13 %.0f) ($(med "quipu-$n" 14 %.0f))"
		rss="$(med "quipu-$n" 15 %.0f) ($(med "quipu-$n" 16 %.0f))"
	else
		pg=- rss=-
	fi
	printf '| %s | %s | %s / %s | %s ms | %s ms | %s | %s ms | %s ms | %s ms | %s | %s | %s | %s |\n' \
	    "$n" "$name" "$(total "$t-$n" 1)" "$(total "$t-$n" 2)" \
	    "$(med "$t-$n" 6 %.2f)" "$p99" "$(ratio "$p99" "$rp99")" \
	    "$(med "$t-$n" 8 %.2f)" "$(med "$t-$n" 4 %.1f)" \
	    "$(med "$t-$n" 5 %.1f)" "$(med "$t-$n" 11 %.0f)" \
	    "$(med "$t-$n" 12 %.0f)" "$pg" "$rss"
}

# quipu's own counters at N: medians per run of pool waits, seconds
# waited per stream, PostgreSQL lock waits, slow requests and warn lines;
# sums of pool timeouts, model call errors and error lines.
counters_row() {
	local n=$1
	printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$n" \
	    "$(med "qm-$n" 1 %.0f)" \
	    "$(awk -v n="$n" '{ print $2 / n }' "$VAR/$BENCH_PREFIX-qm-$n.txt" | median |
	    awk '{ printf "%.2f", $1 }')" \
	    "$(total "qm-$n" 8)" "$(med "qm-$n" 9 %.0f)" "$(total "qm-$n" 3)" \
	    "$(med "qm-$n" 5 %.0f)" "$(med "qm-$n" 7 %.0f)" "$(total "qm-$n" 6)"
}

cpu_row() {
	local n=$1 t=$2 name=$3
	printf '| %s | %s | %s %% | %s %% | %s %% | %s %% | %s %% | %s %% |\n' \
	    "$n" "$name" "$(med "$t-$n" 17 %.0f)" "$(med "$t-$n" 18 %.0f)" \
	    "$(med "$t-$n" 19 %.0f)" "$(med "$t-$n" 20 %.0f)" \
	    "$(med "$t-$n" 21 %.0f)" "$(med "$t-$n" 22 %.0f)"
}

ran() {
	[[ -s $VAR/$BENCH_PREFIX-quipu-$1.txt ]]
}

# The verdicts of P3 and P4.
verdicts() {
	local q r e pg rss fresh
	if ran 1000; then
		q=$(med quipu-1000 7 %.2f) r=$(med ref-1000 7 %.2f)
		printf '| P3 | p99 overhead at 1000 streams | %s ms | %s ms | %s | < 2 ms | %s |\n' \
		    "$q" "$r" "$(ratio "$q" "$r")" "$(meets "$q" "<" 2)"
	else
		echo "| P3 | p99 overhead at 1000 streams | not run | | | < 2 ms | **no** |"
	fi
	if ran 2000; then
		q=$(med quipu-2000 7 %.2f) r=$(med ref-2000 7 %.2f)
		e=$(total quipu-2000 2) pg=$(med quipu-2000 13 %.0f)
		rss=$(med quipu-2000 15 %.0f) fresh=$(med quipu-2000 16 %.0f)
		printf '| P4 | p99 overhead at 2000 streams | %s ms | %s ms | %s | < 10 ms | %s |\n' \
		    "$q" "$r" "$(ratio "$q" "$r")" "$(meets "$q" "<" 10)"
		printf '| P4 | errors at 2000 streams (all rounds) | %s | %s | | 0 | %s |\n' \
		    "$e" "$(total ref-2000 2)" "$(meets "$e" "==" 0)"
		printf '| P4 | PostgreSQL connections, most at once | %s | | | <= 32 | %s |\n' \
		    "$pg" "$(meets "$pg" "<=" 32)"
		# Judged on the larger figure: memory kept from earlier runs
		# hides in the first, the second counts all of it.
		printf '| P4 | RSS per open stream (vs the fresh pool) | %s KiB (%s KiB) | | | < 256 KiB | %s |\n' \
		    "$rss" "$fresh" "$(meets "$((rss > fresh ? rss : fresh))" "<" 256)"
	else
		echo "| P4 | 2000 streams | not run | | | | **no** |"
	fi
}

# The largest N at which TARGET had no error in any round.
largest_clean() {
	local n best=none
	for n in "${COUNTS[@]}"; do
		[[ -s $VAR/$BENCH_PREFIX-$1-$n.txt ]] || break
		(($(total "$1-$n" 2) == 0)) || break
		best=$n
	done
	echo "$best"
}

rounds_dump() {
	local n
	for n in "${COUNTS[@]}"; do
		ran "$n" || continue
		printf 'N=%s nginx:\n%s\nN=%s quipu:\n%s\nN=%s quipu counters:\n%s\n' \
		    "$n" "$(cat "$VAR/$BENCH_PREFIX-ref-$n.txt")" \
		    "$n" "$(cat "$VAR/$BENCH_PREFIX-quipu-$n.txt")" \
		    "$n" "$(cat "$VAR/$BENCH_PREFIX-qm-$n.txt")"
	done
}

# Where the turns go, for the section's text.
api_location() {
	if [[ $API == chatkit ]]; then
		echo /api/chatkit
	else
		echo /api/v1/threads
	fi
}

api_turn() {
	if [[ $API == chatkit ]]; then
		printf '%s' "ChatKit's
  \`POST /api/chatkit\` \`threads.add_user_message\` on that thread (\`data:\`
  frames only; a stream ends at the answer's \`thread.item.done\`)"
	else
		printf '%s' "\`POST
  /api/v1/threads/{id}/messages\` with \`Accept: text/event-stream\`"
	fi
}

write_results() {
	local load=$1 n bad flag ngx pg quipu rows cpus counters
	bad=0
	for n in "${COUNTS[@]}"; do
		ran "$n" && bad=$((bad + $(total "quipu-$n" 2)))
	done
	flag=
	if ((bad > 0)); then
		flag="**FLAGGED: $bad quipu streams failed (kinds in the per-round lines below; the ladder stopped at N=$LAST_N). A fast error is not a result: the quipu figures of that N do not count.**"
	fi
	rows='' cpus='' counters=''
	for n in "${COUNTS[@]}"; do
		ran "$n" || continue
		counters+=$(counters_row "$n")$'\n'
		rows+=$(table_row "$n" ref "nginx → fake")$'\n'
		rows+=$(table_row "$n" quipu "$RELAY")$'\n'
		cpus+=$(cpu_row "$n" ref "nginx → fake")$'\n'
		cpus+=$(cpu_row "$n" quipu "$RELAY")$'\n'
	done
	ngx=$("$(command -v nginx || echo /usr/sbin/nginx)" -v 2>&1 | sed 's/.*: //')
	pg=$("$(pg_bindir)/postgres" --version)
	quipu=$("$QUIPU_FCGI" -V 2>/dev/null | head -n 1 || true)
	results_section_replace "$RESULTS" "$SECTION" <<EOF
$SECTION through nginx, against nginx proxying the upstream alone

Written by bench/stream.sh; run it again to refresh.
${flag:+
$flag
}
- date: $(date -u +%Y-%m-%dT%H:%M:%SZ)
- machine: $(nproc) CPUs ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)),
  kernel $(uname -r), load average before the run: $load
- versions: $ngx, $pg, ${quipu:-quipu-fcgi ?}, $(curl --version | head -n 1 | cut -d' ' -f1-2)
- quipu: \`workers = $(conf_value workers)\`, \`threads = $(conf_value threads)\`,
  \`db_pool_size = $(conf_value db_pool_size)\`, \`llm_provider = $(conf_value llm_provider)\`
  (t/fakellm), \`messages_per_day = $(conf_value messages_per_day)\`,
  \`sse_heartbeat = $(conf_value sse_heartbeat)\`, \`max_requests = $(conf_value max_requests)\`,
  access log on (the \`./dev run\` config and the QUIPU_* environment, as
  \`quipu-fcgi -t -v\` prints it); nginx \`worker_processes auto\`,
  \`worker_connections 4096\`, \`fastcgi_buffering off\` on $(api_location)
- upstream: t/fakellm, one process; every stream's message is
  \`$MESSAGE\`: $NTOKENS tokens 100 ms apart, each the
  CLOCK_REALTIME microseconds at which the fake sent it
- load: bench/sseload, one process (epoll), N streams opened evenly over
  $RAMP_MS ms, \`Connection: close\`; overhead = a token's arrival at sseload −
  its stamp (one clock); first token = request written → first token read
  (includes the fake's 100 ms before its first token). quipu: one fresh thread
  (titled, so no title call) per stream, $PER_USER streams per user, $(api_turn). nginx alone:
  a second nginx on port $REF_PORT with the same worker settings, \`proxy_pass\` to the
  fake with \`proxy_buffering off\`, sseload posting the very body quipu sent upstream
  (captured from the fake) to \`/v1/chat/completions\`.
- rounds: $ROUNDS per N, each nginx alone then quipu; figures are medians of
  the rounds (errors: sums). PostgreSQL connections: client backends of the quipu
  database in \`pg_stat_activity\`, sampled every 200 ms, the most at once (in
  parentheses: the most not idle). RSS: the workers' summed VmRSS sampled every
  200 ms, its peak minus the sum just before the run, per stream (in parentheses:
  minus the sum of the fresh pool before any stream, which counts memory a worker
  kept from earlier runs).

| streams | relay | ok / errors | overhead p50 | p99 | p99 vs nginx | p99.9 | first token p50 | p99 | open at once | streams/s | PG conns max (busy) | RSS KiB/stream (vs fresh) |
|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|
${rows%$'\n'}

Against the targets of BENCH.md:

| # | figure | quipu | nginx alone | ratio | target | met |
|---|---|---:|---:|---:|---|---|
$(verdicts)

Largest N without an error in any round: quipu **$(largest_clean quipu)**, nginx alone
**$(largest_clean ref)** (the list: ${COUNTS[*]}).

What quipu saw (its /metrics and error log): checkouts that waited for a free
PostgreSQL connection and the seconds waited per stream (medians per run),
checkouts that gave up after \`db_connect_timeout\` and answered 503 (sum), the
most of quipu's PostgreSQL connections waiting for a lock at once (sampled every
200 ms, median; $PER_USER streams per user share its usage row), failed model
calls (sum), requests logged as slow (median; \`slow_request_timeout =
$(conf_value slow_request_timeout)\` s, and every stream of $NTOKENS × 100 ms is one), warn lines
(median) and error lines (sum):

| streams | pool waits | s waited / stream | pool timeouts (503) | PG lock waits | model call errors | slow requests | warn lines | error lines |
|---:|---:|---:|---:|---:|---:|---:|---:|---:|
${counters%$'\n'}

CPU during the runs, as a share of the whole machine ($(nproc) CPUs = 100 %;
medians; /proc/PID/stat of each process tree, exited children included; nginx is
both instances; "busy" is the machine's, everything else on it included):

| streams | relay | busy | quipu | nginx | fake | PostgreSQL | sseload |
|---:|---|---:|---:|---:|---:|---:|---:|
${cpus%$'\n'}

Per round (ok, errors, tokens, first token p50 p99, overhead p50 p99 p99.9 max
(ms), elapsed s, open at once, streams/s, PG connections max and busy max, RSS
KiB/stream and vs fresh, CPU % busy quipu nginx fake PostgreSQL sseload, error
kinds); quipu's counters per run (from /metrics: pool waits, seconds waited, model
call errors, worker restarts, slow requests; error and warn lines in its error
log, pool timeouts, most lock waits at once; worker pids before and
after):

\`\`\`
$(rounds_dump)
\`\`\`
EOF
	say "wrote the section \"$SECTION\" of $RESULTS"
}

# ------------------------------------------------------------ main

# The EXIT trap: samplers, the reference nginx, the fake, the files that
# hold tokens, then what stack_start started.
bench_stop() {
	local p
	rm -f "$VAR/stream-sampling"
	for p in "${SAMPLER_PIDS[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	stop_pid "$REF_PID" QUIT 10
	stop_pid "$FAKE_PID" TERM 10
	[[ -z $TOKENS_FILE ]] || rm -f "$TOKENS_FILE"
	[[ -z $PATHS_FILE ]] || rm -f "$PATHS_FILE"
	stack_stop
}

bench_main() {
	local load bad n
	load=$(cut -d' ' -f1-3 /proc/loadavg)
	trap 'bench_stop' EXIT
	trap 'exit 130' INT TERM
	deps_install "${BUILD_PKGS[@]}" "${RUN_PKGS[@]}"
	build build --enable-werror
	state_init
	sseload_build
	fake_start
	stack_start "$QUIPU_HTTP_PORT" "$CEILING_PORT"
	ref_start
	PG_PID=$(head -n 1 "$VAR/pg/data/postmaster.pid")
	PATHS_FILE=$VAR/stream-paths.txt
	conf_effective
	[[ $(conf_value llm_base_url) == "$QUIPU_LLM_BASE_URL" ]] ||
	    die "quipu does not use the fake: llm_base_url = $(conf_value llm_base_url)"
	users_seed
	tokens_make
	mapfile -t WORKERS < <(pgrep -P "$QUIPU_PID" | sort -n)
	rss_sum
	FRESH_RSS=$RSS
	check
	run_ladder
	write_results "$load"
	awk -v h="$SECTION" '/^# / { p = index($0, h) == 1 } p' "$RESULTS"
	bad=0
	for n in "${COUNTS[@]}"; do
		ran "$n" && bad=$((bad + $(total "quipu-$n" 2)))
	done
	((bad == 0)) || die "$bad quipu streams failed (see above)"
}

# Sourced (for its functions), it runs nothing.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	bench_main "$@"
fi
