#!/usr/bin/env bash
# bench/tasks.sh: the tasks API under the mixed load of BENCH.md (P1, P2),
# against the database alone and nginx alone, measured in the same run.
#
# Brings up PostgreSQL, quipu and nginx with ./dev's own functions (state
# in var/bench, the ports of healthz.sh), seeds 1000 users x 50 tasks with
# SQL (bench/tasks_seed.sql: it empties the bench cluster's tasks table),
# signs one access token per user (bench/mktokens, with the key quipu
# reads; the file is removed on exit), checks one request of each kind, then runs BENCH_ROUNDS rounds,
# alternating in each:
#   ceiling: nginx answering a constant 200 itself (mkconf CEILING_PORT),
#            loaded by the same wrk script;
#   quipu:   wrk -s bench/tasks.lua through nginx: 80 % GET
#            /api/v1/tasks?limit=20, 10 % GET /api/v1/tasks/{id}, 10 %
#            PATCH /api/v1/tasks/{id}/complete, a random user's token and
#            tasks each;
#   pgbench: -M prepared running bench/tasks_list.sql, the statement of
#            the list endpoint for a random user (the database ceiling);
# and replaces the section "# Tasks: mixed load" of bench/RESULTS.md with
# the medians. Each round also reads the CPU time of the PostgreSQL, quipu
# and nginx process trees and of the load generator (/proc/PID/stat,
# `times'). Everything it started is stopped on exit. Exits non-zero when
# quipu answered any non-2xx or wrk saw socket errors: the figures of such
# a run are flagged in RESULTS.md and do not count.
#
# Environment: BENCH_ROUNDS (3), BENCH_DURATION (20s), BENCH_CONNECTIONS
# (64), BENCH_THREADS (2), BENCH_PGBENCH_CLIENTS (16), BENCH_PGBENCH_JOBS
# (2). QUIPU_* variables reach quipu-fcgi (QUIPU_DB_POOL_SIZE=8 ...); the
# section reports the values in effect.

set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
ROUNDS=${BENCH_ROUNDS:-3}
DURATION=${BENCH_DURATION:-20s}
CONNS=${BENCH_CONNECTIONS:-64}
THREADS=${BENCH_THREADS:-2}
PG_CLIENTS=${BENCH_PGBENCH_CLIENTS:-16}
PG_JOBS=${BENCH_PGBENCH_JOBS:-2}

# Fixed by tasks_seed.sql.
USERS=1000
PER_USER=50

# The test routes are not part of the API under test.
export QUIPU_TEST_ROUTES=off
# tasks.lua's knob for digging (another mix; set it after sourcing this
# file for its functions) stays out of the reported figures.
unset TASKS_MIX

# shellcheck source=SCRIPTDIR/lib.sh
source "$BENCH_DIR/lib.sh"
BENCH_PREFIX=tasks

HZ=$(getconf CLK_TCK)
PG_PID=
CONF_DUMP=
TOKENS=
export TASKS_PER_USER=$PER_USER

# DURATION ("20s", "2m", "30") in whole seconds, for pgbench's -T.
seconds() {
	case $1 in
	*m)	echo $((${1%m} * 60)) ;;
	*s)	echo "${1%s}" ;;
	*)	echo "$1" ;;
	esac
}

now() { date +%s.%N; }

# ------------------------------------------------------------ setup



pg_psql() {
	"$(pg_bindir)/psql" -X -q -h "$VAR/pg/run" -p "$PG_PORT" -U postgres \
	    -d quipu -v ON_ERROR_STOP=1 "$@"
}

# The bench data, through psql's stdin (PostgreSQL's user need not reach
# the checkout).
seed() {
	say "seeding $USERS users x $PER_USER tasks (bench/tasks_seed.sql)"
	pg_psql -v bench_port="$PG_PORT" < "$BENCH_DIR/tasks_seed.sql" ||
	    die "tasks_seed.sql failed"
}

# One access token per user, line n for user n, signed with the key
# quipu-fcgi loaded; its key id must be the one quipu names.
tokens_make() {
	local key kid mine ttl
	key=$(conf_value jwt_secret_file)
	kid=$(awk '/^# jwt key:/ { print $NF }' <<<"$CONF_DUMP")
	# Every round of every target, with room for the warm-ups.
	ttl=$((ROUNDS * 3 * $(seconds "$DURATION") + 900))
	TOKENS=$VAR/tasks-tokens.txt
	say "signing $USERS access tokens (bench/mktokens, ttl ${ttl}s)"
	rm -f "$TOKENS"
	# "user_id session_id" of user n (tasks_seed.sql).
	seq 1 "$USERS" | awk '{ printf "00000000-0000-4000-8000-%012d " \
	    "00000000-0000-4000-9000-%012d\n", $1, $1 }' |
	    (umask 077 && "$REPO/build/bench/mktokens" "$key" "$ttl" \
	    > "$TOKENS" 2> "$VAR/tasks-mktokens.err") ||
	    { cat "$VAR/tasks-mktokens.err" >&2; die "mktokens failed"; }
	mine=$(awk '/kid/ { print $NF }' "$VAR/tasks-mktokens.err")
	[[ -n $kid && $mine == "$kid" ]] ||
	    die "mktokens signed with kid ${mine:-?}, quipu loaded kid ${kid:-?}"
	(($(wc -l < "$TOKENS") == USERS)) || die "mktokens wrote too few tokens"
	export TASKS_TOKENS=$TOKENS
}

# request METHOD PATH [USER]: as USER (1), prints the status and leaves
# the body in $VAR/tasks-check.json.
request() {
	bench_request "$(sed -n "${3:-1}p" "$TOKENS")" "$VAR/tasks-check.json" \
	    "$1" "$2"
}

# expect STATUS METHOD PATH [USER]
expect() {
	local want=$1; shift
	bench_expect "$want" "$(request "$@")" "$VAR/tasks-check.json" "$1 $2"
}

# One request of each kind before measuring: a run that answers errors
# fast would measure nothing. The toggle is done twice: the data stays.
check() {
	# User 1 owns tasks 1 .. PER_USER, user 2 the next ones.
	local first=1 other=$((PER_USER + 1))
	say "checking one request of each kind"
	expect 200 GET /api/v1/auth/me 1
	grep -q '"00000000-0000-4000-8000-000000000001"' "$VAR/tasks-check.json" ||
	    die "GET /api/v1/auth/me is not bench user 1"
	expect 200 GET "/api/v1/tasks?limit=20" 1
	grep -q "\"total\":$PER_USER" "$VAR/tasks-check.json" ||
	    die "the list of bench user 1 does not say total $PER_USER"
	(($(grep -o '"title":' "$VAR/tasks-check.json" | wc -l) == 20)) ||
	    die "the list of bench user 1 does not hold 20 tasks"
	expect 200 GET "/api/v1/tasks/$first" 1
	expect 200 PATCH "/api/v1/tasks/$first/complete" 1
	expect 200 PATCH "/api/v1/tasks/$first/complete" 1
	expect 404 GET "/api/v1/tasks/$other" 1
	expect 200 GET "/api/v1/tasks/$other" 2
}

# ------------------------------------------------------------ CPU time

# The machine's busy CPU time so far, in ticks (/proc/stat: user, nice,
# system, irq, softirq; not idle, iowait, or what the hypervisor stole).
machine_ticks() {
	awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 }' /proc/stat
}


# The CPU time of this shell's reaped children (the load generators so
# far) in ticks, from the output of `times' in FILE.
child_ticks() {
	awk -v hz="$HZ" 'NR == 2 {
		s = 0
		for (i = 1; i <= 2; i++) {
			split($i, a, "m")
			sub(/s$/, "", a[2])
			s += a[1] * 60 + a[2]
		}
		printf "%d\n", s * hz + 0.5
	}' "$1"
}

# cpu_snapshot FILE: writes "wall machine pg quipu nginx client" (ticks)
# to FILE. Must run in this shell, never in a command substitution: the
# subshell's `times' would not see this shell's children.
cpu_snapshot() {
	times > "$1.times"
	printf '%s %s %s %s\n' "$(now)" "$(machine_ticks)" \
	    "$(tree_ticks "$PG_PID" "$QUIPU_PID" "$NGINX_PID")" \
	    "$(child_ticks "$1.times")" > "$1"
}

# cpu_diff BEFORE AFTER: "wall_s busy_s pg_s quipu_s nginx_s client_s"
# between two snapshots, in seconds (of CPU but the first).
cpu_diff() {
	awk -v hz="$HZ" -v a="$(cat "$1")" -v b="$(cat "$2")" 'BEGIN {
		split(a, x, " "); split(b, y, " ")
		printf "%.3f", y[1] - x[1]
		for (i = 2; i <= 6; i++)
			printf " %.2f", (y[i] - x[i]) / hz
		print ""
	}'
}

# ------------------------------------------------------------ rounds

# One wrk round against BASE: prints "req/s p50_ms p99_ms non2xx errors
# wall busy pg quipu nginx client".
wrk_round() {
	local base=$1 out rps p50 p99 non2xx errs cpu
	cpu_snapshot "$VAR/tasks-cpu0"
	out=$(wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency \
	    -s "$BENCH_DIR/tasks.lua" "$base")
	cpu_snapshot "$VAR/tasks-cpu1"
	cpu=$(cpu_diff "$VAR/tasks-cpu0" "$VAR/tasks-cpu1")
	printf '%s\n' "$out" >> "$VAR/tasks-wrk.log"
	rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
	p50=$(awk '$1 == "50%" { print $2 }' <<<"$out")
	p99=$(awk '$1 == "99%" { print $2 }' <<<"$out")
	non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' <<<"$out")
	errs=$(awk '/Socket errors:/ { gsub(",", ""); print $4 + $6 + $8 + $10 }' <<<"$out")
	printf '%s %s %s %s %s %s\n' "$rps" "$(to_ms "$p50")" "$(to_ms "$p99")" \
	    "${non2xx:-0}" "${errs:-0}" "$cpu"
}

# pgbench ARGS...: the list statement against the bench database.
pgbench_run() {
	"$(pg_bindir)/pgbench" -h "$VAR/pg/run" -p "$PG_PORT" -U postgres -n \
	    -M prepared -f "$BENCH_DIR/tasks_list.sql" "$@" quipu
}

# One pgbench round: prints "tps p50_ms p99_ms 0 failed wall busy pg quipu
# nginx client". The latencies come from its per-transaction log (-l).
pgbench_round() {
	local out tps failed lat cpu log=$VAR/tasks-pgbench-log
	rm -f "$log".*
	cpu_snapshot "$VAR/tasks-cpu0"
	out=$(cd "$VAR" && pgbench_run -c"$PG_CLIENTS" -j"$PG_JOBS" \
	    -T"$(seconds "$DURATION")" -l --log-prefix="$log" 2>&1) ||
	    { printf '%s\n' "$out" >&2; die "pgbench failed"; }
	cpu_snapshot "$VAR/tasks-cpu1"
	cpu=$(cpu_diff "$VAR/tasks-cpu0" "$VAR/tasks-cpu1")
	printf '%s\n' "$out" >> "$VAR/tasks-pgbench.log"
	tps=$(awk '/^tps = / { print $3; exit }' <<<"$out")
	failed=$(awk '/^number of failed transactions:/ { print $5 }' <<<"$out")
	# Field 3 of the log: the transaction's latency in microseconds.
	lat=$(cat "$log".* | awk '{ print $3 }' | sort -n | awk '
	    function at(q,  i) {
		i = int(NR * q + 0.5)
		if (i < 1)
			i = 1
		return a[i] / 1000
	    }
	    { a[NR] = $1 }
	    END { printf "%.3f %.3f\n", at(0.50), at(0.99) }')
	rm -f "$log".*
	printf '%s %s 0 %s %s\n' "$tps" "$lat" "${failed:-0}" "$cpu"
}

# Alternates the targets round by round, so that drift in the machine's
# load hits all alike. Fills $VAR/tasks-<target>.txt.
run_rounds() {
	local i
	: > "$VAR/tasks-ceiling.txt"
	: > "$VAR/tasks-quipu.txt"
	: > "$VAR/tasks-pgbench.txt"
	: > "$VAR/tasks-wrk.log"
	: > "$VAR/tasks-pgbench.log"
	for ((i = 1; i <= ROUNDS; i++)); do
		say "round $i/$ROUNDS: ceiling"
		wrk_round "http://127.0.0.1:$CEILING_PORT" >> "$VAR/tasks-ceiling.txt"
		say "round $i/$ROUNDS: quipu"
		wrk_round "http://127.0.0.1:$QUIPU_HTTP_PORT" >> "$VAR/tasks-quipu.txt"
		say "round $i/$ROUNDS: pgbench"
		pgbench_round >> "$VAR/tasks-pgbench.txt"
	done
}

warm_up() {
	say "warming up"
	wrk -t1 -c8 -d2s -s "$BENCH_DIR/tasks.lua" \
	    "http://127.0.0.1:$QUIPU_HTTP_PORT" >/dev/null
	wrk -t1 -c8 -d2s -s "$BENCH_DIR/tasks.lua" \
	    "http://127.0.0.1:$CEILING_PORT" >/dev/null
	(cd "$VAR" && pgbench_run -c"$PG_CLIENTS" -j"$PG_JOBS" -T2 >/dev/null 2>&1) ||
	    die "pgbench failed (bench/tasks_list.sql)"
}

# ------------------------------------------------------------ report

# yes or no: does `a OP b' hold?
meets() {
	awk -v a="$1" -v b="$3" -v op="$2" 'BEGIN {
		ok = (op == ">=") ? a >= b : (op == "<") ? a < b : a == b
		print ok ? "yes" : "**no**"
	}'
}

# pct TARGET COLUMN: the median of a CPU column as a percentage of the
# whole machine over the round.
pct() {
	paste -d' ' <(awk -v c="$2" '{ print $c }' "$VAR/$BENCH_PREFIX-$1.txt") \
	    <(awk '{ print $6 }' "$VAR/$BENCH_PREFIX-$1.txt") |
	    awk -v n="$(nproc)" '{ print ($2 > 0 ? 100 * $1 / ($2 * n) : 0) }' |
	    median | awk '{ printf "%.0f %%\n", $1 }'
}

# us TARGET COLUMN: the median CPU time of a column per request, in
# microseconds.
us() {
	awk -v c="$2" '{ print ($1 * $6 > 0 ? 1e6 * $c / ($1 * $6) : 0) }' \
	    "$VAR/$BENCH_PREFIX-$1.txt" | median | awk '{ printf "%.0f\n", $1 }'
}

# other TARGET: busy CPU not in any named tree, median %, per round.
other() {
	awk -v n="$(nproc)" '{
		o = $7 - $8 - $9 - $10 - $11
		print ($6 > 0 ? 100 * o / ($6 * n) : 0)
	}' "$VAR/$BENCH_PREFIX-$1.txt" | median | awk '{ printf "%.0f %%\n", $1 }'
}

cpu_row() {
	printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$2" "$(pct "$1" 7)" \
	    "$(pct "$1" 8)" "$(pct "$1" 9)" "$(pct "$1" 10)" "$(pct "$1" 11)" \
	    "$(other "$1")"
}

write_results() {
	local load=$1 c_rps c_p50 c_p99 q_rps q_p50 q_p99 p_tps p_p50 p_p99
	local bad flag ngx pg quipu pgb workers threads pool nw
	c_rps=$(med ceiling 1 %.0f) c_p50=$(med ceiling 2 %.2f) c_p99=$(med ceiling 3 %.2f)
	q_rps=$(med quipu 1 %.0f) q_p50=$(med quipu 2 %.2f) q_p99=$(med quipu 3 %.2f)
	p_tps=$(med pgbench 1 %.0f) p_p50=$(med pgbench 2 %.2f) p_p99=$(med pgbench 3 %.2f)
	bad=$(($(total quipu 4) + $(total quipu 5)))
	flag=
	if ((bad > 0)); then
		flag="**FLAGGED: quipu answered $(total quipu 4) non-2xx responses and wrk saw $(total quipu 5) socket errors in these rounds. A fast error is not a result: the quipu figures below do not count.**"
	fi
	ngx=$("$(command -v nginx || echo /usr/sbin/nginx)" -v 2>&1 | sed 's/.*: //')
	pg=$("$(pg_bindir)/postgres" --version)
	pgb=$("$(pg_bindir)/pgbench" --version)
	quipu=$("$QUIPU_FCGI" -V 2>/dev/null | head -n 1 || true)
	workers=$(conf_value workers) threads=$(conf_value threads)
	pool=$(conf_value db_pool_size)
	nw=$workers
	((nw > 0)) || nw=$(nproc)
	results_section_replace "$RESULTS" "# Tasks: mixed load" <<EOF
# Tasks: mixed load through nginx, against pgbench and nginx alone

Written by \`./dev bench\` (bench/tasks.sh); run it again to refresh.
${flag:+
$flag
}
- date: $(date -u +%Y-%m-%dT%H:%M:%SZ)
- machine: $(nproc) CPUs ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)),
  kernel $(uname -r), load average before the run: $load
- versions: $ngx, $pg, ${quipu:-quipu-fcgi ?}, $pgb,
  $(wrk -v 2>&1 | head -n 1 | cut -d' ' -f1-2)
- quipu: \`workers = $workers\`, \`threads = $threads\`, \`db_pool_size = $pool\`
  ($((nw * pool)) PostgreSQL connections in all), \`max_requests = $(conf_value max_requests)\`,
  \`access_log\` $( [[ $(conf_value access_log) == off ]] && echo off || echo on),
  \`test_routes = $(conf_value test_routes)\` (the \`./dev run\` config and the
  QUIPU_* environment, as \`quipu-fcgi -t -v\` prints it); nginx \`worker_processes
  auto\`, FastCGI over a unix socket, \`fastcgi_keep_conn off\`
- data: $USERS users x $PER_USER tasks (bench/tasks_seed.sql, written with SQL); one
  access token per user signed ahead by bench/mktokens with the key quipu loaded
- load: \`wrk -t$THREADS -c$CONNS -d$DURATION --latency -s bench/tasks.lua\`: 80 %
  \`GET /api/v1/tasks?limit=20\`, 10 % \`GET /api/v1/tasks/{id}\`, 10 %
  \`PATCH /api/v1/tasks/{id}/complete\` (a toggle), each as a random user with its
  own token and tasks. The ceiling is nginx's \`return 200\` under the same script.
  The database ceiling: \`pgbench -n -M prepared -c$PG_CLIENTS -j$PG_JOBS -T$(seconds "$DURATION") -l
  -f bench/tasks_list.sql\`, the list endpoint's statement for a random user
  (latencies from its per-transaction log). Rounds: $ROUNDS, each running ceiling,
  quipu and pgbench in turn; the figures are medians. The load generators run on the same
  machine and compete for the same CPUs.

| target | req/s | p50 | p99 | non-2xx (all rounds) | socket errors / failed transactions |
|---|---:|---:|---:|---:|---:|
| nginx ceiling (\`return 200\`) | $c_rps | $c_p50 ms | $c_p99 ms | $(total ceiling 4) | $(total ceiling 5) |
| quipu, mixed load via nginx | $q_rps | $q_p50 ms | $q_p99 ms | $(total quipu 4) | $(total quipu 5) |
| pgbench, the list statement (tps) | $p_tps | $p_p50 ms | $p_p99 ms | | $(total pgbench 5) |

Against the targets of BENCH.md:

| # | figure | quipu | reference | ratio | target | met |
|---|---|---:|---:|---:|---|---|
| P1 | requests/s against pgbench's transactions/s | $q_rps | $p_tps | $(ratio "$q_rps" "$p_tps") | >= 0.70 | $(meets "$(ratio "$q_rps" "$p_tps")" ">=" 0.70) |
| P2 | p99 latency at $CONNS connections | $q_p99 ms | pgbench $p_p99 ms | $(ratio "$q_p99" "$p_p99") | < 10 ms | $(meets "$q_p99" "<" 10) |
| | non-2xx + socket errors | $bad | | | 0 | $(meets "$bad" "==" 0) |
| | requests/s against the nginx ceiling | $q_rps | $c_rps | $(ratio "$q_rps" "$c_rps") | | |

CPU time during the rounds, as a share of the whole machine ($(nproc) CPUs = 100 %;
medians; /proc/PID/stat of each process tree, user + system, exited children
included; "load generator" is wrk or pgbench; "other" is the rest of the busy
time: the kernel's own threads, this script, anything else on the machine):

| target | busy | PostgreSQL | quipu | nginx | load generator | other |
|---|---:|---:|---:|---:|---:|---:|
$(cpu_row ceiling "nginx ceiling")
$(cpu_row quipu "quipu")
$(cpu_row pgbench "pgbench")

CPU per request under quipu's load: PostgreSQL $(us quipu 8) µs, quipu $(us quipu 9) µs,
nginx $(us quipu 10) µs, wrk $(us quipu 11) µs; per pgbench transaction: PostgreSQL
$(us pgbench 8) µs, pgbench $(us pgbench 11) µs.

Per round (req/s or tps, p50 ms, p99 ms, non-2xx, socket errors or failed
transactions, then wall s and CPU s: machine busy, PostgreSQL, quipu, nginx,
load generator):

\`\`\`
ceiling:
$(cat "$VAR/tasks-ceiling.txt")
quipu:
$(cat "$VAR/tasks-quipu.txt")
pgbench:
$(cat "$VAR/tasks-pgbench.txt")
\`\`\`
EOF
	say "wrote the Tasks section of $RESULTS"
}

# The EXIT trap: the tokens (they expire soon, but nothing keeps them),
# then what stack_start started.
bench_stop() {
	[[ -z $TOKENS ]] || rm -f "$TOKENS"
	stack_stop
}

bench_main() {
	local load bad
	# The machine's own load, before our build and seeding.
	load=$(cut -d' ' -f1-3 /proc/loadavg)
	deps_install wrk
	trap 'bench_stop' EXIT
	trap 'exit 130' INT TERM
	stack_start "$QUIPU_HTTP_PORT" "$CEILING_PORT"
	PG_PID=$(head -n 1 "$VAR/pg/data/postmaster.pid")
	conf_effective
	seed
	tokens_make
	check
	warm_up
	run_rounds
	write_results "$load"
	awk '/^# / { p = index($0, "# Tasks: mixed load") == 1 } p' "$RESULTS"
	bad=$(($(total quipu 4) + $(total quipu 5)))
	((bad == 0)) || die "quipu answered $bad non-2xx or socket errors (see above)"
}

# Sourced (for its functions), it runs nothing.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	bench_main "$@"
fi
