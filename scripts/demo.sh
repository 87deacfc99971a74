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

echo "==> Building a sample source disk (1 GiB, GPT: bios_grub, ext4 /, XFS /data, free space)"
truncate -s 1G "$work/source.img"
sfdisk -q "$work/source.img" <<'LAYOUT'
label: gpt
size=1MiB, type=21686148-6449-6E6F-744E-656564454649, name="bios"
size=300MiB, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name="root"
size=360MiB, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name="data"
LAYOUT
attach "$work/source.img"; src=$attached
mkfs.ext4 -q -F -L root "${src}p2"
mkfs.xfs -q -f -L data "${src}p3"
mnt "${src}p2" "$work/src-root"
mnt "${src}p3" "$work/src-data"
cp -a /usr/share/doc "$work/src-root/doc" 2>/dev/null || true
cp -a /etc "$work/src-root/etc"
head -c 50000000 /dev/urandom > "$work/src-data/random.bin"
seq 1 2000000 > "$work/src-data/numbers.txt"
ln -s ../etc/hostname "$work/src-data/link"
umount "$work/src-root" "$work/src-data"; mounts=()
echo "    source disk: $src ($(du -sh "$work/source.img" | cut -f1) of data)"

echo "==> Starting a receiver on 127.0.0.1 (images go to $work/images)"
head -c 24 /dev/urandom | base64 | tr -d '/+=' > "$work/token"
chmod 600 "$work/token"
control=$(ports 18080)
data=$(ports $((control + 1)))
"$ferry" receiver --listen 127.0.0.1 --control-port "$control" --data-port "$data" --out "$work/images" --token-file "$work/token" \
  > "$work/receiver.log" 2>&1 &
receiver_pid=$!
for _ in $(seq 1 100); do grep -q "Receiver ready" "$work/receiver.log" && break; sleep 0.1; done
grep -q "Receiver ready" "$work/receiver.log" || { cat "$work/receiver.log"; exit 1; }

echo "==> Migrating $src with the native agent ($(du -h "$agent" | cut -f1), one file)"
FERRY_TOKEN=$(cat "$work/token") "$agent" migrate --receiver 127.0.0.1 --control-port "$control" --data-port "$data" \
  --disk "$src" --source-name demo --checksum --format raw

image="$work/images/demo/$(basename "$src").raw"
echo "==> Verifying $image"
attach -r "$image"; dst=$attached
diff <(sfdisk --dump "$src" | grep -v '^device:' | sed "s#$src#DISK#") <(sfdisk --dump "$dst" | grep -v '^device:' | sed "s#$dst#DISK#")
echo "    partition table: identical"
cmp -n 1048576 "${src}p1" "${dst}p1" && echo "    BIOS-boot partition: identical"
e2fsck -fn "${dst}p2" >/dev/null 2>&1 && echo "    e2fsck -fn on the copied root: clean"
xfs_repair -n "${dst}p3" >/dev/null 2>&1 && echo "    xfs_repair -n on the copied data: clean"
mnt "${src}p2" "$work/a-root" ro; mnt "${dst}p2" "$work/b-root" ro
mnt "${src}p3" "$work/a-data" ro; mnt "${dst}p3" "$work/b-data" ro,nouuid
diff -r --no-dereference "$work/a-root" "$work/b-root" && diff -r --no-dereference "$work/a-data" "$work/b-data"
echo "    every file: identical ($(find "$work/a-root" "$work/a-data" | wc -l) entries compared)"

echo
echo "Image: $image"
echo "  $(du -h --apparent-size "$image" | cut -f1) disk, $(du -h "$image" | cut -f1) allocated (sparse)."
echo "  Inspect it:  sudo losetup -f --show -P -r $image"
