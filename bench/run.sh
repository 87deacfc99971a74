#!/usr/bin/env bash
# make bench: Ferry against the tools users would otherwise use, on the same machine and data, in
# one go. Block rows store raw images (FORMAT=qcow2 to convert, as the default of `agent migrate`
# does): a file holding the disk, like the baseline's file. Each comparison runs its contenders alternately (page cache dropped before every run),
# three times each, and reports the median. Writes a table and bench/results/latest.json.
# Rows: block-full-30pct and block-full-100pct (Ferry vs dd bs=4M | lz4 -1 | nc); block-full-30pct-tls
# (Ferry with a TLS data channel vs Ferry in cleartext); file-full and
# file-resync-1pct (Ferry file replication vs rsync -aHAX to an rsync daemon); block-incr-1pct (a cycle
# of an incremental Ferry job after 1% of the disk's blocks changed, vs hashing the whole disk with
# xxhsum, the floor for a tool without change tracking, and vs a full re-copy with dd | lz4 | nc).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "make bench needs root (loop devices, mount, drop_caches)" >&2; exit 1; }
for p in lz4 netcat-openbsd time python3 rsync xxhash; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || { apt-get update -qq; apt-get install -y -qq "$p" >/dev/null; }
done

RUNS=${RUNS:-3}
DISK_GB=${DISK_GB:-4}
work=$(mktemp -d /tmp/ferry-bench.XXXXXX)
agent=$PWD/artifacts/agent/agent
ferry=$PWD/artifacts/ferry/ferry
loop= receiver= daemon= floop= rloop=
cleanup() {
  [ -n "$receiver" ] && kill "$receiver" 2>/dev/null && wait "$receiver" 2>/dev/null || true
  [ -n "$daemon" ] && kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null || true
  for m in "$work/m" "$work/src" "$work/rsync"; do mountpoint -q "$m" && umount "$m"; done
  for l in "$loop" "$floop" "$rloop"; do [ -n "$l" ] && losetup -d "$l"; done
  for l in $(losetup -j "$work/out/fbench/work/vda.raw" 2>/dev/null | cut -d: -f1); do losetup -d "$l"; done
  cp "$work/receiver.log" /tmp/ferry-bench-receiver.log 2>/dev/null || true
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
    --disk "$loop" --source-name bench --json-progress --tls "${TLS:-auto}" --format "${FORMAT:-raw}" 2>"$work/agent.err" | tail -1)
  t1=$(date +%s.%N)
  echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b-a}') $(sed -n 's/.*"wire_bytes":\([0-9]*\).*/\1/p' <<<"$line") $(cat "$work/rss") $(sed -n 's/.*held it all after \([0-9.]*\) s.*/\1/p' "$work/agent.err")"
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

# compare NAME BASELINE-LABEL BASELINE-COMMAND: Ferry (over loopback: cleartext data unless TLS=on)
# and the baseline, alternately, RUNS times each; one row of medians.
compare() {
  local name=$1 label=$2 baseline=$3 f=() s=() b=() fw=0 bw=0 rss=0 r
  for ((r = 0; r < RUNS; r++)); do
    read -r t w m y < <(run_ferry); f+=("$t"); s+=("${y:-0}"); fw=$w; [ "$m" -gt "$rss" ] && rss=$m
    read -r t w _ < <($baseline); b+=("$t"); bw=$w
  done
  local fm sm bm
  fm=$(printf '%s\n' "${f[@]}" | median); sm=$(printf '%s\n' "${s[@]}" | median); bm=$(printf '%s\n' "${b[@]}" | median)
  python3 - "$name" "$fm" "$bm" "$fw" "$bw" "$rss" "$label" "$sm" "${FORMAT:-raw}" >> "$results" <<'PY'
import json, sys
name, fm, bm, fw, bw, rss, label, sm, fmt = sys.argv[1:]
print(json.dumps({"name": name, "ferry_s": float(fm), "baseline": label, "baseline_s": float(bm),
                  "ratio": round(float(bm) / float(fm), 2), "wire_bytes": int(fw), "baseline_wire_bytes": int(bw),
                  "agent_peak_rss_mib": round(int(rss) / 1024, 1), "ferry_sync_s": float(sm),
                  "sync_ratio": round(float(bm) / float(sm), 2) if float(sm) > 0 else None, "image_format": fmt}))
PY
}
run_ferry_cleartext() { TLS=off run_ferry; }

# One cycle of the incremental job "ibench" (raw images: the row compares the sync, not a conversion).
run_ferry_cycle() {
  drop_caches
  local t0 t1 line
  t0=$(date +%s.%N)
  line=$(/usr/bin/time -f "%M" -o "$work/rss" "$agent" migrate --receiver 127.0.0.1 --control-port "$cport" --data-port "$dport" \
    --disk "$loop" --source-name ibench --incremental --cycles 1 --keep 2 --format raw 2>/dev/null | grep '^Cycle ')
  t1=$(date +%s.%N)
  echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b-a}') $(sed -n 's/.* as \([0-9]*\) wire bytes.*/\1/p' <<<"$line") $(cat "$work/rss") $(sed -n 's/.*synced in \([0-9.]*\) s.*/\1/p' <<<"$line")"
}

run_xxhsum() {
  drop_caches
  local t0 t1
  t0=$(date +%s.%N)
  xxhsum -H2 "$loop" > /dev/null
  t1=$(date +%s.%N)
  echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b-a}') 0"
}

# Rewrites 1% of the disk's 4 KiB blocks in place, at random inside the files (the uniform case: no two
# changes share a block); prints the bytes changed.
change_blocks() {
  mount "${loop}p1" "$work/m"
  python3 - "$work/m" "$1" "$((DISK_GB * 1024 * 1024 * 1024 / 100 / 4096))" <<'PY'
import os, random, sys
root, run, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]); rnd = random.Random(200 + run)
files = [os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs]
blocks = [(p, b) for p in files for b in range(os.path.getsize(p) // 4096)]
for p, b in sorted(rnd.sample(blocks, count)):
    with open(p, "r+b") as f:
        f.seek(b * 4096); f.write(os.urandom(4096))
print(count * 4096)
PY
  umount "$work/m"
}

# The incremental row: after a first (full) cycle, each run changes 1% of the blocks, then times a
# Ferry cycle, hashing the disk, and a full re-copy.
compare_incremental() {
  local f=() s=() h=() c=() fw=0 rss=0 changed=0 r
  run_ferry_cycle > /dev/null
  for ((r = 0; r < RUNS; r++)); do
    changed=$(change_blocks "$r")
    read -r t w m y < <(run_ferry_cycle); f+=("$t"); s+=("$y"); fw=$w; [ "$m" -gt "$rss" ] && rss=$m
    read -r t _ < <(run_xxhsum); h+=("$t")
    read -r t _ < <(run_baseline); c+=("$t")
  done
  local fm sm hm cm
  fm=$(printf '%s\n' "${f[@]}" | median); sm=$(printf '%s\n' "${s[@]}" | median)
  hm=$(printf '%s\n' "${h[@]}" | median); cm=$(printf '%s\n' "${c[@]}" | median)
  python3 - "$fm" "$sm" "$hm" "$cm" "$fw" "$changed" "$rss" >> "$results" <<'PY'
import json, sys
fm, sm, hm, cm, fw, changed, rss = sys.argv[1:]
print(json.dumps({"name": "block-incr-1pct", "ferry_s": float(fm), "baseline": "xxhsum -H2 of the disk (hash floor)", "baseline_s": float(hm),
                  "ratio": round(float(hm) / float(fm), 2), "wire_bytes": int(fw), "baseline_wire_bytes": 0, "changed_bytes": int(changed),
                  "wire_per_changed": round(int(fw) / int(changed), 3), "agent_peak_rss_mib": round(int(rss) / 1024, 1),
                  "ferry_sync_s": round(float(sm), 3), "sync_ratio": round(float(hm) / float(sm), 2),
                  "full_recopy": "dd bs=4M | lz4 -1 | nc", "full_recopy_s": float(cm)}))
PY
}

cport=$(free_port); dport=$(free_port)
"$ferry" receiver --listen 127.0.0.1 --control-port "$cport" --data-port "$dport" --out "$work/out" --token bench > "$work/receiver.log" 2>&1 &
receiver=$!
export FERRY_TOKEN=bench
for _ in $(seq 100); do grep -q "fingerprint: " "$work/receiver.log" && break; sleep 0.1; done
FERRY_RECEIVER_FINGERPRINT=$(grep -o 'fingerprint: [0-9a-f]\{64\}' "$work/receiver.log" | cut -d' ' -f2)
export FERRY_RECEIVER_FINGERPRINT

# A tree as a server's /: 50,000 small files (text and binary, 0-16 KiB) in 500 directories, plus a
# few large files; on its own ext4 filesystem, as the rsync daemon's target is.
make_tree() {
  truncate -s 2G "$work/src.img"; mkfs.ext4 -q -F "$work/src.img"
  floop=$(losetup -f --show "$work/src.img"); mkdir -p "$work/src"; mount "$floop" "$work/src"
  python3 - "$work/src" <<'PY'
import os, random, sys
root = sys.argv[1]; rnd = random.Random(1)
words = b"the quick brown fox jumps over the lazy dog server config log entry value ".split()
for i in range(50000):
    d = os.path.join(root, f"d{i % 500:03d}", f"s{i % 7}")
    os.makedirs(d, exist_ok=True)
    n = rnd.randrange(0, 16384)
    data = b" ".join(rnd.choice(words) for _ in range(n // 5))[:n] if i % 2 else os.urandom(n)
    with open(os.path.join(d, f"f{i:05d}"), "wb") as f:
        f.write(data)
for name, size in (("big1.bin", 64 << 20), ("big2.log", 64 << 20), ("big3.db", 32 << 20)):
    with open(os.path.join(root, name), "wb") as f:
        f.write(os.urandom(size) if name.endswith(".bin") else (b"2026-11-27 10:00:00 INFO request served in 12 ms\n" * (size // 49 + 1))[:size])
PY
  sync; echo "tree: 50,000 small files + 160 MiB in 3 large files, $(du -sh "$work/src" | cut -f1)" >&2
  cat > "$work/layout.json" <<'JSON'
{ "disks": [ { "name": "vda", "size": "2GiB", "partitions": [ { "mount_point": "/", "size": "0" } ] } ] }
JSON
  truncate -s 2G "$work/rsync.img"; mkfs.ext4 -q -F "$work/rsync.img"
  rloop=$(losetup -f --show "$work/rsync.img"); mkdir -p "$work/rsync"; mount "$rloop" "$work/rsync"
  local port; port=$(free_port)
  printf 'uid = root\ngid = root\nuse chroot = no\n[bench]\npath = %s\nread only = false\n' "$work/rsync" > "$work/rsyncd.conf"
  rsync --daemon --no-detach --address 127.0.0.1 --port "$port" --config "$work/rsyncd.conf" & daemon=$!
  rsync_url="rsync://127.0.0.1:$port/bench/"
  for _ in $(seq 50); do rsync "rsync://127.0.0.1:$port/" >/dev/null 2>&1 && break; sleep 0.1; done
}

# Changes 1% of the files the way a server does between syncs: 500 small files edited in place, one
# large log appended to.
change_tree() {
  python3 - "$work/src" "$1" <<'PY'
import os, random, sys
root, run = sys.argv[1], int(sys.argv[2]); rnd = random.Random(100 + run)
for i in rnd.sample(range(50000), 500):
    p = os.path.join(root, f"d{i % 500:03d}", f"s{i % 7}", f"f{i:05d}")
    size = os.path.getsize(p)
    with open(p, "r+b") as f:
        f.seek(size // 2); f.write(os.urandom(min(100, max(1, size - size // 2))))
with open(os.path.join(root, "big2.log"), "ab") as f:
    f.write(b"2026-11-27 11:00:00 INFO appended line\n" * 100)
PY
}

# One timed Ferry file sync; FRESH=1 starts from an empty receiver.
run_ferry_file() {
  if [ "${FRESH:-0}" = 1 ]; then
    for l in $(losetup -j "$work/out/fbench/work/vda.raw" 2>/dev/null | cut -d: -f1); do losetup -d "$l"; done
    rm -rf "$work/out/fbench"
  fi
  drop_caches
  local t0 t1 line
  t0=$(date +%s.%N)
  line=$(/usr/bin/time -f "%M" -o "$work/rss" "$agent" migrate --mode file --layout "$work/layout.json" --source-root "$work/src" \
    --receiver 127.0.0.1 --control-port "$cport" --data-port "$dport" --source-name fbench --json-progress 2>/dev/null | tail -1)
  t1=$(date +%s.%N)
  echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b-a}') $(sed -n 's/.*"wire_bytes":\([0-9]*\).*/\1/p' <<<"$line") $(cat "$work/rss") $(sed -n 's/.*"sync_s":\([0-9.]*\).*/\1/p' <<<"$line")"
}

# One timed rsync -aHAX to the daemon; FRESH=1 starts from an empty target. Its wire bytes are rsync's own "sent" count.
# Prints the time until the tree was on the target's disk (rsync, then sync -f of the target filesystem: the point
# Ferry's time ends at, its receiver syncing the tree's filesystem before it says it holds it), then rsync's own time.
run_rsync() {
  [ "${FRESH:-0}" = 1 ] && find "$work/rsync" -mindepth 1 -delete
  drop_caches
  local t0 t1 t2 sent
  t0=$(date +%s.%N)
  sent=$(rsync -aHAX --stats "$work/src/" "$rsync_url" | sed -n 's/^Total bytes sent: \([0-9,]*\).*/\1/p' | tr -d ,)
  t1=$(date +%s.%N)
  sync -f "$work/rsync"
  t2=$(date +%s.%N)
  echo "$(awk -v a="$t0" -v b="$t2" 'BEGIN{printf "%.3f", b-a}') $sent $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b-a}')"
}

# Like for like: both times end when the target's disk holds every file of the tree. ferry_s is the time until
# the receiver held the tree (written, and its filesystem synced); baseline_s is rsync's until its daemon had written
# the tree, plus sync -f of that filesystem (rsync_return_s is rsync alone: its files are then in the page cache
# only). The bootable image Ferry builds from the tree afterwards (boot fix-up, qcow2, the default, and its SHA-256)
# is extra work rsync does not do: ferry_total_s is the whole run with it.
compare_files() {
  local name=$1 fresh=$2 f=() s=() b=() o=() fw=0 bw=0 rss=0 r
  for ((r = 0; r < RUNS; r++)); do
    [ "$fresh" = 0 ] && change_tree "$r"
    read -r t w m y < <(FRESH=$fresh run_ferry_file); f+=("$t"); s+=("$y"); fw=$w; [ "$m" -gt "$rss" ] && rss=$m
    read -r t w y < <(FRESH=$fresh run_rsync); b+=("$t"); o+=("$y"); bw=$w
  done
  local fm sm bm om
  fm=$(printf '%s\n' "${f[@]}" | median); sm=$(printf '%s\n' "${s[@]}" | median); bm=$(printf '%s\n' "${b[@]}" | median)
  om=$(printf '%s\n' "${o[@]}" | median)
  python3 - "$name" "$fm" "$bm" "$fw" "$bw" "$rss" "$sm" "$om" >> "$results" <<'PY'
import json, sys
name, fm, bm, fw, bw, rss, sm, om = sys.argv[1:]
print(json.dumps({"name": name, "ferry_s": round(float(sm), 3), "baseline": "rsync -aHAX to rsyncd, then sync -f", "baseline_s": float(bm),
                  "ratio": round(float(bm) / float(sm), 2), "wire_bytes": int(fw), "baseline_wire_bytes": int(bw),
                  "agent_peak_rss_mib": round(int(rss) / 1024, 1), "ferry_sync_s": round(float(sm), 3),
                  "rsync_return_s": float(om), "return_ratio": round(float(om) / float(sm), 2),
                  "ferry_total_s": float(fm), "total_ratio": round(float(bm) / float(fm), 2), "image_format": "qcow2"}))
PY
}

if [ -z "${ONLY:-}" ] || [ "$ONLY" = block ]; then
  make_disk 30
  compare block-full-30pct "dd bs=4M | lz4 -1 | nc" run_baseline
  # The same copy with the data channel in TLS (AES-GCM), against Ferry in cleartext: what encryption costs.
  TLS=on compare block-full-30pct-tls "ferry, data channel in cleartext" run_ferry_cleartext
  compare_incremental
  make_disk 100; compare block-full-100pct "dd bs=4M | lz4 -1 | nc" run_baseline
fi
if [ "${ONLY:-}" = incr ]; then
  make_disk 30
  compare_incremental
fi
if [ -z "${ONLY:-}" ] || [ "$ONLY" = file ]; then
  make_tree
  compare_files file-full 1
  compare_files file-resync-1pct 0
fi

mkdir -p bench/results
python3 - "$results" > bench/results/latest.json <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print(json.dumps({"comparisons": rows, "agent_peak_rss_mib": max(r["agent_peak_rss_mib"] for r in rows)}, indent=2))
PY
python3 - bench/results/latest.json <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
print(f"{'comparison':<20} {'ferry s':>8} {'baseline s':>11} {'ratio':>6} {'ferry wire':>12} {'baseline wire':>14}  {'ferry sync s (ratio)':>20}")
for r in d["comparisons"]:
    sync = f"{r['ferry_sync_s']:>8.2f} ({r['sync_ratio']:.2f})" if r.get("sync_ratio") else ""
    if "ferry_total_s" in r:
        sync = f"rsync alone (unsynced): {r['rsync_return_s']:.2f} s ({r['return_ratio']:.2f}); with the image built: {r['ferry_total_s']:.2f} s ({r['total_ratio']:.2f})"
    if "changed_bytes" in r:
        sync += f"  changed {r['changed_bytes']/2**20:.0f} MiB, wire/changed {r['wire_per_changed']}, full re-copy {r['full_recopy_s']:.2f} s"
    print(f"{r['name']:<20} {r['ferry_s']:>8.2f} {r['baseline_s']:>11.2f} {r['ratio']:>6.2f} {r['wire_bytes']/2**20:>9.0f} MiB {r['baseline_wire_bytes']/2**20:>11.0f} MiB  {sync:>20}")
print(f"agent peak RSS: {d['agent_peak_rss_mib']} MiB")
PY
