#!/usr/bin/env bash
# Builds the offline base root filesystem from Debian's packages (no container registry needed)
# and writes it as a tar stream to the file given as $1. Needs root and debootstrap.
#   build-rootfs.sh OUT.tar [SUITE] [MIRROR]
set -euo pipefail
out="${1:?usage: build-rootfs.sh OUT.tar [SUITE] [MIRROR]}"
suite="${2:-bookworm}"
mirror="${3:-${DEBIAN_MIRROR:-http://deb.debian.org/debian}}"
packages="python3,python3-numpy,python3-scipy,python3-pandas,python3-sklearn,python3-joblib,python3-threadpoolctl,coreutils,tini"

if ! command -v debootstrap >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
  else
    echo "debootstrap is needed to build the offline base: apt-get install debootstrap (as root)" >&2
    exit 1
  fi
fi

work="$(mktemp -d /var/tmp/es-rootfs.XXXXXX)"
cleanup() { for m in proc sys dev/pts dev; do umount -l "$work/root/$m" 2>/dev/null || true; done; rm -rf --one-file-system "$work"; }
trap cleanup EXIT
echo "[build-rootfs] debootstrap $suite from $mirror (1-2 minutes)" >&2
debootstrap --variant=minbase --include="$packages" "$suite" "$work/root" "$mirror" >"$work/debootstrap.log" 2>&1 || {
  tail -n 30 "$work/debootstrap.log" >&2; exit 1; }
# Trim what a runtime never needs: compilers, headers and static libraries pulled in by
# python3-scipy's build-time helpers (a compiler in the sandbox only helps an attacker).
trim="$(chroot "$work/root" dpkg-query -W -f '${Package}\n' | grep -E \
  '^(gcc|g\+\+|cpp)(-12)?$|^lib(gcc|stdc\+\+)-12-dev$|^(binutils|libbinutils|libctf|libctf-nobfd0|libgprofng0|libjansson4)|^lib(asan|tsan|lsan|ubsan|hwasan|itm|cc1-|isl|mpc|mpfr)|^(python3(\.11)?-dev|libpython3(\.11)?-dev|libexpat1-dev|zlib1g-dev|libc6-dev|libc-dev-bin|linux-libc-dev|libcrypt-dev|libnsl-dev|libtirpc-dev|rpcsvc-proto)$|^python3-(pythran|gast|beniget|ply)$|^lib(openblas|blas|lapack|openblas-pthread)-dev$|^libjs-|^manpages' || true)"
if [ -n "$trim" ]; then
  # shellcheck disable=SC2086
  chroot "$work/root" dpkg --purge --force-depends $trim >>"$work/debootstrap.log" 2>&1
fi
find "$work/root/usr/lib/python3/dist-packages" -type d -name tests -path '*/dist-packages/*/*' -prune -exec rm -rf {} + 2>/dev/null || true
chroot "$work/root" apt-get clean
rm -rf "$work/root"/var/lib/apt/lists/* "$work/root"/usr/share/doc/* "$work/root"/usr/share/man/* \
       "$work/root"/usr/share/locale/* "$work/root"/var/cache/debconf/*-old "$work/root"/var/log/*
tar -C "$work/root" --numeric-owner -cf "$out.partial" .
mv "$out.partial" "$out"
echo "[build-rootfs] wrote $out ($(du -h "$out" | cut -f1))" >&2
