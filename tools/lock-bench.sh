#!/usr/bin/env bash
# Lock hand-offs side by side, in one run on this machine:
#   corral   Corral's lock actor (build/corral-lockbench) on a Corral server, native protocol
#   zk       Apache Curator 5.4's InterProcessMutex on Apache ZooKeeper 3.8 (Debian's package)
#   corral-zk  the same Curator program on Corral's ZooKeeper port
# for 1, 8 and 64 contenders (one session each), with each server's CPU per acquisition (from
# /proc/<pid>/stat before and after). Both servers run standalone with their defaults (every write
# fsynced before its answer) and no connection limit. Each run is preceded by a short warm-up.
#   tools/lock-bench.sh            (after a Release build in build/)
#   DURATION=10 CONTENDERS="1 8" tools/lock-bench.sh
# Needs: zookeeper, libcurator-recipes-java, default-jdk-headless (tools/dev.sh test_packages).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD:-build}
duration=${DURATION:-5}
contenders=${CONTENDERS:-"1 8 64"}
hold_us=${HOLD_US:-0}
work=$(mktemp -d /tmp/corral-lockbench-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

[ -x "$build/corral-lockbench" ] || { echo "build first: cmake --build $build (no $build/corral-lockbench)" >&2; exit 1; }
[ -x /usr/share/zookeeper/bin/zkServer.sh ] || { echo "install the zookeeper package (tools/dev.sh test_packages)" >&2; exit 1; }

cp=""
for jar in curator-recipes curator-framework curator-client zookeeper zookeeper-jute guava slf4j-api slf4j-nop \
           netty-handler netty-transport netty-common netty-buffer netty-resolver netty-codec \
           netty-transport-native-epoll netty-transport-native-unix-common; do
  cp="$cp${cp:+:}/usr/share/java/$jar.jar"
done
mkdir -p "$work/classes"
javac -d "$work/classes" -cp "$cp" tools/lockbench/CuratorLockBench.java

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

# Corral, standalone.
corral_port=$(free_port); corral_zk_port=$(free_port)
"$build/corral-server" --corral.data-dir="$work/corral" --corral.port="$corral_port" \
  --corral.zk-port="$corral_zk_port" --corral.max-client-cnxns=0 --corral.log-file="$work/corral.log" &
corral_pid=$!; pids+=("$corral_pid")

# Apache ZooKeeper 3.8, standalone.
zk_port=$(free_port)
mkdir -p "$work/zk/data"
cat > "$work/zk/zoo.cfg" <<EOF
tickTime=2000
dataDir=$work/zk/data
clientPort=$zk_port
clientPortAddress=127.0.0.1
maxClientCnxns=0
admin.enableServer=false
4lw.commands.whitelist=srvr
EOF
ZOO_LOG_DIR="$work/zk" ZOOCFGDIR="$work/zk" /usr/share/zookeeper/bin/zkServer.sh start-foreground \
  "$work/zk/zoo.cfg" > "$work/zk/server.out" 2>&1 &
zk_pid=$!; pids+=("$zk_pid")

for i in $(seq 1 120); do
  if { exec 3<>"/dev/tcp/127.0.0.1/$zk_port" && printf srvr >&3 && grep -q Mode <&3; } 2>/dev/null; then break; fi
  sleep 0.5
done
sleep 1

run_one() { # kind contenders seconds path -> the tool's line
  local kind=$1 n=$2 secs=$3 path=$4
  case $kind in
    corral) "$build/corral-lockbench" --server="127.0.0.1:$corral_port" --contenders="$n" --duration-s="$secs" \
              --hold-us="$hold_us" --path="$path" 2>/dev/null | tail -1 ;;
    zk) java -cp "$cp:$work/classes" CuratorLockBench "127.0.0.1:$zk_port" "$n" "$secs" "$hold_us" "$path" | tail -1 ;;
    corral-zk) java -cp "$cp:$work/classes" CuratorLockBench "127.0.0.1:$corral_zk_port" "$n" "$secs" "$hold_us" \
                 "$path" | tail -1 ;;
  esac
}

echo "| client -> server | contenders | acquisitions/s | acquire p50 | acquire p99 | server CPU per acquisition |"
echo "|---|---|---|---|---|---|"
for n in $contenders; do
  for kind in corral zk corral-zk; do
    server_pid=$corral_pid; [ "$kind" = zk ] && server_pid=$zk_pid
    echo "warming up $kind with $n contenders" >&2
    run_one "$kind" "$n" 1 "/warm/$kind/$n" > /dev/null
    before=$(cpu_ticks "$server_pid")
    line=$(run_one "$kind" "$n" "$duration" "/bench/$kind/$n")
    after=$(cpu_ticks "$server_pid")
    echo "$kind $n: $line" >&2
    acq=$(sed -n 's/.* acquisitions=\([0-9]*\).*/\1/p' <<<"$line")
    per_s=$(sed -n 's/.* per_s=\([0-9]*\).*/\1/p' <<<"$line")
    p50=$(sed -n 's/.* p50_us=\([0-9]*\).*/\1/p' <<<"$line")
    p99=$(sed -n 's/.* p99_us=\([0-9]*\).*/\1/p' <<<"$line")
    cpu_us=$(( acq > 0 ? (after - before) * 1000000 / hz / acq : 0 ))
    label="Corral lock actor -> Corral"
    [ "$kind" = zk ] && label="Curator -> ZooKeeper 3.8"
    [ "$kind" = corral-zk ] && label="Curator -> Corral (ZooKeeper port)"
    printf "| %s | %s | %s | %.2f ms | %.2f ms | %s us |\n" "$label" "$n" "$per_s" \
      "$(awk -v x="$p50" 'BEGIN { print x / 1000 }')" "$(awk -v x="$p99" 'BEGIN { print x / 1000 }')" "$cpu_us"
  done
done
