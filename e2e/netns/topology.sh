#!/usr/bin/env bash
# Network-namespace topology for the "102" end-to-end tests.
#
#   topology.sh up          [PREFIX]   create (idempotent: tears down a stale one first)
#   topology.sh down        [PREFIX]   kill everything in the namespaces, delete them
#   topology.sh block-udp   [PREFIX]   router drops UDP coming from the citizen subnet
#   topology.sh unblock-udp [PREFIX]   remove that rule
#   topology.sh status      [PREFIX]   print addresses / routes / nft ruleset
#
# PREFIX defaults to $R102_PREFIX or "r102". Namespaces: PREFIX-rt (router),
# PREFIX-node, PREFIX-ws (operator workstation), PREFIX-cit (citizen).
#
#   PREFIX-node  10.102.1.2/24 ──veth── 10.102.1.1/24 ┐
#   PREFIX-ws    10.102.2.2/24 ──veth── 10.102.2.1/24 ├ PREFIX-rt (ip_forward=1, coturn)
#   PREFIX-cit   10.102.3.2/24 ──veth── 10.102.3.1/24 ┘
#
# Every host namespace has lo up and "default via 10.102.N.1". The router has
# no default route: nothing in the topology can reach the outside world.
# The third octet base can be moved with R102_NET (default "10.102") if two
# topologies must coexist (addresses are per-namespace, so that is only needed
# for readability; two PREFIXes with the same subnets do not collide).
set -euo pipefail

cmd=${1:-}
P=${2:-${R102_PREFIX:-r102}}
NET=${R102_NET:-10.102}

# Interface names are limited to 15 characters; keep them short and derived
# from the prefix. Inside a namespace the names need not be globally unique,
# but the veth pair is created in the root namespace first, so they must be
# unique there: hence the prefix in the name.
if [ ${#P} -gt 8 ] || ! [[ $P =~ ^[a-z0-9]+$ ]]; then
  echo "topology.sh: PREFIX '$P' must be 1-8 chars [a-z0-9] (interface names are limited to 15 chars)" >&2
  exit 2
fi

RT=$P-rt
HOSTS=(node ws cit)
declare -A OCTET=([node]=1 [ws]=2 [cit]=3)

ns_exists() { ip netns list | awk '{print $1}' | grep -qx "$1"; }

kill_ns_procs() {
  local ns=$1 pids
  ns_exists "$ns" || return 0
  pids=$(ip netns pids "$ns" 2>/dev/null || true)
  [ -z "$pids" ] && return 0
  # shellcheck disable=SC2086
  kill -TERM $pids 2>/dev/null || true
  # Poll (no fixed sleep) up to ~3 s, then SIGKILL what is left.
  local deadline=$((SECONDS + 3))
  while [ $SECONDS -lt $deadline ]; do
    pids=$(ip netns pids "$ns" 2>/dev/null || true)
    [ -z "$pids" ] && return 0
    sleep 0.05
  done
  # shellcheck disable=SC2086
  kill -KILL $pids 2>/dev/null || true
}

down() {
  local h
  for h in "${HOSTS[@]}" rt; do kill_ns_procs "$P-$h"; done
  for h in "${HOSTS[@]}" rt; do
    if ns_exists "$P-$h"; then ip netns del "$P-$h"; fi
  done
  # Deleting a namespace deletes the veth ends inside it, and with them their
  # peers; clean up any half-created pair left in the root namespace.
  for h in "${HOSTS[@]}"; do
    ip link del "$P-$h-r" 2>/dev/null || true
    ip link del "$P-$h-h" 2>/dev/null || true
  done
}

up() {
  down
  ip netns add "$RT"
  ip -n "$RT" link set lo up
  ip netns exec "$RT" sysctl -qw net.ipv4.ip_forward=1
  # Strict reverse-path filtering is harmless here (symmetric routes), but
  # switch it off so asymmetric experiments don't silently drop packets.
  ip netns exec "$RT" sysctl -qw net.ipv4.conf.all.rp_filter=0
  ip netns exec "$RT" sysctl -qw net.ipv4.conf.default.rp_filter=0
  local h o ns
  for h in "${HOSTS[@]}"; do
    o=${OCTET[$h]}
    ns=$P-$h
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    ip link add "$P-$h-h" type veth peer name "$P-$h-r"
    ip link set "$P-$h-h" netns "$ns"
    ip link set "$P-$h-r" netns "$RT"
    ip -n "$ns" link set "$P-$h-h" name eth0
    ip -n "$RT" link set "$P-$h-r" name "to-$h"
    ip -n "$ns" addr add "$NET.$o.2/24" dev eth0
    ip -n "$RT" addr add "$NET.$o.1/24" dev "to-$h"
    ip -n "$ns" link set eth0 up
    ip -n "$RT" link set "to-$h" up
    ip -n "$ns" route add default via "$NET.$o.1"
    ip netns exec "$ns" sysctl -qw net.ipv4.conf.all.rp_filter=0
  done
  # The router's nft table exists from the start (empty chains, policy
  # accept) so block/unblock only add/flush a rule.
  ip netns exec "$RT" nft -f - <<EOF
table inet r102 {
  chain input   { type filter hook input   priority 0; policy accept; }
  chain forward { type filter hook forward priority 0; policy accept; }
}
EOF
}

block_udp() {
  ns_exists "$RT" || { echo "topology.sh: $RT does not exist (run up first)" >&2; exit 1; }
  unblock_udp
  # Citizen → anything over UDP (TURN/UDP on the router = input; direct
  # media to other namespaces = forward). Counters make drops visible in
  # `topology.sh status`. coturn → node relayed UDP is output from the
  # router, not matched here, and stays allowed.
  ip netns exec "$RT" nft add rule inet r102 input   ip saddr "$NET.3.0/24" meta l4proto udp counter drop comment '"r102-block-udp"'
  ip netns exec "$RT" nft add rule inet r102 forward ip saddr "$NET.3.0/24" meta l4proto udp counter drop comment '"r102-block-udp"'
  ip netns exec "$RT" nft add rule inet r102 forward ip daddr "$NET.3.0/24" meta l4proto udp counter drop comment '"r102-block-udp"'
}

unblock_udp() {
  ns_exists "$RT" || { echo "topology.sh: $RT does not exist (run up first)" >&2; exit 1; }
  ip netns exec "$RT" nft flush chain inet r102 input
  ip netns exec "$RT" nft flush chain inet r102 forward
}

# 1:1 NAT in front of the node, as a data centre's firewall does it: $NET.9.2 (the node's
# "public" media address, announced to browsers) is forwarded to $NET.1.2 — for forwarded
# packets and for the router's own (coturn's relayed UDP) — and what the node sends out leaves
# as $NET.9.2 (without that, a flow the node opened first would clash with the forwarded one
# and conntrack would move its port). Replies are translated back by conntrack.
nat_node() {
  ns_exists "$RT" || { echo "topology.sh: $RT does not exist (run up first)" >&2; exit 1; }
  ip -n "$RT" route replace "$NET.9.2/32" via "$NET.1.2"
  ip netns exec "$RT" nft -f - <<EOF
table ip r102nat {
  chain pre { type nat hook prerouting priority dstnat; policy accept; ip daddr $NET.9.2 dnat to $NET.1.2; }
  chain out { type nat hook output priority -100; policy accept; ip daddr $NET.9.2 dnat to $NET.1.2; }
  chain post { type nat hook postrouting priority srcnat; policy accept; ip saddr $NET.1.2 snat to $NET.9.2; }
  chain in { type nat hook input priority 100; policy accept; ip saddr $NET.1.2 snat to $NET.9.2; }
}
EOF
}

status() {
  local h
  for h in rt "${HOSTS[@]}"; do
    echo "== $P-$h"
    if ns_exists "$P-$h"; then
      ip -n "$P-$h" -br addr
      ip -n "$P-$h" route
    else
      echo "(absent)"
    fi
  done
  if ns_exists "$RT"; then
    echo "== nft ($RT)"
    ip netns exec "$RT" nft list ruleset
  fi
}

case "$cmd" in
  up) up ;;
  down) down ;;
  block-udp) block_udp ;;
  nat-node) nat_node ;;
  unblock-udp) unblock_udp ;;
  status) status ;;
  *) echo "usage: $0 up|down|block-udp|unblock-udp|nat-node|status [PREFIX]" >&2; exit 2 ;;
esac
