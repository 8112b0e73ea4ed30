#!/usr/bin/env bash
# Adds a server to the running local ensemble of tools/local-ensemble.sh (ZooKeeper's procedure, see
# docs/replication.md): starts server N (the next free id) with the ensemble's current membership
# plus itself, then adds it with reconfig as the ensemble's superuser, and waits; Ctrl-C stops it
# (it stays in the membership: remove it with reconfig -remove N).
#   tools/add-server.sh [observer|participant]      default: observer
# Server N listens on 2280+N (native), 2180+N (ZooKeeper clients) and 2890+N (peers).
set -euo pipefail
role="${1:-observer}"
if [ "$role" != observer ] && [ "$role" != participant ]; then
  echo "usage: tools/add-server.sh [observer|participant]" >&2
  exit 2
fi
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="${CORRAL_BIN:-$here/build}"
data="${CORRAL_DATA:-$here/data}"
password_file="$data/super-password"
[ -s "$password_file" ] || { echo "no $password_file: start the ensemble with tools/dev.sh run first" >&2; exit 1; }
password="$(cat "$password_file")"
sha1_escaped="$(printf 'super:%s' "$password" | sha1sum | cut -c1-40 | sed 's/../\\x&/g')"
super_digest="super:$(printf '%b' "$sha1_escaped" | base64)"

# The running ensemble's membership, from any server that answers.
servers="127.0.0.1:2281,127.0.0.1:2282,127.0.0.1:2283"
config="$("$bin/corral-cli" --server "$servers" config)" || {
  echo "cannot read the membership from $servers: is the local ensemble running (tools/dev.sh run)?" >&2
  exit 1
}
# server.ID=HOST:QUORUM:NATIVE:ROLE;HOST:ZK  ->  "ID=HOST:NATIVE:QUORUM:ROLE;ZK" (corral.ensemble's form)
ensemble=""
max_id=0
while IFS= read -r line; do
  [[ "$line" =~ ^server\.([0-9]+)=([^:]+):([0-9]+):([0-9]+):([a-z]+)(\;.*:([0-9]+))?$ ]] || continue
  id="${BASH_REMATCH[1]}"
  entry="$id=${BASH_REMATCH[2]}:${BASH_REMATCH[4]}:${BASH_REMATCH[3]}:${BASH_REMATCH[5]}"
  [ -n "${BASH_REMATCH[7]:-}" ] && entry+=";${BASH_REMATCH[7]}"
  ensemble+="${ensemble:+,}\"$entry\""
  ((id > max_id)) && max_id=$id
done <<< "$config"
id=$((max_id + 1))
for d in "$data"/server-*; do # an id used before (a removed server's data) is not reused
  n="${d##*-}"
  [[ "$n" =~ ^[0-9]+$ ]] && ((n >= id)) && id=$((n + 1))
done
((id <= 9)) || { echo "the local ensemble's ports allow ids up to 9" >&2; exit 1; }
me="$id=127.0.0.1:$((2280 + id)):$((2890 + id)):$role;$((2180 + id))"
dir="$data/server-$id"
mkdir -p "$dir"
"$bin/corral-server" --corral.server-id="$id" --corral.ensemble="[$ensemble,\"$me\"]" --corral.data-dir="$dir" \
  --corral.four-letter-words="srvr,ruok,stat,mntr,conf,isro" --corral.peer-secret-file="$data/peer-secret" \
  --corral.super-digest="$super_digest" --corral.log-file="$dir/server.log" &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true' EXIT INT TERM
echo "server $id ($role) started: clients 127.0.0.1:$((2280 + id)), ZooKeeper clients 127.0.0.1:$((2180 + id)), log $dir/server.log"
printf 'addauth digest super:%s\nreconfig -add %s\n' "$password" "$me" | "$bin/corral-cli" --server "$servers"
echo "server $id is in the membership; stop it with Ctrl-C, remove it with: reconfig -remove $id (as the superuser)"
wait "$pid"
