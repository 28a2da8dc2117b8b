#!/usr/bin/env bash
# Sends UDP towards a VIP with the kernel's pktgen, from a traffic-generator host (not the
# amphora host), to measure the data plane's packet rate on real NICs.
#
#   udp-flows.sh -i DEV -d VIP -m NEXT_HOP_MAC [-p PORT] [-f FLOWS] [-s SIZE] [-c COUNT] [-t THREADS]
#
# FLOWS distinct flows are made by varying the UDP source port (1 = a single flow). COUNT
# packets per thread (0 = until Ctrl-C). Needs root and the pktgen module (modprobe pktgen).
# Read the rate from the output, and on the amphora host from `lb-agent` counters
# (`forwarded`) or `ip -s link`. See deploy/pktgen/README.md.
set -euo pipefail

dev="" vip="" mac="" port=53 flows=1 size=64 count=10000000 threads=1
while getopts "i:d:m:p:f:s:c:t:h" opt; do
  case "$opt" in
    i) dev=$OPTARG ;; d) vip=$OPTARG ;; m) mac=$OPTARG ;; p) port=$OPTARG ;;
    f) flows=$OPTARG ;; s) size=$OPTARG ;; c) count=$OPTARG ;; t) threads=$OPTARG ;;
    h|*) sed -n '2,10p' "$0"; exit 2 ;;
  esac
done
[ -n "$dev" ] && [ -n "$vip" ] && [ -n "$mac" ] || { sed -n '2,10p' "$0"; exit 2; }
[ -d /proc/net/pktgen ] || modprobe pktgen || { echo "pktgen is not available on this kernel" >&2; exit 1; }

pgset() { # file, command
  echo "$2" > "$1"
  if ! grep -q "Result: OK" "$1"; then
    echo "pktgen refused '$2' on $1: $(grep Result "$1")" >&2
    exit 1
  fi
}

cleanup() { echo stop > /proc/net/pktgen/pgctrl 2>/dev/null || true; }
trap cleanup EXIT

for ((t = 0; t < threads; t++)); do
  thread=/proc/net/pktgen/kpktgend_$t
  name="$dev@$t"
  pgset "$thread" "rem_device_all"
  pgset "$thread" "add_device $name"
  d=/proc/net/pktgen/$name
  pgset "$d" "count $count"
  pgset "$d" "pkt_size $size"
  pgset "$d" "delay 0"
  pgset "$d" "dst $vip"
  pgset "$d" "dst_mac $mac"
  pgset "$d" "udp_dst_min $port"
  pgset "$d" "udp_dst_max $port"
  pgset "$d" "udp_src_min 10000"
  pgset "$d" "udp_src_max $((10000 + flows - 1))"
  pgset "$d" "flag UDPSRC_RND"
  pgset "$d" "burst 32"
done

echo "sending $count packets x $threads thread(s) of $size bytes to $vip:$port over $flows flow(s) ..."
echo start > /proc/net/pktgen/pgctrl
for ((t = 0; t < threads; t++)); do
  grep -A2 "Result:" "/proc/net/pktgen/$dev@$t"
done
