#!/usr/bin/env bash
# Installs Corral into a temporary prefix, builds examples/installed_app against it out of tree
# (find_package(Corral), Corral::client), and runs it against the installed corral-server.
#   tests/install_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build="$1"
src="$2"
work="$(mktemp -d)"
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "FAILED: $1" >&2
  for f in "$work"/*.log; do echo "--- $f" >&2; tail -20 "$f" >&2; done
  exit 1
}
cmake --install "$build" --prefix "$work/prefix" > "$work/install.log" 2>&1 || fail "cmake --install"
cmake -S "$src/examples/installed_app" -B "$work/app" -DCMAKE_PREFIX_PATH="$work/prefix" \
  -DCMAKE_BUILD_TYPE=Release > "$work/configure.log" 2>&1 || fail "configuring the app against the prefix"
cmake --build "$work/app" > "$work/build.log" 2>&1 || fail "building the app"
"$work/prefix/bin/corral-server" --corral.data-dir="$work/data" --corral.port=0 --corral.zk-port=-1 \
  --corral.ready-file="$work/ready" --corral.log-file="$work/server.log" &
pid=$!
for _ in $(seq 150); do [ -s "$work/ready" ] && break; sleep 0.1; done
[ -s "$work/ready" ] || fail "the installed corral-server did not start"
port="$(head -1 "$work/ready")"
out="$(timeout 30 "$work/app/hello_corral" "127.0.0.1:$port")" || fail "running the app"
[ "$out" = "read: world" ] || fail "the app printed '$out'"
echo "an app built against the installed library printed: $out"
