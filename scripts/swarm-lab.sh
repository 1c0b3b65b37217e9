#!/usr/bin/env bash
# A multi-node Docker Swarm on one Linux machine, to try and test WAYSHUB_ENGINE=swarm with
# more than one node: N Docker Engines, each in its own network namespace with its own
# containerd, joined on a bridge, then one manager and N-1 workers. Needs root, dockerd and
# containerd (Debian's docker.io). Nothing here is for a real cluster: there, each node is a
# machine and you run `docker swarm init` / `join` as docs/swarm.md shows.
#
#   bash scripts/swarm-lab.sh up [N]     # N nodes (3): sockets /run/swlab<i>/docker.sock
#   bash scripts/swarm-lab.sh load IMAGE # copies a local image to every node (no registry)
#   bash scripts/swarm-lab.sh down
#
# Node i has the address 10.99.0.1<i> on bridge br-swlab (the host is 10.99.0.1), so a port
# the proxy publishes on node 1 answers at 10.99.0.11:<port> from the host.
set -euo pipefail

BRIDGE=br-swlab
NET=10.99.0
nodes() { ls -d /run/swlab* /var/lib/swlab* 2>/dev/null | sed 's|.*/swlab||' | sort -nu; }
dk() { docker -H "unix:///run/swlab$1/docker.sock" "${@:2}"; }

up() {
  local n=${1:-3}
  [ "$(id -u)" = 0 ] || { echo "swarm-lab: run as root (it creates network namespaces)" >&2; exit 1; }
  for bin in dockerd containerd nsenter ip iptables; do command -v "$bin" >/dev/null || { echo "swarm-lab: $bin is missing (apt-get install docker.io iproute2 iptables)" >&2; exit 1; }; done
  # A run that was killed leaves its bridge, namespaces and mounts behind; `ip link add` would
  # then fail with "File exists".
  if ip link show "$BRIDGE" >/dev/null 2>&1 || [ -n "$(nodes)" ] || ip netns list | grep -q '^swlab'; then
    echo "swarm-lab: removing the lab a previous run left behind" >&2
    down
  fi
  ip link add "$BRIDGE" type bridge
  ip addr add "$NET.1/24" dev "$BRIDGE"
  ip link set "$BRIDGE" up
  # Docker's FORWARD policy DROP also filters bridged traffic: without this, `swarm join` times out.
  iptables -I FORWARD -i "$BRIDGE" -o "$BRIDGE" -j ACCEPT
  for i in $(seq 1 "$n"); do
    ip netns add "swlab$i"
    ip link add "veth-swlab$i" type veth peer name eth0 netns "swlab$i"
    ip link set "veth-swlab$i" master "$BRIDGE" up
    ip -n "swlab$i" addr add "$NET.1$i/24" dev eth0
    ip -n "swlab$i" link set eth0 up
    ip -n "swlab$i" link set lo up
    ip -n "swlab$i" route add default via "$NET.1"
    mkdir -p "/var/lib/swlab$i" "/run/swlab$i"
    # nsenter switches the network namespace only: `ip netns exec` also remounts /sys, and
    # dockerd then fails with "Devices cgroup isn't mounted".
    nsenter --net="/var/run/netns/swlab$i" containerd --root "/var/lib/swlab$i/containerd" --state "/run/swlab$i/containerd" \
      --address "/run/swlab$i/containerd.sock" >"/run/swlab$i/containerd.log" 2>&1 &
    nsenter --net="/var/run/netns/swlab$i" dockerd --containerd "/run/swlab$i/containerd.sock" --data-root "/var/lib/swlab$i/docker" \
      --exec-root "/run/swlab$i/docker" --pidfile "/run/swlab$i/docker.pid" -H "unix:///run/swlab$i/docker.sock" \
      --bip "172.31.$i.1/24" >"/run/swlab$i/dockerd.log" 2>&1 &
  done
  for i in $(seq 1 "$n"); do
    for _ in $(seq 60); do dk "$i" info >/dev/null 2>&1 && break; sleep 1; done
    dk "$i" info >/dev/null || { echo "swarm-lab: node $i did not start; see /run/swlab$i/dockerd.log" >&2; exit 1; }
  done
  dk 1 swarm init --advertise-addr "$NET.11" >/dev/null
  local token
  token=$(dk 1 swarm join-token -q worker)
  for i in $(seq 2 "$n"); do dk "$i" swarm join --token "$token" "$NET.11:2377" >/dev/null; done
  dk 1 node ls
}

load() {
  local image=$1
  for i in $(nodes); do docker save "$image" | dk "$i" load -q >/dev/null; done
  echo "swarm-lab: $image is on nodes $(nodes | tr '\n' ' ')"
}

down() {
  for i in $(nodes); do kill "$(cat "/run/swlab$i/docker.pid" 2>/dev/null)" 2>/dev/null || true; done
  for i in $(nodes); do for _ in $(seq 20); do [ -e "/run/swlab$i/docker.pid" ] || break; sleep 0.5; done; done
  pkill -f "containerd --root /var/lib/swlab" || true
  sleep 1
  # Engines that were killed leave overlay, secret and namespace mounts: unmount them, deepest first.
  awk '$2 ~ "^(/run|/var/lib)/swlab[0-9]+(/|$)" { print $2 }' /proc/self/mounts | sort -r |
    while read -r mnt; do umount -l "$mnt" 2>/dev/null || true; done
  for i in $(nodes); do rm -rf "/var/lib/swlab$i" "/run/swlab$i" || echo "swarm-lab: could not remove all of /var/lib/swlab$i" >&2; done
  for ns in $(ip netns list | awk '/^swlab[0-9]/ { print $1 }'); do ip netns del "$ns" || true; done
  # A namespace still held by a lazy unmount keeps its veth pair: delete our end by name.
  for link in $(ip -o link show | awk -F': ' '{ print $2 }' | sed -n 's/^\(veth-swlab[0-9]*\)@.*/\1/p'); do ip link del "$link" 2>/dev/null || true; done
  iptables -D FORWARD -i "$BRIDGE" -o "$BRIDGE" -j ACCEPT 2>/dev/null || true
  ip link del "$BRIDGE" 2>/dev/null || true
}

case "${1:-}" in
  up) up "${2:-3}" ;;
  load) load "$2" ;;
  down) down ;;
  *) sed -n 2,14p "$0" >&2; exit 2 ;;
esac
