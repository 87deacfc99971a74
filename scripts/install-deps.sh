#!/usr/bin/env bash
# Installs, from Debian packages, the tools Ferry's tests and demo drive for real: mkfs for each
# filesystem, sfdisk, losetup/partx, fsck tools, rsync and the xattr/ACL/capability tools the file
# replication tests compare with, and what native AOT links with. Only missing
# packages are installed, so a prepared machine pays nothing.
set -euo pipefail

packages=(
  e2fsprogs xfsprogs btrfs-progs dosfstools fdisk util-linux mount attr acl libcap2-bin rsync
  mtools bsdutils gcc zlib1g-dev lz4 python3
  grub-pc-bin grub-common cpio kmod qemu-system-x86 qemu-utils busybox-static
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "error: these packages are missing and installing them needs root: ${missing[*]}" >&2
  echo "  run: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "Installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
