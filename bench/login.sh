#!/usr/bin/env bash
# bench/login.sh: what a login costs in quipu beyond its password hash, and
# how much memory a burst of logins takes.
#
# Brings up PostgreSQL, quipu and nginx with ./dev's own functions (state in
# var/bench, the ports of healthz.sh), registers the bench users once, then
#   throughput: POST /api/v1/auth/login through nginx, wrk -t2 -c4, against
#               the reference: argon2id crypto_pwhash_str_verify alone
#               (libsodium's interactive limits, as quipu stores hashes) in
#               a small C program with 2 threads, compiled here into
#               var/bench; rounds alternate, the figures are medians;
#   burst:      BENCH_LOGIN_BURST logins started at once, while every
#               worker's VmRSS is sampled and its VmHWM (reset just before
#               through /proc/PID/clear_refs) read after,
# and replaces the section "# Logins" of bench/RESULTS.md. Everything it
# started is stopped on exit. Exits non-zero when a login failed.
#
# Login throttling stays on (the check is part of a login's cost) with
# login_max_failures high enough never to trigger: every request comes from
# 127.0.0.1.
#
# Environment: BENCH_LOGIN_ROUNDS (3), BENCH_LOGIN_DURATION (15, seconds),
# BENCH_LOGIN_CONNECTIONS (4), BENCH_LOGIN_THREADS (2, wrk's and the
# reference's), BENCH_LOGIN_USERS (50), BENCH_LOGIN_BURST (50).

set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
ROUNDS=${BENCH_LOGIN_ROUNDS:-3}
DURATION=${BENCH_LOGIN_DURATION:-15}
CONNS=${BENCH_LOGIN_CONNECTIONS:-4}
THREADS=${BENCH_LOGIN_THREADS:-2}
USERS=${BENCH_LOGIN_USERS:-50}
BURST=${BENCH_LOGIN_BURST:-50}

# quipu-fcgi reads these itself (QUIPU_<KEY> overrides quipu.conf).
export QUIPU_LOGIN_MAX_FAILURES=1000000
# The bench users all register from 127.0.0.1.
export QUIPU_REGISTER_MAX_PER_HOUR=0
export QUIPU_PASSWORD_HASH_CONCURRENCY=1

# The bench accounts: throwaway users of the private bench cluster. The
# password reaches curl and wrk on stdin and by environment, never argv.
export LOGIN_PREFIX=bench_login_
export LOGIN_USERS=$USERS
export LOGIN_PASSWORD=bench-login-password-1

# shellcheck source=SCRIPTDIR/lib.sh
source "$BENCH_DIR/lib.sh"
BENCH_PREFIX=login

BASE=
WORKERS=()
SAMPLER_PID=

mib() {
	awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'
}

# ------------------------------------------------------------ reference

# Writes and compiles the reference into $VAR: a fresh build each run, so
# that it links the libsodium installed now, the one quipu-fcgi links.
ref_build() {
	say "compiling the argon2id reference"
	cat > "$VAR/login-ref.c" <<'EOF'
/*
 * login-ref: the cost of a login's password check alone. THREADS threads
 * verify one argon2id hash made with libsodium's interactive limits (what
 * quipu stores) until SECONDS have passed. Prints "verifies seconds
 * verifies/s ms/verify". Written and compiled by bench/login.sh.
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <sodium.h>

#define THREADS_MAX	64

static const char	 password[] = "login-ref-password";
static char		 hash[crypto_pwhash_STRBYTES];
static double		 deadline;

struct verifier {
	pthread_t	 thread;
	long		 done;
	int		 failed;
};

static double
now(void)
{
	struct timespec	 ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1) {
		perror("clock_gettime");
		exit(1);
	}
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Like wrk, finishes the verify under way when the time is up. */
static void *
verify_loop(void *arg)
{
	struct verifier	*v = arg;

	while (now() < deadline) {
		if (crypto_pwhash_str_verify(hash, password,
		    sizeof(password) - 1) != 0) {
			v->failed = 1;
			break;
		}
		v->done++;
	}
	return NULL;
}

int
main(int argc, char *argv[])
{
	static struct verifier	 v[THREADS_MAX];
	double			 start, elapsed;
	long			 total = 0;
	int			 i, n, secs, failed = 0;

	if (argc != 3 || (n = atoi(argv[1])) < 1 || n > THREADS_MAX ||
	    (secs = atoi(argv[2])) < 1) {
		fprintf(stderr, "usage: login-ref THREADS SECONDS\n");
		return 2;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "login-ref: sodium_init failed\n");
		return 1;
	}
	if (crypto_pwhash_str_alg(hash, password, sizeof(password) - 1,
	    crypto_pwhash_OPSLIMIT_INTERACTIVE,
	    crypto_pwhash_MEMLIMIT_INTERACTIVE,
	    crypto_pwhash_ALG_ARGON2ID13) != 0) {
		fprintf(stderr, "login-ref: no memory for the hash\n");
		return 1;
	}
	start = now();
	deadline = start + secs;
	for (i = 0; i < n; i++)
		if (pthread_create(&v[i].thread, NULL, verify_loop,
		    &v[i]) != 0) {
			fprintf(stderr, "login-ref: pthread_create failed\n");
			return 1;
		}
	for (i = 0; i < n; i++) {
		if (pthread_join(v[i].thread, NULL) != 0) {
			fprintf(stderr, "login-ref: pthread_join failed\n");
			return 1;
		}
		total += v[i].done;
		failed |= v[i].failed;
	}
	elapsed = now() - start;
	if (failed || total == 0) {
		fprintf(stderr, "login-ref: a verify failed\n");
		return 1;
	}
	printf("%ld %.3f %.2f %.2f\n", total, elapsed, total / elapsed,
	    n * elapsed * 1000 / total);
	return 0;
}
EOF
	cc -std=c11 -O2 -Wall -Wextra -Werror -pthread \
	    -o "$VAR/login-ref" "$VAR/login-ref.c" -lsodium ||
	    die "cannot compile $VAR/login-ref.c (libsodium-dev?)"
}

# One reference round: prints "verifies/s ms/verify cpu_busy_%".
ref_round() {
	local out cpu0
	cpu0=$(cpu_times)
	out=$("$VAR/login-ref" "$THREADS" "$DURATION")
	printf '%s\n' "$out" >> "$VAR/login-wrk.log"
	printf '%s %s\n' "$(awk '{ print $3, $4 }' <<<"$out")" "$(cpu_busy "$cpu0")"
}

# The machine's CPU time so far, "total idle" in ticks (/proc/stat).
cpu_times() {
	awk '$1 == "cpu" {
		for (i = 2; i <= NF; i++) t += $i
		print t, $5 + $6
	}' /proc/stat
}

# cpu_busy "TOTAL IDLE": percent of all CPUs busy since that cpu_times.
cpu_busy() {
	local t0 i0 t1 i1
	read -r t0 i0 <<<"$1"
	read -r t1 i1 <<<"$(cpu_times)"
	awk -v t="$((t1 - t0))" -v i="$((i1 - i0))" \
	    'BEGIN { printf "%.0f", (t > 0 ? 100 * (t - i) / t : 0) }'
}

# ------------------------------------------------------------ quipu

# login_post PATH USERNAME: posts the credentials as JSON; prints curl's
# "status seconds". The body goes on stdin, out of `ps'.
login_post() {
	printf '{"username":"%s","password":"%s"}' "$2" "$LOGIN_PASSWORD" |
	    curl -sS -o /dev/null -w '%{http_code} %{time_total}\n' \
	    --max-time 120 -H 'Content-Type: application/json' \
	    --data-binary @- "$BASE$1" 2>/dev/null || true
}

# Registers the bench users; a 409 means an earlier run did.
users_register() {
	local i code made=0
	for ((i = 1; i <= USERS; i++)); do
		code=$(login_post /api/v1/auth/register "$LOGIN_PREFIX$i")
		case ${code%% *} in
		201)	made=$((made + 1)) ;;
		409)	;;
		*)	die "registering $LOGIN_PREFIX$i answered ${code%% *}" ;;
		esac
	done
	say "bench users: $made registered now, $((USERS - made)) already there"
	code=$(login_post /api/v1/auth/login "${LOGIN_PREFIX}1")
	[[ ${code%% *} == 200 ]] ||
	    die "login of ${LOGIN_PREFIX}1 answered ${code%% *}, not 200"
}

# One wrk round: prints "logins/s p50_ms p99_ms non2xx errors
# cpu_busy_% statuses".
wrk_round() {
	local out rps p50 p99 non2xx errs st cpu0
	cpu0=$(cpu_times)
	out=$(wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency \
	    -s "$BENCH_DIR/login.lua" "$BASE/api/v1/auth/login")
	printf '%s\n' "$out" >> "$VAR/login-wrk.log"
	rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
	p50=$(awk '$1 == "50%" { print $2 }' <<<"$out")
	p99=$(awk '$1 == "99%" { print $2 }' <<<"$out")
	non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' <<<"$out")
	errs=$(awk '/Socket errors:/ { gsub(",", ""); print $4 + $6 + $8 + $10 }' <<<"$out")
	st=$(awk '/^statuses:/ { $1 = ""; gsub(/^ /, ""); gsub(/ /, ","); print }' <<<"$out")
	printf '%s %s %s %s %s %s %s\n' "$rps" "$(to_ms "$p50")" \
	    "$(to_ms "$p99")" "${non2xx:-0}" "${errs:-0}" "$(cpu_busy "$cpu0")" \
	    "${st:--}"
}

# Alternates quipu and the reference round by round, so that drift in the
# machine's load hits both alike. Fills $VAR/login-{quipu,ref}.txt.
run_rounds() {
	local i
	: > "$VAR/login-quipu.txt"
	: > "$VAR/login-ref.txt"
	for ((i = 1; i <= ROUNDS; i++)); do
		say "round $i/$ROUNDS"
		wrk_round >> "$VAR/login-quipu.txt"
		ref_round >> "$VAR/login-ref.txt"
	done
}

# Logins answered per worker pid in the access log since line $1.
logins_per_worker() {
	tail -n +"$(($1 + 1))" "$VAR/log/access.log" 2>/dev/null |
	    grep '"path":"/api/v1/auth/login"' |
	    grep -o '"pid":[0-9]*' | cut -d: -f2 | sort | uniq -c |
	    awk '{ printf "%s%s: %s", sep, $2, $1; sep = ", " }'
}

# ------------------------------------------------------------ the burst

# read_kb PID FIELD: sets KB to a /proc/PID/status field (VmRSS, VmHWM)
# in kB, 0 when the process is gone. Builtins only: the sampler calls it.
read_kb() {
	local k v _
	KB=0
	while read -r k v _; do
		if [[ $k == "$2:" ]]; then
			KB=$v
			break
		fi
	done 2>/dev/null < "/proc/$1/status" || true
}
status_kb() {
	read_kb "$1" "$2"
	printf '%s\n' "$KB"
}

# Until $1 disappears, samples every worker's VmRSS; then prints
# "pid max_kB" per worker. No forks in the loop but sleep.
rss_sampler() {
	local flag=$1 w KB
	local -A top=()
	while [[ -e $flag ]]; do
		for w in "${WORKERS[@]}"; do
			read_kb "$w" VmRSS
			if ((KB > ${top[$w]:-0})); then
				top[$w]=$KB
			fi
		done
		sleep 0.01
	done
	for w in "${WORKERS[@]}"; do
		printf '%s %s\n' "$w" "${top[$w]:-0}"
	done
}

# curl's configuration for the burst: BURST logins, all started at once
# (--parallel-immediate opens every connection together instead of
# waiting to reuse one). On curl's stdin: the password stays out of argv.
burst_config() {
	local i
	printf 'parallel\nparallel-max = %d\nparallel-immediate\nsilent\n' "$BURST"
	for ((i = 1; i <= BURST; i++)); do
		((i == 1)) || echo next
		printf 'url = "%s/api/v1/auth/login"\n' "$BASE"
		echo 'header = "Content-Type: application/json"'
		printf 'data-binary = "{\\"username\\":\\"%s%d\\",' \
		    "$LOGIN_PREFIX" $(((i - 1) % USERS + 1))
		printf '\\"password\\":\\"%s\\"}"\n' "$LOGIN_PASSWORD"
		echo 'output = /dev/null'
		echo 'max-time = 120'
		printf '%s\n' 'write-out = "%{http_code} %{time_total}\\n"'
	done
}

# BURST logins at once from one curl, while the workers' memory is
# watched. Fills $VAR/login-burst.txt ("status seconds" per login) and
# $VAR/login-mem.txt ("pid rss_before hwm_life hwm_burst rss_sampled",
# kB), and sets BURST_WALL (seconds) and HWM_RESET (yes/no).
burst_run() {
	local w t0 t1 flag=$VAR/login-sampling
	mapfile -t WORKERS < <(pgrep -P "$QUIPU_PID" | sort -n)
	((${#WORKERS[@]} > 0)) || die "quipu-fcgi (pid $QUIPU_PID) has no workers"
	# VmHWM is the peak since the worker started: reset it to the
	# current RSS, so that after the burst it is the burst's own peak.
	HWM_RESET=yes
	: > "$VAR/login-mem-before.txt"
	for w in "${WORKERS[@]}"; do
		printf '%s %s %s\n' "$w" "$(status_kb "$w" VmRSS)" \
		    "$(status_kb "$w" VmHWM)" >> "$VAR/login-mem-before.txt"
		echo 5 2>/dev/null > "/proc/$w/clear_refs" || HWM_RESET=no
	done
	touch "$flag"
	rss_sampler "$flag" > "$VAR/login-sampled.txt" &
	SAMPLER_PID=$!
	say "burst: $BURST logins at once"
	t0=$EPOCHREALTIME
	burst_config | curl -K - > "$VAR/login-burst.txt" \
	    2>>"$VAR/login-wrk.log" || true
	t1=$EPOCHREALTIME
	rm -f "$flag"
	wait "$SAMPLER_PID"
	SAMPLER_PID=
	BURST_WALL=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
	: > "$VAR/login-mem.txt"
	while read -r w rss hwm; do
		printf '%s %s %s %s %s\n' "$w" "$rss" "$hwm" \
		    "$(status_kb "$w" VmHWM)" \
		    "$(awk -v w="$w" '$1 == w { print $2 }' "$VAR/login-sampled.txt")" \
		    >> "$VAR/login-mem.txt"
	done < "$VAR/login-mem-before.txt"
}

# ------------------------------------------------------------ results

# The memory table's rows, in MiB, and a total row.
mem_rows() {
	awk '{
		printf "| worker %s | %.1f | %.1f | %.1f | %.1f | %.1f |\n",
		    $1, $2 / 1024, $3 / 1024, $4 / 1024, ($4 - $2) / 1024,
		    $5 / 1024
		r += $2; l += $3; h += $4; s += $5
	} END {
		printf "| **all %d workers** | %.1f | %.1f | %.1f | %.1f | %.1f |\n",
		    NR, r / 1024, l / 1024, h / 1024, (h - r) / 1024, s / 1024
	}' "$VAR/login-mem.txt"
}

# interpretation Q_RPS R_VPS Q_P50 R_MS Q_BUSY R_BUSY SPLIT: what the table
# says, in numbers. SPLIT is logins_per_worker's "pid: n, pid: n". When
# both sides keep the CPUs busy, the reference spends them on hashes alone,
# so CPU per login beyond the hash is CPUs x (1/quipu - 1/reference).
interpretation() {
	local workers
	workers=$(awk '$1 == "workers" { print $3 }' "$VAR/quipu.conf")
	awk -v q="$1" -v r="$2" -v p50="$3" -v ms="$4" -v qb="$5" -v rb="$6" \
	    -v per_worker="$7" -v cpus="$(nproc)" -v conns="$CONNS" \
	    -v slots="$((${workers:-2} * QUIPU_PASSWORD_HASH_CONCURRENCY))" 'BEGIN {
		n = split(per_worker, f, /[:,] */)
		for (i = 2; i <= n; i += 2) {
			sum += f[i]
			if (f[i] > top) top = f[i]
		}
		share = sum > 0 ? top / sum : 0
		printf "quipu answers %.2f of the logins per second the hash " \
		    "alone allows; the CPUs were %d %% busy during its rounds, " \
		    "%d %% during the reference'"'"'s. ", q / r, qb, rb
		if (slots > 1 && share > 0.75)
			printf "One worker answered %.0f %% of the logins: with " \
			    "one hash slot per worker they queued at its slot " \
			    "while the other worker'"'"'s stayed idle, so the " \
			    "pool used about 1 of its %d slots; that, more than " \
			    "any work around the hash, sets the ratio. ",
			    100 * share, slots
		else if (q / r >= 0.95)
			printf "That is within 5 %%: nothing beyond the hash " \
			    "that this machine can measure. "
		else
			printf "About %.0f ms of CPU per login go elsewhere " \
			    "(%d CPUs x (1/quipu - 1/reference)): PostgreSQL, " \
			    "nginx, the JWT, quipu itself. ",
			    cpus * 1000 * (1 / q - 1 / r), cpus
		printf "p50 %.0f ms is %.1f x one verify (%.0f ms): with %d " \
		    "connections a login waits for the hashes of about %.1f " \
		    "others.\n", p50, p50 / ms, ms, conns, p50 / ms - 1
	}'
}

# Prints the section "# Logins" of RESULTS.md.
section() {
	local load=$1 split=$2 q_rps q_p50 q_p99 r_vps r_ms q_busy r_busy ok times
	local ngx pg quipu sodium nw
	q_rps=$(med quipu 1 %.1f) q_p50=$(med quipu 2 %.1f) q_p99=$(med quipu 3 %.1f)
	r_vps=$(med ref 1 %.1f) r_ms=$(med ref 2 %.1f)
	q_busy=$(med quipu 6 %.0f) r_busy=$(med ref 3 %.0f)
	ok=$(awk '$1 == 200' "$VAR/login-burst.txt" | wc -l)
	times=$(awk '{ print $2 }' "$VAR/login-burst.txt" | sort -g | awk '
	    { a[NR] = $1 } END { printf "%.2f / %.2f / %.2f s", a[1],
	    a[int((NR + 1) / 2)], a[NR] }')
	ngx=$("$(command -v nginx || echo /usr/sbin/nginx)" -v 2>&1 | sed 's/.*: //')
	pg=$("$(pg_bindir)/postgres" --version)
	quipu=$("$QUIPU_FCGI" -V 2>/dev/null | head -n 1 || true)
	sodium=$(pkg-config --modversion libsodium 2>/dev/null || echo '?')
	nw=${#WORKERS[@]}
	cat <<EOF
# Logins: POST /api/v1/auth/login, against argon2id alone

Written by \`./dev bench\` (bench/login.sh); run it again to refresh.

- date: $(date -u +%Y-%m-%dT%H:%M:%SZ)
- machine: $(nproc) CPUs ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)),
  kernel $(uname -r), load average before the run: $load
- versions: $ngx, $pg, ${quipu:-quipu-fcgi ?}, libsodium $sodium,
  $(wrk -v 2>&1 | head -n 1 | cut -d' ' -f1-2)
- quipu: $(grep -E '^(workers|threads)' "$VAR/quipu.conf" | tr '\n' ' ')(the \`./dev run\` config),
  \`password_hash_concurrency = $QUIPU_PASSWORD_HASH_CONCURRENCY\`, \`login_max_failures = $QUIPU_LOGIN_MAX_FAILURES\`
  (throttling checked on every login, never triggered); $USERS users \`${LOGIN_PREFIX}N\`,
  logins cycle through them
- load: \`wrk -t$THREADS -c$CONNS -d${DURATION}s --latency -s bench/login.lua\` through nginx;
  reference: a C program (written and compiled by the script into var/bench)
  running \`crypto_pwhash_str_verify\` on an argon2id hash with libsodium's
  interactive limits (what quipu stores: t=2, 64 MiB) in $THREADS threads for ${DURATION} s.
  $ROUNDS rounds each, alternating; the figures are medians.

| target | per second | vs reference | p50 | p99 | non-2xx (all rounds) | socket errors |
|---|---:|---:|---:|---:|---:|---:|
| reference: argon2id verify, $THREADS threads | $r_vps | 1.00 | $r_ms ms per verify | | | |
| quipu login via nginx, $CONNS connections | $q_rps | $(ratio "$q_rps" "$r_vps") | $q_p50 ms | $q_p99 ms | $(total quipu 4) | $(total quipu 5) |

$(interpretation "$q_rps" "$r_vps" "$q_p50" "$r_ms" "$q_busy" "$r_busy" "$split")

Per round (quipu: logins/s, p50 ms, p99 ms, non-2xx, socket errors, CPU
busy %, statuses; reference: verifies/s, ms per verify, CPU busy %).
Logins per worker pid in these rounds (access log): ${split:--}.

\`\`\`
quipu:
$(cat "$VAR/login-quipu.txt")
reference:
$(cat "$VAR/login-ref.txt")
\`\`\`

## Burst: $BURST logins at once

One \`curl --parallel --parallel-immediate\` with $BURST logins, all
connections opened at once. Every worker's VmRSS sampled every 10 ms; its
VmHWM reset just before the burst (\`/proc/PID/clear_refs\`: $HWM_RESET) and
read after, so "peak in the burst" is the burst's own high-water mark. MiB.

- succeeded: $ok of $BURST (HTTP 200); wall time $BURST_WALL s; per login
  min / median / max: $times (at the rate measured above, $BURST logins
  take $(awk -v n="$BURST" -v q="$q_rps" 'BEGIN { printf "%.1f", n / q }') s; at the reference's, $(awk -v n="$BURST" -v r="$r_vps" 'BEGIN { printf "%.1f", n / r }') s).

| worker | RSS before | peak since start (before) | peak in the burst | growth | highest sampled RSS |
|---|---:|---:|---:|---:|---:|
$(mem_rows)

Bounded because \`password_hash_concurrency = 1\`: each worker computes at
most one argon2id hash at a time, so at most one 64 MiB buffer per worker
($nw × 64 MiB = $((nw * 64)) MiB above idle for the whole pool) however many
logins arrive. The others wait without a buffer: at the gate (at most
threads − 1 per worker, each up to 30 s) or not yet accepted, in the
socket's backlog. $BURST hashes at once would need $((BURST * 64)) MiB.
EOF
}

# The EXIT trap: the memory sampler (when a burst was cut short), then
# what stack_start started.
bench_stop() {
	if [[ -n $SAMPLER_PID ]]; then
		kill "$SAMPLER_PID" 2>/dev/null || true
		wait "$SAMPLER_PID" 2>/dev/null || true
	fi
	[[ -z $VAR ]] || rm -f "$VAR/login-sampling"
	stack_stop
}

bench_main() {
	local load lines split failed text
	# The machine's own load, before our build and registrations.
	load=$(cut -d' ' -f1-3 /proc/loadavg)
	deps_install wrk
	trap 'bench_stop' EXIT
	trap 'exit 130' INT TERM
	stack_start "$QUIPU_HTTP_PORT"
	BASE=http://127.0.0.1:$QUIPU_HTTP_PORT
	ref_build
	users_register
	: > "$VAR/login-wrk.log"
	# Warm up both (connections, caches, the page cache of libsodium).
	wrk -t1 -c2 -d2s -s "$BENCH_DIR/login.lua" "$BASE/api/v1/auth/login" >/dev/null
	"$VAR/login-ref" "$THREADS" 1 >/dev/null
	lines=$(wc -l < "$VAR/log/access.log" 2>/dev/null || echo 0)
	run_rounds
	split=$(logins_per_worker "$lines")
	burst_run
	text=$(section "$load" "$split")
	results_section_replace "$RESULTS" "# Logins" <<<"$text"
	say "wrote the Logins section of $RESULTS"
	sed -n '/^# Logins/,$p' "$RESULTS"
	failed=$(($(total quipu 4) + $(total quipu 5) +
	    BURST - $(awk '$1 == 200' "$VAR/login-burst.txt" | wc -l)))
	((failed == 0)) || die "$failed logins failed or were refused (see above)"
}

bench_main "$@"
