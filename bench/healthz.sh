#!/usr/bin/env bash
# bench/healthz.sh: how close quipu comes to nginx alone.
#
# Brings up PostgreSQL, quipu and nginx with ./dev's own functions (state in
# var/bench, ports 18380-18382), then runs wrk 3 rounds against each of
#   the ceiling: nginx answering a constant 200 itself (mkconf CEILING_PORT)
#   quipu:       GET /healthz through nginx and FastCGI
# and writes the medians to bench/RESULTS.md. Everything it started is
# stopped on exit.
#
# Environment: BENCH_ROUNDS (3), BENCH_DURATION (10s), BENCH_CONNECTIONS
# (64), BENCH_THREADS (2).

set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
ROUNDS=${BENCH_ROUNDS:-3}
DURATION=${BENCH_DURATION:-10s}
CONNS=${BENCH_CONNECTIONS:-64}
THREADS=${BENCH_THREADS:-2}

# shellcheck source=SCRIPTDIR/lib.sh
source "$BENCH_DIR/lib.sh"
BENCH_PREFIX=bench

# One wrk round against URL: prints "req/s p99_ms non2xx errors".
wrk_round() {
	local url=$1 out rps p99 non2xx errs
	out=$(wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency "$url")
	printf '%s\n' "$out" >> "$VAR/bench-wrk.log"
	rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
	p99=$(awk '$1 == "99%" { print $2 }' <<<"$out")
	non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' <<<"$out")
	errs=$(awk '/Socket errors:/ { gsub(",", ""); print $4 + $6 + $8 + $10 }' <<<"$out")
	printf '%s %s %s %s\n' "$rps" "$(to_ms "$p99")" "${non2xx:-0}" "${errs:-0}"
}

# Alternates the targets round by round, so that drift in the machine's
# load hits both alike. Fills $VAR/bench-<name>.txt.
run_rounds() {
	local i
	: > "$VAR/bench-ceiling.txt"
	: > "$VAR/bench-quipu.txt"
	: > "$VAR/bench-wrk.log"
	for ((i = 1; i <= ROUNDS; i++)); do
		say "round $i/$ROUNDS"
		wrk_round "http://127.0.0.1:$CEILING_PORT/" >> "$VAR/bench-ceiling.txt"
		wrk_round "http://127.0.0.1:$QUIPU_HTTP_PORT/healthz" >> "$VAR/bench-quipu.txt"
	done
}

write_results() {
	local load=$1 c_rps c_p99 q_rps q_p99 ngx pg quipu
	c_rps=$(med ceiling 1 %.0f) c_p99=$(med ceiling 2 %.2f)
	q_rps=$(med quipu 1 %.0f) q_p99=$(med quipu 2 %.2f)
	ngx=$("$(command -v nginx || echo /usr/sbin/nginx)" -v 2>&1 | sed 's/.*: //')
	pg=$("$(pg_bindir)/postgres" --version)
	quipu=$("$QUIPU_FCGI" -V 2>/dev/null | head -n 1 || true)
	results_section_replace "$RESULTS" "# Benchmark: /healthz" <<EOF
# Benchmark: /healthz through nginx, against nginx alone

Written by \`./dev bench\` (bench/healthz.sh); run it again to refresh.

- date: $(date -u +%Y-%m-%dT%H:%M:%SZ)
- machine: $(nproc) CPUs ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)),
  kernel $(uname -r), load average before the run: $load
- versions: $ngx, $pg, ${quipu:-quipu-fcgi ?}
- quipu: $(grep -E '^(workers|threads)' "$VAR/quipu.conf" | tr '\n' ' ')(the \`./dev run\` config;
  access log on), nginx \`worker_processes auto\`, FastCGI over a unix socket,
  \`fastcgi_keep_conn off\`
- load: \`wrk -t$THREADS -c$CONNS -d$DURATION --latency\`, $ROUNDS rounds per target, alternating;
  the figures are medians. wrk runs on the same machine and competes for
  the same CPUs, so these are lower bounds for both.

| target | req/s | vs ceiling | p99 latency | vs ceiling | non-2xx (all rounds) | socket errors |
|---|---:|---:|---:|---:|---:|---:|
| nginx ceiling (\`return 200\`) | $c_rps | 1.00 | $c_p99 ms | 1.00 | $(total ceiling 3) | $(total ceiling 4) |
| quipu \`GET /healthz\` via nginx | $q_rps | $(ratio "$q_rps" "$c_rps") | $q_p99 ms | $(ratio "$q_p99" "$c_p99") | $(total quipu 3) | $(total quipu 4) |

Per round (req/s, p99 ms, non-2xx, socket errors):

\`\`\`
ceiling:
$(cat "$VAR/bench-ceiling.txt")
quipu:
$(cat "$VAR/bench-quipu.txt")
\`\`\`
EOF
	say "wrote $RESULTS"
}

bench_main() {
	local load
	deps_install wrk
	trap 'stack_stop' EXIT
	trap 'exit 130' INT TERM
	stack_start "$QUIPU_HTTP_PORT" "$CEILING_PORT"
	load=$(cut -d' ' -f1-3 /proc/loadavg)
	# Warm up both paths (connections, caches) before measuring.
	wrk -t1 -c8 -d2s "http://127.0.0.1:$QUIPU_HTTP_PORT/healthz" >/dev/null
	wrk -t1 -c8 -d2s "http://127.0.0.1:$CEILING_PORT/" >/dev/null
	run_rounds
	write_results "$load"
	cat "$RESULTS"
}

bench_main "$@"
