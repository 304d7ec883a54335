# bench/lib.sh: what bench/microcache, bench/keepalive and bench/cpu share (sourced;
# needs $top, $port and a log function).

# The bench instance of bench/run on $port, started if it is not up
# (BENCH_STARTED=1 then, unless BENCH_KEEP=1), with its environment
# (MP_RUNTIME_DIR, PGHOST, ...) in this shell; at least $1 public loops.
# On exit the shipped site is put back and an instance started here is
# stopped.
bench_instance() {
	export MP_INSTANCE=bench MP_PORT=$port
	export MP_NGINX_ANON_RATE=1000000r/s MP_NGINX_LOGIN_RATE=1000000r/s
	export MP_WRITE_LIMIT=100000000
	BENCH_STARTED=
	if ! curl -fsS -o /dev/null "http://127.0.0.1:$port/ready" 2>/dev/null; then
		"$top/deploy/dev" up >/dev/null
		[ "${BENCH_KEEP:-0}" = 1 ] || BENCH_STARTED=1
	fi
	trap bench_instance_stop EXIT
	eval "$("$top/deploy/dev" env)"
	export PGHOST PGPORT PGDATABASE=mpapi
	local have
	have=$(psql -qtAX -U mpapi -c "SELECT count(*) FROM loops WHERE is_public")
	if [ "$have" -lt "$1" ]; then
		log "seeding $1 public loops (have $have)"
		psql -qX -U postgres -v n="$1" -f "$top/bench/seed.sql" >/dev/null
	fi
}

bench_instance_stop() {
	"$top/deploy/dev" micro-cache on >/dev/null 2>&1 || true	# the shipped site
	[ -z "$BENCH_STARTED" ] || "$top/deploy/dev" down >/dev/null 2>&1 || true
}

# One wrk report (--latency) as "req/s p50_ms p99_ms non2xx".
wrk_summary() {
	awk '
	function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
	/^ +50%/ { p50 = ms($2) } /^ +99%/ { p99 = ms($2) }
	/^Requests\/sec/ { rps = $2 } /Non-2xx/ { bad = $NF }
	END { printf "%d %.2f %.2f %d\n", rps, p50, p99, bad + 0 }' "$1"
}

# The median of the numbers in $1 (separated by spaces).
median() {
	tr ' ' '\n' <<<"$1" | grep . | sort -n |
	    awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}
