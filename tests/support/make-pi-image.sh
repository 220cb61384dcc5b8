#!/usr/bin/env bash
# Build a small disk image shaped like Raspberry Pi OS Lite, for tests: an MBR with a
# FAT32 boot partition (firmware, kernel, config.txt, cmdline.txt naming the root by
# PARTUUID) and an ext4 root (os-release, fstab mounting both partitions by PARTUUID,
# baked-in SSH host keys, /sbin/init). Nothing is mounted: mkfs.vfat --offset + mtools,
# mke2fs -d. The firmware and kernel are random bytes, so any copy is checkable by hash.
#
#   tests/support/make-pi-image.sh OUT.img [bookworm|trixie]
#
# trixie images carry cloud-init (as Raspberry Pi OS trixie does); bookworm ones
# userconf-pi. Needs sfdisk (fdisk), dosfstools, mtools, e2fsprogs, ssh-keygen.
set -euo pipefail
out=${1:?usage: make-pi-image.sh OUT.img [bookworm|trixie]}
codename=${2:-bookworm}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

boot_start=8192 boot_sectors=131072          # 64 MiB FAT32 from 4 MiB, as Pi OS aligns
root_start=$((boot_start + boot_sectors)) root_sectors=131072
disk_id=0x5e3da7a1

root=$work/root
mkdir -p "$root"/{etc/ssh/sshd_config.d,etc/default,etc/NetworkManager/system-connections,sbin}
mkdir -p "$root"/{boot/firmware,lib/systemd,home,usr/bin,usr/lib/userconf-pi,usr/share/zoneinfo/Europe}
case $codename in
  bookworm) version=12 ;;
  trixie) version=13; printf '#!/bin/sh\n' >"$root/usr/bin/cloud-init"; chmod 755 "$root/usr/bin/cloud-init" ;;
  *) echo "unknown codename $codename" >&2; exit 2 ;;
esac
cat >"$root/etc/os-release" <<EOF
PRETTY_NAME="Debian GNU/Linux $version ($codename)"
NAME="Debian GNU/Linux"
VERSION_ID="$version"
VERSION_CODENAME=$codename
ID=debian
EOF
echo raspberrypi >"$root/etc/hostname"
printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\traspberrypi\n' >"$root/etc/hosts"
cat >"$root/etc/fstab" <<EOF
proc            /proc           proc    defaults          0       0
PARTUUID=${disk_id#0x}-01  /boot/firmware  vfat    defaults          0       2
PARTUUID=${disk_id#0x}-02  /               ext4    defaults,noatime  0       1
EOF
printf '# en_GB.UTF-8 UTF-8\n# en_US.UTF-8 UTF-8\n# de_DE.UTF-8 UTF-8\n' >"$root/etc/locale.gen"
printf 'Include /etc/ssh/sshd_config.d/*.conf\n' >"$root/etc/ssh/sshd_config"
ssh-keygen -q -t ed25519 -N '' -C baked-into-image -f "$root/etc/ssh/ssh_host_ed25519_key"
printf '#!/bin/sh\nexec /bin/sh\n' >"$root/lib/systemd/systemd"
chmod 755 "$root/lib/systemd/systemd"
ln -s ../lib/systemd/systemd "$root/sbin/init"
printf '#!/bin/sh\n' >"$root/usr/lib/userconf-pi/userconf"
chmod 755 "$root/usr/lib/userconf-pi/userconf"
: >"$root/usr/share/zoneinfo/Europe/London"

boot=$work/boot
mkdir -p "$boot/overlays"
for file in start4.elf fixup4.dat bootcode.bin kernel8.img bcm2711-rpi-4-b.dtb overlays/vc4-kms-v3d.dtbo; do
  head -c $((64 * 1024 + RANDOM)) /dev/urandom >"$boot/$file"
done
printf 'console=serial0,115200 console=tty1 root=PARTUUID=%s-02 rootfstype=ext4 fsck.repair=yes rootwait quiet init=/usr/lib/raspberrypi-sys-mods/firstboot\n' \
  "${disk_id#0x}" >"$boot/cmdline.txt"
printf '# For more options and information see\n# http://rptl.io/configtxt\ndtparam=audio=on\ncamera_auto_detect=1\narm_64bit=1\n\n[cm4]\notg_mode=1\n\n[all]\n' \
  >"$boot/config.txt"

rm -f "$out"
truncate -s $(((root_start + root_sectors) * 512)) "$out"
printf 'label: dos\nlabel-id: %s\nstart=%d, size=%d, type=c\nstart=%d, size=%d, type=83\n' \
  "$disk_id" "$boot_start" "$boot_sectors" "$root_start" "$root_sectors" | sfdisk -q "$out"
mkfs.vfat -F 32 -s 1 -n bootfs --offset "$boot_start" "$out" $((boot_sectors / 2)) >/dev/null 2>&1
MTOOLS_SKIP_CHECK=1 mcopy -s -p -m -i "$out@@$((boot_start * 512))" "$boot"/* ::
mke2fs -q -F -t ext4 -L rootfs -E offset=$((root_start * 512)) -d "$root" "$out" $((root_sectors / 2))k
