#!/usr/bin/env bash
# make bench: the echo floor, diplan and Redis, measured in one go on this
# machine, round after round, then the report (BENCHMARKS.md).
#   BENCH_ROUNDS (3), BENCH_SECONDS (2): rounds, and seconds measured per run.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${BENCH_ROUNDS:-3}
seconds=${BENCH_SECONDS:-2}
out=.build/bench
report=${BENCH_REPORT:-BENCHMARKS.md}

swift build -c release --product diplan-server
swift build -c release --product diplan-bench
bench=.build/release/diplan-bench
rm -rf "$out"
mkdir -p "$out/redis-plain" "$out/redis-aof"
cc -O2 -Wall -o "$out/echo-floor" bench/echo-floor.c

# Sockets under a short path (108 bytes at most); state on the same disk for diplan and Redis.
sockets=$(mktemp -d /tmp/diplan-bench.XXXXXX)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$sockets"
}
trap cleanup EXIT

wait_for() { for _ in $(seq 1 200); do [ -S "$1" ] && return 0; sleep 0.05; done; echo "bench: $1 never appeared" >&2; exit 1; }

"$out/echo-floor" "$sockets/echo.sock" &
echo_pid=$!
pids+=($echo_pid)
# The same floor polling as diplan does by default (--busy-poll-us 50): what polling does for the transport alone.
"$out/echo-floor" "$sockets/echo-polling.sock" 50 &
echo_polling_pid=$!
pids+=($echo_polling_pid)
.build/release/diplan-server --socket "$sockets/diplan.sock" --state-dir "$PWD/$out/state" --fsync always \
    --max-connections 2048 --log-level warning 2>"$out/diplan.log" &
diplan=$!
pids+=($diplan)
redis-server --port 0 --unixsocket "$sockets/redis.sock" --save "" --appendonly no --dir "$PWD/$out/redis-plain" \
    --logfile "$PWD/$out/redis-plain.log" &
redis_pid=$!
pids+=($redis_pid)
redis-server --port 0 --unixsocket "$sockets/redis-aof.sock" --save "" --appendonly yes --appendfsync always \
    --dir "$PWD/$out/redis-aof" --logfile "$PWD/$out/redis-aof.log" &
redis_aof_pid=$!
pids+=($redis_aof_pid)
for socket in echo echo-polling diplan redis redis-aof; do wait_for "$sockets/$socket.sock"; done
resident=$(awk '/VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$diplan/status")

{
    echo "$(uname -srvmo)"
    echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores"
    echo "Memory: $(free -g | awk '/Mem:/ { print $2 " GiB" }')"
    echo "Swift: $(swift --version 2>&1 | head -1)"
    echo "Redis: $(redis-server --version)"
    echo "Disk of the state directories: $(df -h --output=source,fstype "$out" | tail -1)"
    echo "Run: $(date -u '+%Y-%m-%d %H:%M UTC'), $rounds rounds of ${seconds} s per figure"
} >"$out/machine.txt"

results="$out/results.jsonl"
: >"$results"

# A process's CPU time, user and system over all its threads, in clock ticks (/proc/PID/stat fields 14 and 15).
cpu_ticks() { awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }
ticks_per_second=$(getconf CLK_TCK)

# redis-benchmark's CSV ("test","rps","avg","min","p50","p95","p99","max", in ms) as a diplan-bench result line,
# with the server's CPU time per call over the run.
redis() { # TARGET SOCKET TEST CONNECTIONS PIPELINE REQUESTS SERVER_PID
    local before csv after
    before=$(cpu_ticks "$7")
    csv=$(redis-benchmark -s "$2" -t "$3" -c "$4" -P "$5" -n "$6" --csv)
    after=$(cpu_ticks "$7")
    echo "$csv" | awk -F'"' -v target="$1" -v test="$3" -v c="$4" -v p="$5" -v n="$6" \
        -v cpu="$(( after - before ))" -v hz="$ticks_per_second" '
        NR > 1 && $2 != "" {
            rps = $4; printf "{\"target\":\"%s\",\"workload\":\"%s\",\"connections\":%d,\"depth\":%d,\"calls\":%d,\"errors\":0,", target, test, c, p, n
            printf "\"seconds\":%.3f,\"callsPerSecond\":%s,\"p50Micros\":%.1f,\"p99Micros\":%.1f,\"maxMicros\":%.1f,", n / rps, rps, $10 * 1000, $14 * 1000, $16 * 1000
            printf "\"serverCpuMicrosPerCall\":%.2f}\n", cpu * 1000000 / hz / n
        }' >>"$results"
}
# Requests for about $seconds at a rate measured once beforehand.
requests() { awk -v rate="$1" -v s="$seconds" 'BEGIN { n = int(rate * s); print (n < 1000 ? 1000 : n) }'; }
rate_of() { grep -o '"callsPerSecond":[0-9.e+]*' | head -1 | cut -d: -f2; }

echo "bench: calibrating Redis request counts" >&2
get1=$(redis-benchmark -s "$sockets/redis.sock" -t get -c 1 -n 20000 --csv | awk -F'"' 'NR > 1 { print $4 }')
get50=$(redis-benchmark -s "$sockets/redis.sock" -t get -c 50 -n 50000 --csv | awk -F'"' 'NR > 1 { print $4 }')
getP=$(redis-benchmark -s "$sockets/redis.sock" -t get -c 1 -P 16 -n 200000 --csv | awk -F'"' 'NR > 1 { print $4 }')
aof1=$(redis-benchmark -s "$sockets/redis-aof.sock" -t set -c 1 -n 500 --csv | awk -F'"' 'NR > 1 { print $4 }')
aof50=$(redis-benchmark -s "$sockets/redis-aof.sock" -t set -c 50 -n 5000 --csv | awk -F'"' 'NR > 1 { print $4 }')

for round in $(seq 1 "$rounds"); do
    echo "bench: round $round of $rounds" >&2
    for shape in "1 1" "1 32" "50 1"; do
        set -- $shape
        "$bench" load --socket "$sockets/echo.sock" --echo -c "$1" -d "$2" --seconds "$seconds" --json \
            --server-pid "$echo_pid" >>"$results"
        "$bench" load --socket "$sockets/echo-polling.sock" --echo --target echo-polling -c "$1" -d "$2" \
            --seconds "$seconds" --json --server-pid "$echo_polling_pid" >>"$results"
        for workload in point aggregate update hold mixed; do
            "$bench" load --socket "$sockets/diplan.sock" --workload "$workload" -c "$1" -d "$2" --seconds "$seconds" --json \
                --server-pid "$diplan" >>"$results" ||
                echo "bench: diplan $workload -c $1 -d $2 had failures (see $results)" >&2
        done
    done
    redis redis "$sockets/redis.sock" get 1 1 "$(requests "$get1")" "$redis_pid"
    redis redis "$sockets/redis.sock" get 50 1 "$(requests "$get50")" "$redis_pid"
    redis redis "$sockets/redis.sock" get 1 16 "$(requests "$getP")" "$redis_pid"
    redis redis "$sockets/redis.sock" set 1 1 "$(requests "$get1")" "$redis_pid"
    redis redis "$sockets/redis.sock" set 50 1 "$(requests "$get50")" "$redis_pid"
    redis redis-aof-always "$sockets/redis-aof.sock" set 1 1 "$(requests "$aof1")" "$redis_aof_pid"
    redis redis-aof-always "$sockets/redis-aof.sock" set 50 1 "$(requests "$aof50")" "$redis_aof_pid"
    "$bench" fsync-loop --directory "$out" --seconds "$seconds" --json >>"$results"
done

echo "bench: 1,000 watchers" >&2
"$bench" watchers --socket "$sockets/diplan.sock" --watchers 1000 --rate 10000 --seconds "$seconds" --json >"$out/watchers.json" ||
    echo "bench: the watcher run failed" >&2
echo "bench: 1,000,000 lines" >&2
"$bench" scale --json >"$out/scale.json"

"$bench" report --results "$results" --machine "$out/machine.txt" --scale "$out/scale.json" --watchers "$out/watchers.json" \
    --resident-mib "$resident" --analysis bench/analysis.md >"$report"
echo "bench: wrote $report" >&2
