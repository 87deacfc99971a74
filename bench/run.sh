#!/usr/bin/env bash
# make bench: Ferry against the tools users would otherwise use, on the same machine and data, in
# one go. Each comparison runs its contenders alternately (page cache dropped before every run),
# three times each, and reports the median. Writes a table and bench/results/latest.json.
# Rows so far: block-full-30pct and block-full-100pct (Ferry vs dd bs=4M | lz4 -1 | nc).
# File and incremental rows follow file replication and incremental sync.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "make bench needs root (loop devices, mount, drop_caches)" >&2; exit 1; }
for p in lz4 netcat-openbsd time python3; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || { apt-get update -qq; apt-get install -y -qq "$p" >/dev/null; }
done

RUNS=${RUNS:-3}
DISK_GB=${DISK_GB:-4}
work=$(mktemp -d /tmp/ferry-bench.XXXXXX)
agent=$PWD/artifacts/agent/agent
ferry=$PWD/artifacts/ferry/ferry
loop= receiver=
cleanup() {
  [ -n "$receiver" ] && kill "$receiver" 2>/dev/null && wait "$receiver" 2>/dev/null || true
  mountpoint -q "$work/m" && umount "$work/m"
  [ -n "$loop" ] && losetup -d "$loop"
  rm -rf "$work"
}
trap cleanup EXIT
results=$work/rows.jsonl; : > "$results"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
drop_caches() { sync; echo 3 > /proc/sys/vm/drop_caches; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# Mixed data as a server holds it: text, binaries, already-compressed files; FILL is a fraction of the disk.
make_disk() {
  local fill=$1
  [ -n "$loop" ] && losetup -d "$loop"
  rm -f "$work/disk.img"; truncate -s "${DISK_GB}G" "$work/disk.img"
  printf 'label: gpt\ntype=L\n' | sfdisk -q "$work/disk.img"
  loop=$(losetup -f --show -P "$work/disk.img"); partx -a "$loop" 2>/dev/null || true
  mkfs.ext4 -q -F "${loop}p1"; mkdir -p "$work/m"; mount "${loop}p1" "$work/m"
  local target=$((DISK_GB * 1024 * 1024 * 1024 * fill / 100)) i=0
  while :; do
    local used; used=$(df -B1 --output=used "$work/m" | tail -1)
    [ "$used" -ge "$target" ] && break
    mkdir -p "$work/m/set$i"
    { seq $((i * 3000000)) $(((i + 1) * 3000000)) > "$work/m/set$i/numbers.txt"
      tar -cf - -C /usr/lib x86_64-linux-gnu 2>/dev/null | head -c 60000000 > "$work/m/set$i/binaries.tar"
      head -c 40000000 /dev/urandom > "$work/m/set$i/archive.gz"; } 2>/dev/null || break
    i=$((i + 1))
  done
  sync; echo "disk: ${DISK_GB} GiB, $(df -h --output=pcent "$work/m" | tail -1 | tr -d ' ') used" >&2
  umount "$work/m"
}

run_ferry() {
  rm -rf "$work/out/bench"
  drop_caches
  local t0 t1 line
  t0=$(date +%s.%N)
  line=$(/usr/bin/time -f "%M" -o "$work/rss" "$agent" migrate --receiver 127.0.0.1 --control-port "$cport" --data-port "$dport" \
    --disk "$loop" --source-name bench --json-progress 2>/dev/null | tail -1)
  t1=$(date +%s.%N)
  echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b-a}') $(sed -n 's/.*"wire_bytes":\([0-9]*\).*/\1/p' <<<"$line") $(cat "$work/rss")"
}

run_baseline() {
  rm -f "$work/nc.out"
  drop_caches
  local port; port=$(free_port)
  nc -l 127.0.0.1 "$port" > "$work/nc.out" & local listener=$!
  sleep 0.2
  local t0 t1
  t0=$(date +%s.%N)
  dd if="$loop" bs=4M status=none | lz4 -1 -q | nc -N 127.0.0.1 "$port"
  wait "$listener"
  t1=$(date +%s.%N)
  echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b-a}') $(stat -c %s "$work/nc.out")"
}

compare() {
  local name=$1 f=() b=() fw=0 bw=0 rss=0 r
  for ((r = 0; r < RUNS; r++)); do
    read -r t w m < <(run_ferry); f+=("$t"); fw=$w; [ "$m" -gt "$rss" ] && rss=$m
    read -r t w < <(run_baseline); b+=("$t"); bw=$w
  done
  local fm bm
  fm=$(printf '%s\n' "${f[@]}" | median); bm=$(printf '%s\n' "${b[@]}" | median)
  python3 - "$name" "$fm" "$bm" "$fw" "$bw" "$rss" >> "$results" <<'PY'
import json, sys
name, fm, bm, fw, bw, rss = sys.argv[1:]
print(json.dumps({"name": name, "ferry_s": float(fm), "baseline": "dd bs=4M | lz4 -1 | nc", "baseline_s": float(bm),
                  "ratio": round(float(bm) / float(fm), 2), "wire_bytes": int(fw), "baseline_wire_bytes": int(bw),
                  "agent_peak_rss_mib": round(int(rss) / 1024, 1)}))
PY
}

cport=$(free_port); dport=$(free_port)
"$ferry" receiver --listen 127.0.0.1 --control-port "$cport" --data-port "$dport" --out "$work/out" --token bench > "$work/receiver.log" 2>&1 &
receiver=$!
export FERRY_TOKEN=bench
for _ in $(seq 100); do grep -q "Receiver ready" "$work/receiver.log" && break; sleep 0.1; done

make_disk 30;  compare block-full-30pct
make_disk 100; compare block-full-100pct

mkdir -p bench/results
python3 - "$results" > bench/results/latest.json <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print(json.dumps({"comparisons": rows, "agent_peak_rss_mib": max(r["agent_peak_rss_mib"] for r in rows)}, indent=2))
PY
python3 - bench/results/latest.json <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
print(f"{'comparison':<20} {'ferry s':>8} {'baseline s':>11} {'ratio':>6} {'ferry wire':>12} {'baseline wire':>14}")
for r in d["comparisons"]:
    print(f"{r['name']:<20} {r['ferry_s']:>8.2f} {r['baseline_s']:>11.2f} {r['ratio']:>6.2f} {r['wire_bytes']/2**20:>9.0f} MiB {r['baseline_wire_bytes']/2**20:>11.0f} MiB")
print(f"agent peak RSS: {d['agent_peak_rss_mib']} MiB")
PY
