#!/bin/bash
# make-source-vm.sh - build a small "source server" disk that BIOS-boots by itself (GRUB boot code
# in the MBR, core image in the MBR gap or a BIOS-boot partition, kernel + initramfs on an ext4
# /boot), from Debian packages only: the cloud kernel and busybox-static. At boot the guest mounts
# /, /boot and /data, checks sha256 manifests of a payload, prints FERRY-BOOT-OK (or
# FERRY-BOOT-VERIFY-FAIL ...) on ttyS0 and powers off. Adapted from ../shared/fixtures/make-test-vm.sh.
#
# usage: make-source-vm.sh [OUT.img]
# env:   LABEL=dos|gpt               partition table (default dos)
#        DATA=part|disk|none         xfs /data: 3rd partition, 2nd disk OUT.data.img, or none
#        FSTAB=uuid|device           how fstab and the kernel's root= name filesystems: UUID= or
#                                    the virtio device name (/dev/vda3), as older installs do
#        ROOT_MB=160 BOOT_MB=64 DATA_MB=300 (mkfs.xfs refuses < 300 MiB)
#        PAYLOAD_FILES=500 PAYLOAD_MB=4   small files + one random blob on / and on /data
#        KERNEL_PKG=linux-image-cloud-amd64  (LZ4-compressed: the fastest to boot under TCG)
#        KERNEL_ARGS="quiet mitigations=off"  + testvm.debug (stage times), testvm.halt=0 (shell)
#        CACHE=${TMPDIR:-/tmp}/ferry-vm-cache   downloaded debs, reused by later runs
#        ROOT_OVERLAY=DIR            copied over / (busybox init runs /etc/testvm/hook)
# a disk with an ext4 filesystem labelled ferry-job, attached at boot, has its run.sh run instead
# of the report (output on the console, then FERRY-JOB-DONE rc=N)
# the root carries glibc's loader, libc and libm (libc6) and OpenSSL 3 (libssl3) for dynamically
# linked programs.
# needs: apt-get, dpkg-deb, fdisk (sfdisk), e2fsprogs (mkfs.ext4 -d), xfsprogs, cpio, kmod,
#        grub-pc-bin, grub-common
set -euo pipefail

OUT=$(realpath -m "${1:-./testvm.img}")
LABEL=${LABEL:-dos}; DATA=${DATA:-part}; ROOT_MB=${ROOT_MB:-160}; FSTAB=${FSTAB:-uuid}
BOOT_MB=${BOOT_MB:-64}; DATA_MB=${DATA_MB:-300}
PAYLOAD_FILES=${PAYLOAD_FILES:-500}; PAYLOAD_MB=${PAYLOAD_MB:-4}
KERNEL_PKG=${KERNEL_PKG:-linux-image-cloud-amd64}; KERNEL_ARGS=${KERNEL_ARGS-quiet mitigations=off}
CACHE=${CACHE:-${TMPDIR:-/tmp}/ferry-vm-cache}; HOSTNAME_VM=${HOSTNAME_VM:-testvm}

t0=$(date +%s.%N)
log() { echo "$(date +%s.%N) $t0 $*" | awk '{t=$1-$2; $1=$2=""; printf "[%6.2fs]%s\n", t, $0}' >&2; }
uuid() { cat /proc/sys/kernel/random/uuid; }
put() { rm -f "$1"; mkdir -p "$(dirname "$1")"; cat > "$1"; }   # never write through links
put_le() { local off=$1 n=$2 v=$3 f=$4 s="" i   # N-byte little-endian VALUE at OFFSET of FILE
  for ((i = 0; i < n; i++)); do s+=$(printf '\\x%02x' $(((v >> (8 * i)) & 255))); done
  printf "$s" | dd of="$f" bs=1 seek="$off" conv=notrunc status=none; }

mkdir -p "$CACHE" "$(dirname "$OUT")"
W=$(mktemp -d "$(dirname "$OUT")/.mkvm.XXXXXX")
trap 'mountpoint -q "$W/mnt" 2>/dev/null && umount "$W/mnt"; rm -rf "$W"' EXIT

# ------------------------------------------------------------ 1. debs (downloaded once)
C=$CACHE/$KERNEL_PKG
if [ ! -e "$C/ready" ]; then
  log "download + extract $KERNEL_PKG, busybox-static"
  KPKG=$(apt-cache depends "$KERNEL_PKG" 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
  if [ -z "$KPKG" ]; then apt-get update -qq; KPKG=$(apt-cache depends "$KERNEL_PKG" | awk '/Depends: linux-image-[0-9]/{print $2; exit}'); fi
  rm -rf "$C"; mkdir -p "$C/debs" "$C/k" "$C/bb"
  (cd "$C/debs" && apt-get download -q=2 "$KPKG" busybox-static)
  dpkg-deb -x "$C"/debs/busybox-static_*.deb "$C/bb"
  dpkg-deb -x "$C/debs/${KPKG}"_*.deb "$C/k"
  KVER=$(ls "$C/k/lib/modules"); depmod -b "$C/k" "$KVER"; echo "$KVER" > "$C/ready"
fi
KVER=$(cat "$C/ready"); BB=$C/bb/bin/busybox
# glibc (the dynamic loader, libc and libm) and OpenSSL 3 (libssl, libcrypto), as every real
# server has them: the native agent links the first and loads the second for hashing and TLS
L=$CACHE/libs
if [ ! -e "$L/ready" ]; then
  log "download + extract libc6, libssl3"
  rm -rf "$L"; mkdir -p "$L/debs" "$L/x"
  (cd "$L/debs" && { apt-get download -q=2 libc6 libssl3 || { apt-get update -qq && apt-get download -q=2 libc6 libssl3; }; })
  for d in "$L"/debs/*.deb; do dpkg-deb -x "$d" "$L/x"; done; : > "$L/ready"
fi

# ------------------------------------------------------------ 2. ids + layout (sectors)
BOOT_UUID=$(uuid); ROOT_UUID=$(uuid); DATA_UUID=$(uuid); DISK_ID=$(uuid); MiB=2048
if [ "$LABEL" = gpt ]; then BB_START=$MiB; BOOT_START=$((2 * MiB)); else BOOT_START=$MiB; fi
ROOT_START=$((BOOT_START + BOOT_MB * MiB)); DATA_START=$((ROOT_START + ROOT_MB * MiB))
END=$DATA_START; [ "$DATA" = part ] && END=$((DATA_START + DATA_MB * MiB))
TOTAL=$((END + MiB))    # 1 MiB slack for the backup GPT

# modgroup DIR NAME MODULE...: copy modules + dependencies into DIR, load order -> DIR/NAME.order
modgroup() { local dir=$1 name=$2 m; shift 2
  for m in "$@"; do modprobe -d "$C/k" -S "$KVER" --show-depends "$m" 2>/dev/null || true; done |
    awk '$1 == "insmod" && !seen[$2]++ {print $2}' | while read -r ko; do
      cp "$ko" "$dir/"; basename "$ko"; done > "$dir/$name.order"; }

R=$W/root; B=$W/boot; D=$W/data; mkdir -p "$R" "$B" "$D"
# ------------------------------------------------------------ 3a. busybox initramfs
  log "initramfs"
  I=$W/initrd; mkdir -p "$I"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,newroot,tmp,lib/modules}
  cp "$BB" "$I/bin/busybox"
  modgroup "$I/lib/modules" virtio virtio_pci virtio_blk
  modgroup "$I/lib/modules" vscsi virtio_pci virtio_scsi sd_mod
  modgroup "$I/lib/modules" ahci ahci sd_mod
  modgroup "$I/lib/modules" nvme nvme
  modgroup "$I/lib/modules" ide ata_piix sd_mod    # loaded late: probing PIIX IDE costs ~2 s
  modgroup "$I/lib/modules" fs crc32c_generic crc32c-intel ext4
  cat > "$I/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s
mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t devtmpfs devtmpfs /dev
CMD=" $(cat /proc/cmdline) "
dbg() { case $CMD in *" testvm.debug "*) echo "testvm: $(cut -d' ' -f1 /proc/uptime) $*" > /dev/console;; esac; }
fail() { echo "FERRY-BOOT-FAIL initramfs: $*" > /dev/console; sleep 1; poweroff -f; }
load() { for m in $(cat /lib/modules/$1.order); do
  [ -e /tmp/$m ] || { insmod /lib/modules/$m 2>/dev/null; : > /tmp/$m; }; done; dbg loaded $1; }
dbg initramfs
ids=$(for d in /sys/bus/pci/devices/*; do echo "$(cat $d/vendor):$(cat $d/device):$(cat $d/class)"; done)
case $ids in *0x1af4:*) load virtio;; esac
case $ids in *0x1af4:0x1004:*|*0x1af4:0x1048:*) load vscsi;; esac
case $ids in *:0x0106*) load ahci;; esac
case $ids in *:0x0108*) load nvme;; esac
load fs
root=; init=/sbin/init; ro=ro
for x in $CMD; do case $x in root=*) root=${x#root=};; init=*) init=${x#init=};; rw) ro=rw;; esac; done
n=0
while :; do
  case $root in /dev/*) dev=$root;; *) dev=$(findfs "$root" 2>/dev/null) || dev=;; esac
  [ -n "$dev" ] && [ -b "$dev" ] && break
  n=$((n + 1)); [ $n = 10 ] && load ide
  [ $n -gt 200 ] && fail "root $root not found; block devices: $(ls /sys/class/block | tr '\n' ' ')"
  sleep 0.1
done
mount -o $ro "$dev" /newroot || fail "cannot mount $dev"
dbg root mounted
umount /sys /proc; mount --move /dev /newroot/dev 2>/dev/null || umount /dev
exec switch_root /newroot "$init"
EOF
  chmod 755 "$I/init"
  (cd "$I" && find . | cpio -o -H newc --quiet | gzip -1) > "$B/initrd.img-$KVER"
  cp "$C/k/boot/vmlinuz-$KVER" "$B/"
# ------------------------------------------------------------ 3b. busybox root tree
  log "trees"
  mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,etc,dev,proc,sys,tmp,run,boot,root,var/log,lib/modules/$KVER}
  cp "$BB" "$R/bin/busybox"
  mkdir -p "$R/lib/x86_64-linux-gnu" "$R/lib64"
  for f in ld-linux-x86-64.so.2 libc.so.6 libm.so.6; do cp -L "$L/x/lib/x86_64-linux-gnu/$f" "$R/lib/x86_64-linux-gnu/"; done
  for f in libssl.so.3 libcrypto.so.3; do cp -L "$L/x/usr/lib/x86_64-linux-gnu/$f" "$R/lib/x86_64-linux-gnu/"; done
  ln -s ../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$R/lib64/ld-linux-x86-64.so.2"
  cp /etc/os-release "$R/etc/os-release" 2>/dev/null || true
  printf 'root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n' > "$R/etc/passwd"
  printf 'root:x:0:\nalice:x:1000:\n' > "$R/etc/group"
  [ "$DATA" != none ] && modgroup "$R/lib/modules/$KVER" xfs xfs
  modgroup "$R/lib/modules/$KVER" net virtio_pci virtio_net e1000
  put "$R/sbin/init" <<'EOF'
#!/bin/sh
# test-VM init (busybox): mount all, bring up eth0 with QEMU user-net (slirp) defaults,
# run /etc/testvm/hook if present, run testvm-report, power off. With a job disk attached (an
# ext4 filesystem labelled ferry-job), run its run.sh instead of the report: that is how a test
# runs a program (the migration agent) on the live source server.
export PATH=/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t devtmpfs devtmpfs /dev 2>/dev/null
CMD=" $(cat /proc/cmdline) "
dbg() { case $CMD in *" testvm.debug "*) echo "testvm: $(cut -d' ' -f1 /proc/uptime) $*" > /dev/console;; esac; }
dbg init; K=/lib/modules/$(uname -r)
ld() { [ -e $K/$1.order ] && for m in $(cat $K/$1.order); do insmod $K/$m 2>/dev/null; done; }
(ld xfs) & (ld net; ip link set lo up
  if ip link set eth0 up 2>/dev/null; then ip addr add 10.0.2.15/24 dev eth0; ip route add default via 10.0.2.2
    echo nameserver 10.0.2.3 > /etc/resolv.conf; fi) &
mount -o remount,rw /; mount -t tmpfs tmpfs /run; hostname -F /etc/hostname
wait; mount -a; dbg mounted all
if job=$(findfs LABEL=ferry-job 2>/dev/null); then
  mkdir -p /run/job; mount "$job" /run/job && { sh /run/job/run.sh > /dev/console 2>&1; echo "FERRY-JOB-DONE rc=$?" > /dev/console; }
  umount /run/job; sync; poweroff -f
fi
[ -x /etc/testvm/hook ] && { /etc/testvm/hook; dbg hook done; }
testvm-report; dbg reported
case $CMD in *" testvm.halt=0 "*) exec setsid cttyhack sh;; esac
umount /data /boot 2>/dev/null; mount -o remount,ro /; poweroff -f
EOF
  chmod 755 "$R/sbin/init"
  # applet links last, and never write through them: they point at /bin/busybox, which on
  # the build host is the HOST's busybox (an early version of this script clobbered it)
  "$BB" --list-full | while read -r p; do [ -e "$R/$p" ] || [ -L "$R/$p" ] || ln -s /bin/busybox "$R/$p"; done
# ROOT_OVERLAY=DIR: copied over the root tree (e.g. an agent, /etc/testvm/hook for busybox)
[ -n "${ROOT_OVERLAY:-}" ] && cp -a --remove-destination "$ROOT_OVERLAY/." "$R/"

# ------------------------------------------------------------ 4. common config + payload
mkdir -p "$R"/{data,boot,var/lib/testvm,home/alice}
echo "$HOSTNAME_VM" | put "$R/etc/hostname"; uuid | put "$R/etc/testvm-id"
ROOT_REF=UUID=$ROOT_UUID; BOOT_REF=UUID=$BOOT_UUID; DATA_REF=UUID=$DATA_UUID
if [ "$FSTAB" = device ]; then first=1; [ "$LABEL" = gpt ] && first=2
  BOOT_REF=/dev/vda$first; ROOT_REF=/dev/vda$((first + 1)); DATA_REF=/dev/vda$((first + 2))
  [ "$DATA" = disk ] && DATA_REF=/dev/vdb; fi
{ echo "$ROOT_REF / ext4 defaults 0 1"; echo "$BOOT_REF /boot ext4 defaults 0 2"
  [ "$DATA" != none ] && echo "$DATA_REF /data xfs defaults 0 0"; true; } | put "$R/etc/fstab"
put "$R/usr/local/sbin/testvm-report" <<'EOF'
#!/bin/sh
# verify the payload manifests (in parallel), check mounts, print the marker on the console
# and write it to sector 1 of the marker disk. Works with busybox and with coreutils.
export PATH=/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin
for m in /var/lib/testvm/*.sha256; do
  (sha256sum -c "$m" >/dev/null 2>&1 && echo ok || echo FAIL) > "/run/testvm.${m##*/}" & done
wait
verify=ok
for r in /run/testvm.*.sha256; do n=${r##*/testvm.}; [ "$(cat "$r")" = ok ] || verify="FAIL-${n%.sha256}"; done
for f in $(awk '$1 !~ /^#/ && $2 ~ /^\/./ {print $2}' /etc/fstab); do
  grep -q " $f " /proc/mounts || verify="FAIL-nomount-$f"; done
tag=FERRY-BOOT-OK; [ "$verify" = ok ] || tag=FERRY-BOOT-VERIFY-FAIL
msg="$tag host=$(hostname) id=$(cat /etc/testvm-id) verify=$verify mounts=$(awk '$1 ~ /^\/dev\// {printf "%s,", $2}' /proc/mounts) uptime=$(cut -d' ' -f1 /proc/uptime)s"
echo "$msg" > /dev/console
echo "$msg" >> /var/log/testvm-boots.log
for b in /sys/block/*; do n=${b##*/}; case $n in loop*|ram*|sr*|zram*) continue;; esac
  if dd if=/dev/$n bs=512 count=1 2>/dev/null | grep -q BOOTCHECK-MARKER-DISK; then
    printf '%s\n' "$msg" | dd of=/dev/$n bs=512 seek=1 conv=sync 2>/dev/null; fi
done
sync
EOF
chmod 755 "$R/usr/local/sbin/testvm-report"
payload() { mkdir -p "$1/small" && head -c $((PAYLOAD_FILES * 3000)) /dev/urandom | base64 -w 100 |
  split -C 3000 -a 5 - "$1/small/f" && head -c $((PAYLOAD_MB << 20)) /dev/urandom > "$1/blob.bin"; }
payload "$R/home/alice"; echo "hello from $HOSTNAME_VM" | put "$R/home/alice/README"
(cd "$R" && find home -type f -print0 | xargs -0 sha256sum | sed 's|  |  /|') | put "$R/var/lib/testvm/root.sha256"
if [ "$DATA" != none ]; then payload "$D/app"
  (cd "$D" && find . -type f -print0 | xargs -0 sha256sum | sed 's|  \./|  /data/|') | put "$R/var/lib/testvm/data.sha256"
fi
CMDLINE="root=$ROOT_REF ro console=ttyS0,115200 $KERNEL_ARGS panic=-1"

# ------------------------------------------------------------ 5. grub files in /boot
{
  # linux16/initrd16: with plain "linux", grub's relocator does a backwards byte-by-byte
  # copy of the kernel when booting, which costs ~3-5 s under TCG
  put "$B/grub/grub.cfg" <<EOF
serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial console
set timeout=0
menuentry "testvm" {
  search --no-floppy --fs-uuid --set=root $BOOT_UUID
  linux16 /vmlinuz-$KVER $CMDLINE
  initrd16 /initrd.img-$KVER
}
EOF
  printf 'search.fs_uuid %s root\nset prefix=($root)/grub\n' "$BOOT_UUID" > "$W/load.cfg"
  grub-mkimage -O i386-pc -o "$W/core.img" -c "$W/load.cfg" -p /grub biosdisk part_msdos \
    part_gpt ext2 search search_fs_uuid normal linux linux16 echo serial terminal test configfile
}

# ------------------------------------------------------------ 6. filesystems, unmounted
log "mkfs"
truncate -s "${BOOT_MB}M" "$W/boot.fs"
mkfs.ext4 -q -F -b 4096 -U "$BOOT_UUID" -L boot -d "$B" "$W/boot.fs"
truncate -s "${ROOT_MB}M" "$W/root.fs"
mkfs.ext4 -q -F -U "$ROOT_UUID" -L root -d "$R" "$W/root.fs"
if [ "$DATA" != none ]; then   # xfs populated from a mkfs.xfs proto file
  proto_dir() { local e n; for e in "$1"/*; do [ -e "$e" ] || [ -L "$e" ] || continue; n=${e##*/}
      if [ -L "$e" ]; then echo "$n l--777 0 0 $(readlink "$e")"
      elif [ -d "$e" ]; then echo "$n d--755 0 0"; proto_dir "$e"; echo '$'
      else echo "$n ---644 0 0 $e"; fi; done; }
  { echo x; echo "0 0"; echo "d--755 0 0"; proto_dir "$D"; echo '$'; } > "$W/data.proto"
  DATAFS=$W/data.fs; [ "$DATA" = disk ] && DATAFS=${OUT%.img}.data.img
  rm -f "$DATAFS"; truncate -s "${DATA_MB}M" "$DATAFS"
  mkfs.xfs -q -f -m uuid="$DATA_UUID" -L data -p "$W/data.proto" "$DATAFS"
fi

# ------------------------------------------------------------ 7. assemble the disk
log "assemble"
rm -f "$OUT"; truncate -s $((TOTAL * 512)) "$OUT"
if [ "$LABEL" = gpt ]; then
  { echo "label: gpt"; echo "label-id: $DISK_ID"
    echo "start=$BB_START, size=$MiB, type=21686148-6449-6E6F-744E-656564454649, name=bios_grub"
    echo "start=$BOOT_START, size=$((BOOT_MB * MiB)), type=linux, name=boot, attrs=LegacyBIOSBootable"
    echo "start=$ROOT_START, size=$((ROOT_MB * MiB)), type=linux, name=root"
    [ "$DATA" = part ] && echo "start=$DATA_START, size=$((DATA_MB * MiB)), type=linux, name=data"; true
  } | sfdisk -q "$OUT"
else
  { echo "label: dos"; echo "label-id: 0x${DISK_ID:0:8}"
    echo "start=$BOOT_START, size=$((BOOT_MB * MiB)), type=83, bootable"
    echo "start=$ROOT_START, size=$((ROOT_MB * MiB)), type=83"
    [ "$DATA" = part ] && echo "start=$DATA_START, size=$((DATA_MB * MiB)), type=83"; true
  } | sfdisk -q "$OUT"
fi
dd if="$W/boot.fs" of="$OUT" bs=1M seek=$((BOOT_START / MiB)) conv=notrunc,sparse status=none
dd if="$W/root.fs" of="$OUT" bs=1M seek=$((ROOT_START / MiB)) conv=notrunc,sparse status=none
[ "$DATA" = part ] && dd if="$W/data.fs" of="$OUT" bs=1M seek=$((DATA_START / MiB)) conv=notrunc,sparse status=none

# ------------------------------------------------------------ 8. boot code
{
  # what grub-bios-setup does, with dd: boot.img code -> MBR; core.img -> MBR gap (dos) or
  # BIOS-boot partition (gpt); then patch the two sector pointers
  CORE_LBA=1; [ "$LABEL" = gpt ] && CORE_LBA=$BB_START
  CORE_SECS=$((($(stat -c %s "$W/core.img") + 511) / 512))
  [ "$CORE_SECS" -lt $((MiB - 1)) ] || { echo "core.img too big" >&2; exit 1; }
  put_le $((0x1f4)) 8 $((CORE_LBA + 1)) "$W/core.img"     # diskboot.img blocklist: start LBA
  put_le $((0x1fc)) 2 $((CORE_SECS - 1)) "$W/core.img"    #                        sectors
  dd if="$W/core.img" of="$OUT" bs=512 seek=$CORE_LBA conv=notrunc status=none
  dd if=/usr/lib/grub/i386-pc/boot.img of="$OUT" bs=440 count=1 conv=notrunc status=none
  put_le $((0x5c)) 8 $CORE_LBA "$OUT"                    # boot.img: LBA of core.img
  put_le $((0x66)) 2 $((0x9090)) "$OUT"                  # boot.img: skip floppy drive check
}
log "done: $OUT ($LABEL, grub, busybox, data=$DATA, $KVER) size=$(du -h --apparent-size "$OUT" | cut -f1) allocated=$(du -h "$OUT" | cut -f1)"
echo "$OUT"
