# shellcheck shell=bash
# bench/lib.sh: what the benchmark scripts share. Sourced first, with
# BENCH_DIR set: it points ./dev at the bench stack (state in var/bench,
# nginx on 18380, the nginx ceiling on 18381, PostgreSQL on 18382; each
# QUIPU_BENCH_* variable moves one), then sources ./dev for its
# functions. BENCH_PREFIX names a script's round files,
# $VAR/$BENCH_PREFIX-<target>.txt, one line of numbers per round.

export QUIPU_VAR=${QUIPU_BENCH_VAR:-$BENCH_DIR/../var/bench}
export QUIPU_HTTP_PORT=${QUIPU_BENCH_HTTP_PORT:-18380}
export QUIPU_PG_PORT=${QUIPU_BENCH_PG_PORT:-18382}
# shellcheck disable=SC2034 # used by the scripts that source this file
CEILING_PORT=${QUIPU_BENCH_CEILING_PORT:-18381}
# shellcheck disable=SC2034
RESULTS=$BENCH_DIR/RESULTS.md

# Without -x, shellcheck does not follow it.
# shellcheck source=SCRIPTDIR/../dev disable=SC1091
source "$BENCH_DIR/../dev"

# bench_request TOKEN OUT METHOD PATH [BODY]: one request to the bench
# stack as TOKEN's user (a JSON BODY when given); prints the status (curl
# writes 000 when there was no answer), leaves the body in OUT. The token
# goes in a header file, out of `ps'.
bench_request() {
	local hdr=$2.hdr
	(umask 077 && printf 'Authorization: Bearer %s\n' "$1" > "$hdr")
	curl -sS -o "$2" -w '%{http_code}' --max-time 30 -X "$3" -H @"$hdr" \
	    ${5:+-H 'Content-Type: application/json' --data-binary "$5"} \
	    "http://127.0.0.1:$QUIPU_HTTP_PORT$4" || true
	rm -f "$hdr"
}

# bench_expect WANT GOT OUT WHAT: dies unless the status GOT is WANT,
# with the start of the body in OUT. A run that answers errors fast would
# measure nothing.
bench_expect() {
	[[ $2 == "$1" ]] ||
	    die "$4 answered $2, not $1: $(head -c 300 "$3")"
}

# wrk's latency with its unit ("812.00us", "1.20ms", "1.01s") in ms.
to_ms() {
	awk -v v="$1" 'BEGIN {
		n = v + 0
		if (v ~ /us$/) n /= 1000
		else if (v ~ /ms$/) n = n
		else if (v ~ /m$/) n *= 60000
		else if (v ~ /s$/) n *= 1000
		printf "%.3f", n
	}'
}

# The median of the numbers on stdin.
median() {
	sort -g | awk '{ a[NR] = $1 } END {
		if (NR % 2) print a[(NR + 1) / 2]
		else printf "%.3f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2
	}'
}

# med TARGET COLUMN FORMAT: the median of one column of a target's rounds.
med() {
	awk -v c="$2" '{ print $c }' "$VAR/$BENCH_PREFIX-$1.txt" | median |
	    awk -v f="$3" '{ printf f "\n", $1 }'
}

# total TARGET COLUMN: the sum of one column over a target's rounds.
total() {
	awk -v c="$2" '{ s += $c } END { print s + 0 }' "$VAR/$BENCH_PREFIX-$1.txt"
}

ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'
}

# Replaces the section of FILE that starts with the
# heading line matching HEADING (up to the next "# " heading) with stdin,
# keeping the other sections, so each bench script owns one section.
results_section_replace() {
	local file=$1 heading=$2 new tmp=$1.tmp
	new=$(cat)
	if [[ -f $file ]]; then
		awk -v h="$heading" '/^# / { skip = index($0, h) == 1 }
		    !skip { a[++n] = $0 }
		    END { while (n > 0 && a[n] == "") n--
			for (i = 1; i <= n; i++) print a[i] }' "$file" > "$tmp"
	else
		: > "$tmp"
	fi
	[[ -s $tmp ]] && echo >> "$tmp"
	printf '%s\n' "$new" >> "$tmp"
	mv "$tmp" "$file"
}

# tree_ticks PID...: for each PID, the CPU ticks (user + system) of the
# process tree it roots, counting descendants that exited through their
# parents' cutime + cstime (a recycled quipu worker, a PostgreSQL
# backend). One number per PID, in order.
tree_ticks() {
	{ cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v roots="$*" '
	{
		# comm may hold blanks and parentheses: fields after the last ")".
		r = $0
		sub(/.*\) /, "", r)
		n = split(r, f, " ")
		if (n < 15)
			next
		ppid[$1] = f[2]
		t[$1] = f[12] + f[13] + f[14] + f[15]
	}
	END {
		nr = split(roots, root, " ")
		for (i = 1; i <= nr; i++)
			isroot[root[i]] = i
		for (p in t) {
			q = p
			for (d = 0; d < 64 && q != "" && q > 1 && !(q in isroot); d++)
				q = ppid[q]
			if (q in isroot)
				sum[isroot[q]] += t[p]
		}
		for (i = 1; i <= nr; i++)
			printf "%s%d", (i > 1 ? " " : ""), sum[i]
		print ""
	}'
}

# The configuration quipu-fcgi runs with: quipu.conf and the QUIPU_*
# environment, as `quipu-fcgi -t -v' prints it (secrets masked).
conf_effective() {
	CONF_DUMP=$(env "${DEV_ONLY_ENV[@]}" "$QUIPU_FCGI" -f "$VAR/quipu.conf" \
	    -t -v) || die "quipu-fcgi -t -v failed"
}

conf_value() {
	awk -v k="$1" '$1 == k && $2 == "=" { $1 = ""; $2 = ""; sub(/^  /, ""); print }' \
	    <<<"$CONF_DUMP"
}
