#!/usr/bin/env bash
# make demo: build a sample source server disk on a loop device (GPT, BIOS-boot partition, ext4 root,
# XFS data, free space), migrate it with the native agent through a local receiver, verify the
# result (partition table, fsck, every file), and say where the image is.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "make demo needs root (loop devices, mount): run  sudo make demo" >&2
  exit 1
fi

work=$PWD/.demo
agent=$PWD/artifacts/agent/agent
ferry=$PWD/artifacts/ferry/ferry
loops=()
receiver_pid=
mounts=()

cleanup() {
  for m in "${mounts[@]}"; do umount "$m" 2>/dev/null || true; done
  [ -n "$receiver_pid" ] && kill "$receiver_pid" 2>/dev/null && wait "$receiver_pid" 2>/dev/null || true
  for l in "${loops[@]}"; do losetup -d "$l" 2>/dev/null || true; done
}
trap cleanup EXIT

mnt() { mkdir -p "$2"; mount ${3:+-o "$3"} "$1" "$2"; mounts+=("$2"); }
# Sets $attached (not echoed: a command substitution would lose the record kept for cleanup).
attach() { attached=$(losetup -f --show -P "$@"); partx -a "$attached" 2>/dev/null || true; loops+=("$attached"); }
ports() { local p; for p in $(seq "$1" 65000); do (echo >/dev/tcp/127.0.0.1/$p) 2>/dev/null || { echo "$p"; return; }; done; }

rm -rf "$work"
mkdir -p "$work/images"
chmod 700 "$work"

echo "==> Building a source server disk from Debian packages (GPT: bios_grub, ext4 /boot and /, XFS /data)"
LABEL=gpt DATA=part tests/Fixtures/make-source-vm.sh "$work/source.img" >/dev/null
attach "$work/source.img"; src=$attached
echo "    source disk: $src ($(du -h "$work/source.img" | cut -f1) allocated of $(du -h --apparent-size "$work/source.img" | cut -f1))"

echo "==> Starting a receiver on 127.0.0.1 (images go to $work/images)"
head -c 24 /dev/urandom | base64 | tr -d '/+=' > "$work/token"
chmod 600 "$work/token"
control=$(ports 18080)
data=$(ports $((control + 1)))
"$ferry" receiver --listen 127.0.0.1 --control-port "$control" --data-port "$data" --out "$work/images" --token-file "$work/token" \
  > "$work/receiver.log" 2>&1 &
receiver_pid=$!
for _ in $(seq 1 100); do grep -q "fingerprint: " "$work/receiver.log" && break; sleep 0.1; done
grep -q "fingerprint: " "$work/receiver.log" || { cat "$work/receiver.log"; exit 1; }
# The agent pins the receiver's certificate: the fingerprint the receiver prints at start.
fingerprint=$(grep -o 'fingerprint: [0-9a-f]\{64\}' "$work/receiver.log" | cut -d' ' -f2)
echo "    receiver certificate SHA-256: $fingerprint"

echo "==> Migrating $src with the native agent ($(du -h "$agent" | cut -f1), one file)"
FERRY_TOKEN=$(cat "$work/token") FERRY_RECEIVER_FINGERPRINT=$fingerprint "$agent" migrate --receiver 127.0.0.1 --control-port "$control" --data-port "$data" \
  --disk "$src" --source-name demo --checksum --format raw

image="$work/images/demo/$(basename "$src").raw"
echo "==> Verifying $image"
attach -r "$image"; dst=$attached
diff <(sfdisk --dump "$src" | grep -v '^device:' | sed "s#$src#DISK#") <(sfdisk --dump "$dst" | grep -v '^device:' | sed "s#$dst#DISK#")
echo "    partition table: identical"
cmp -n 1048576 "${src}p1" "${dst}p1" && echo "    BIOS-boot partition: identical"
for n in 2 3; do e2fsck -fn "${dst}p$n" >/dev/null 2>&1 && echo "    e2fsck -fn on partition $n: clean"; done
xfs_repair -n "${dst}p4" >/dev/null 2>&1 && echo "    xfs_repair -n on partition 4: clean"
entries=0
for n in 2 3 4; do
  opts=ro; [ "$n" = 4 ] && opts=ro,nouuid
  mnt "${src}p$n" "$work/a$n" ro; mnt "${dst}p$n" "$work/b$n" "$opts"
  diff -r --no-dereference "$work/a$n" "$work/b$n"
  entries=$((entries + $(find "$work/a$n" | wc -l)))
done
echo "    every file: identical ($entries entries compared)"
for m in "${mounts[@]}"; do umount "$m"; done; mounts=()

echo "==> Booting the migrated image by itself in QEMU (TCG; the image is not modified)"
: > "$work/serial.log"
start=$(date +%s.%N)
qemu-system-x86_64 -machine pc,graphics=off -m 512 -smp 2 -nodefaults -no-reboot -display none -vga none \
  -serial "file:$work/serial.log" -monitor none -boot c -accel tcg,thread=multi -cpu Nehalem \
  -drive "file=$image,format=raw,snapshot=on,id=d0,if=none,cache=unsafe" -device virtio-blk-pci,drive=d0,bootindex=0 \
  > "$work/qemu.log" 2>&1 &
qemu=$!
# Until the whole marker line is there (it ends with the uptime) or the guest powered itself off.
for _ in $(seq 600); do grep -aqE "FERRY-BOOT-.*uptime=[0-9.]+s" "$work/serial.log" && break; kill -0 "$qemu" 2>/dev/null || break; sleep 0.2; done
kill "$qemu" 2>/dev/null || true   # it may have powered off already
wait "$qemu" 2>/dev/null || true
marker=$(grep -ao "FERRY-BOOT-[^$(printf '\r')]*" "$work/serial.log" | head -1)
echo "    $marker"
echo "    booted in $(awk -v s="$start" -v n="$(date +%s.%N)" 'BEGIN{printf "%.1f", n - s}') s"
grep -q "FERRY-BOOT-OK.*verify=ok" <<<"$marker" || { echo "the migrated image did not boot cleanly; serial log: $work/serial.log" >&2; exit 1; }

echo
echo "Image: $image"
echo "  $(du -h --apparent-size "$image" | cut -f1) disk, $(du -h "$image" | cut -f1) allocated (sparse)."
echo "  Inspect it:  sudo losetup -f --show -P -r $image"
