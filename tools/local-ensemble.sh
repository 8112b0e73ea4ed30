#!/usr/bin/env bash
# Starts a local Corral ensemble on 127.0.0.1 and waits; Ctrl-C stops every server it started.
#   tools/local-ensemble.sh [VOTERS] [OBSERVERS]     default: 3 voters, 0 observers
# Server i listens for native clients on 2280+i, for ZooKeeper clients on 2180+i (2181, 2182, ...)
# and for its peers on 2890+i; its data and log live under
# ./data/server-i/; the peers' shared secret in ./data/peer-secret.
# Environment: CORRAL_BIN (build directory), CORRAL_DATA (data root).
set -euo pipefail
voters="${1:-3}"
observers="${2:-0}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="${CORRAL_BIN:-$here/build}"
data="${CORRAL_DATA:-$here/data}"
total=$((voters + observers))
if ((voters < 1 || total > 9)); then
  echo "usage: tools/local-ensemble.sh [VOTERS 1..9] [OBSERVERS]" >&2
  exit 2
fi

ensemble=""
servers=""
zkservers=""
for ((i = 1; i <= total; i++)); do
  role=""
  if ((i > voters)); then role=":observer"; fi
  sep=""
  if ((i > 1)); then sep=","; fi
  ensemble+="${sep}\"$i=127.0.0.1:$((2280 + i)):$((2890 + i))$role;$((2180 + i))\""
  servers+="${sep}127.0.0.1:$((2280 + i))"
done
ensemble="[$ensemble]"

# The servers prove to each other that they know this secret before they replicate anything
# (corral.peer-secret-file); made once, readable only by its owner.
secret="$data/peer-secret"
if [ ! -s "$secret" ]; then
  mkdir -p "$data"
  (umask 077 && head -c 32 /dev/urandom | base64 > "$secret")
fi
chmod 600 "$secret"

# The superuser of this local ensemble (for reconfig: tools/add-server.sh), its password made once.
password_file="$data/super-password"
if [ ! -s "$password_file" ]; then
  (umask 077 && head -c 12 /dev/urandom | base64 | tr -d '/+=' > "$password_file")
fi
# ZooKeeper's digest, base64(sha1("super:" + password)), with coreutils alone.
sha1_escaped="$(printf 'super:%s' "$(cat "$password_file")" | sha1sum | cut -c1-40 | sed 's/../\\x&/g')"
super_digest="super:$(printf '%b' "$sha1_escaped" | base64)"

pids=()
stop_all() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop_all EXIT INT TERM

for ((i = 1; i <= total; i++)); do
  dir="$data/server-$i"
  mkdir -p "$dir"
  "$bin/corral-server" --corral.server-id="$i" --corral.ensemble="$ensemble" --corral.data-dir="$dir" \
    --corral.four-letter-words="srvr,ruok,stat,mntr,conf,isro" \
    --corral.peer-secret-file="$secret" --corral.super-digest="$super_digest" --corral.log-file="$dir/server.log" &
  pids+=($!)
  kind=voter
  if ((i > voters)); then kind=observer; fi
  echo "server $i ($kind): clients 127.0.0.1:$((2280 + i)), ZooKeeper clients 127.0.0.1:$((2180 + i)), log $dir/server.log"
  zkservers+="${zkservers:+,}127.0.0.1:$((2180 + i))"
done
echo
echo "connect with: $bin/corral-cli --server $servers"
echo "         or:  zkCli.sh -server $zkservers"
echo "add a server: tools/dev.sh add [observer|participant] (the superuser's password is in $password_file)"
echo "stop with Ctrl-C"
wait -n "${pids[@]}" || true
echo "a server exited; see its log. Stopping the others." >&2
