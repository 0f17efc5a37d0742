#!/usr/bin/env bash
# Checks that buildroot/ (the production recipe, a BR2_EXTERNAL tree) is
# well formed and builds the same appliance as the qemu image
# (scripts/image.sh), without downloading or running Buildroot:
#   - external.desc has a name (the BR2_EXTERNAL_<NAME>_PATH every file
#     uses) and a desc;
#   - Config.in sources each package's Config.in, and every package has
#     its <pkg>.mk whose variables all carry the package's prefix, ending in
#     a *-package eval, and its `config BR2_PACKAGE_<PKG>`;
#   - every path the defconfig names exists, and the overlay, the
#     post-image script (with the genimage.cfg and the initramfs it builds)
#     are the very files scripts/image.sh uses;
#   - the defconfig's rootfs size is the slot image size of scripts/image.sh,
#     and fits the rootA/rootB partitions of genimage.cfg;
#   - ringbox.mk installs the overlay's init script;
#   - with RAUC enabled: a system.conf exists, Buildroot installs it, its
#     keyring is where both images put it, and its slots are genimage.cfg's
#     partitions, the ones the initramfs mounts.
# Each problem is printed as FILE: what is wrong; exit status 1 if any.
#
#   scripts/lint-buildroot.sh [ROOT]    (ROOT: the repository, default this one)
#
# buildroot/lint_test.go runs it on this tree and on broken copies.
set -uo pipefail
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root" || exit 2
br=buildroot
defconfig=$br/configs/ringbox_pbx_a_defconfig
image=scripts/image.sh
errors=0
bad() { echo "buildroot-lint: $1: $2" >&2; errors=$((errors + 1)); }
need_file() { [ -f "$1" ] || { bad "$1" "missing${2:+ ($2)}"; return 1; }; }

# --- external.desc ----------------------------------------------------------
name=
if need_file $br/external.desc; then
  name=$(sed -n 's/^name: *//p' $br/external.desc | head -1)
  desc=$(sed -n 's/^desc: *//p' $br/external.desc | head -1)
  [[ $name =~ ^[A-Za-z0-9_]+$ ]] || bad $br/external.desc "name \"$name\": want letters, digits and _ (it makes BR2_EXTERNAL_<name>_PATH)"
  [ -n "$desc" ] || bad $br/external.desc "no desc: line"
fi
ext=BR2_EXTERNAL_${name}_PATH
# Every BR2_EXTERNAL_*_PATH in the tree is this one's.
while IFS=: read -r f other; do
  bad "$f" "uses $other, but external.desc names the tree $name ($ext)"
done < <(grep -roE 'BR2_EXTERNAL_[A-Za-z0-9_]+_PATH' $br | grep -v ":$ext\$" | sort -u)
need_file $br/external.mk && ! grep -q "\$($ext)/package/" $br/external.mk &&
  bad $br/external.mk "does not include the packages' .mk files (\$($ext)/package/*/*.mk)"

# --- packages ---------------------------------------------------------------
sourced=()
if need_file $br/Config.in; then
  mapfile -t sourced < <(sed -n 's/^[[:space:]]*source[[:space:]]*"\(.*\)"/\1/p' $br/Config.in)
  for s in "${sourced[@]}"; do
    f=${s/\$$ext/$br}
    [ -f "$f" ] || bad $br/Config.in "sources $s, which does not exist"
  done
fi
for d in $br/package/*/; do
  [ -d "$d" ] || continue
  pkg=$(basename "$d")
  up=$(echo "$pkg" | tr 'a-z-' 'A-Z_')
  grep -qxF "source \"\$$ext/package/$pkg/Config.in\"" $br/Config.in 2>/dev/null ||
    bad $br/Config.in "does not source package/$pkg/Config.in"
  if need_file "$d/Config.in" "package $pkg"; then
    grep -qE "^config BR2_PACKAGE_${up}\$" "$d/Config.in" || bad "${d}Config.in" "no \"config BR2_PACKAGE_$up\""
  fi
  mk=$d$pkg.mk
  need_file "$mk" "package $pkg" || continue
  # Variable assignments at the start of a line: NAME =, +=, :=, ?=
  while read -r v; do
    [[ $v == "${up}_"* ]] || bad "$mk" "variable $v does not start with ${up}_"
  done < <(sed -n 's/^\([A-Za-z0-9_]*\)[[:space:]]*[:+?]\{0,1\}=.*/\1/p' "$mk")
  while read -r v; do
    [[ $v == "${up}_"* ]] || bad "$mk" "define $v does not start with ${up}_"
  done < <(sed -n 's/^define[[:space:]]\{1,\}\([A-Za-z0-9_]*\).*/\1/p' "$mk")
  grep -qE '^\$\(eval \$\((generic|golang|cmake|autotools|python|cargo)-package\)\)' "$mk" ||
    bad "$mk" "does not end with \$(eval \$(<kind>-package))"
done

# --- defconfig: paths and the files the qemu image uses -------------------
# conf KEY prints the defconfig's value of KEY (quotes removed).
conf() { sed -n "s/^$1=\"\{0,1\}\([^\"]*\)\"\{0,1\}\$/\1/p" $defconfig | head -1; }
# path VALUE turns $(BR2_EXTERNAL_..._PATH)/x into a path from the root.
path() { local p=${1//\$($ext)/$br}; realpath -m --relative-to=. "$p"; }
need_file $defconfig || exit 1
grep -qx "BR2_PACKAGE_RINGBOX=y" $defconfig || bad $defconfig "does not enable BR2_PACKAGE_RINGBOX"
# The qemu image's board directory and files (scripts/image.sh).
board=$(sed -n 's/^board=\(.*\)$/\1/p' $image | head -1)
[ -n "$board" ] || bad $image "no board= line (the board directory it builds from)"
grep -q 'cp -a "$board/overlay/." ' $image || bad $image "does not copy \$board/overlay into the rootfs"
grep -q -- '--config "$board/genimage.cfg"' $image || bad $image "does not run genimage with \$board/genimage.cfg"
grep -q '"$board/mkinitramfs.sh"' $image || bad $image "does not build the initramfs with \$board/mkinitramfs.sh"
grep -q '"$here/initramfs/init"' $board/mkinitramfs.sh 2>/dev/null ||
  bad $board/mkinitramfs.sh "does not install $board/initramfs/init as /init"

overlay=$(conf BR2_ROOTFS_OVERLAY)
if [ -z "$overlay" ]; then
  bad $defconfig "no BR2_ROOTFS_OVERLAY (the image's is $board/overlay)"
elif [ "$(path "$overlay")" != "$board/overlay" ]; then
  bad $defconfig "BR2_ROOTFS_OVERLAY is $(path "$overlay"), the qemu image uses $board/overlay"
fi
post=$(conf BR2_ROOTFS_POST_IMAGE_SCRIPT)
if [ -z "$post" ]; then
  bad $defconfig "no BR2_ROOTFS_POST_IMAGE_SCRIPT (genimage with $board/genimage.cfg)"
elif [ "$(path "$post")" != "$board/post-image.sh" ]; then
  bad $defconfig "BR2_ROOTFS_POST_IMAGE_SCRIPT is $(path "$post"), want $board/post-image.sh (genimage with the image's $board/genimage.cfg)"
elif need_file "$board/post-image.sh"; then
  [ -x "$board/post-image.sh" ] || bad "$board/post-image.sh" "not executable"
  grep -q 'genimage.sh -c "$board/genimage.cfg"' "$board/post-image.sh" ||
    bad "$board/post-image.sh" "does not run genimage with its own directory's genimage.cfg ($board/genimage.cfg, as $image)"
  grep -q '"$board/mkinitramfs.sh"' "$board/post-image.sh" ||
    bad "$board/post-image.sh" "does not build the initramfs with $board/mkinitramfs.sh (as $image)"
fi
for key in BR2_ROOTFS_POST_BUILD_SCRIPT BR2_ROOTFS_OVERLAY BR2_ROOTFS_POST_IMAGE_SCRIPT; do
  v=$(conf $key)
  [ -z "$v" ] || [ -e "$(path "$v")" ] || bad $defconfig "$key names $(path "$v"), which does not exist"
done
need_file "$board/genimage.cfg"
need_file "$board/initramfs/init"

# --- sizes ------------------------------------------------------------------
# mib SIZE prints SIZE (64M, 1G, bytes) in MiB.
mib() {
  case $1 in
    *[Gg]) echo $((${1%?} * 1024)) ;; *[Mm]) echo "${1%?}" ;; *[Kk]) echo $((${1%?} / 1024)) ;;
    *) echo $(($1 / 1048576)) ;;
  esac
}
br_size=$(conf BR2_TARGET_ROOTFS_EXT2_SIZE)
img_size=$(sed -n 's/^rootfs_size=\(.*\)$/\1/p' $image | head -1)
if [ -z "$br_size" ]; then
  bad $defconfig "no BR2_TARGET_ROOTFS_EXT2_SIZE (the image's slot image is ${img_size:-?})"
elif [ -z "$img_size" ]; then
  bad $image "no rootfs_size= line"
elif [ "$(mib "$br_size")" != "$(mib "$img_size")" ]; then
  bad $defconfig "BR2_TARGET_ROOTFS_EXT2_SIZE is $br_size, but $image makes ${img_size} slot images"
fi
grep -qx 'BR2_TARGET_ROOTFS_EXT2_4=y' $defconfig || bad $defconfig "the rootfs is not ext4 (BR2_TARGET_ROOTFS_EXT2_4=y), which genimage.cfg's slots and the initramfs expect"
for slot in rootA rootB; do
  s=$(sed -n "s/.*partition $slot .*size = \([0-9]*[KMG]\{0,1\}\).*/\1/p" "$board/genimage.cfg" 2>/dev/null | head -1)
  if [ -z "$s" ]; then
    bad "$board/genimage.cfg" "no partition $slot with a size"
  elif [ -n "$br_size" ] && [ "$(mib "$s")" -lt "$(mib "$br_size")" ]; then
    bad "$board/genimage.cfg" "partition $slot is $s, smaller than the ${br_size} rootfs"
  fi
done
grep -q 'part "root$slot"' "$board/initramfs/init" 2>/dev/null ||
  bad "$board/initramfs/init" "does not mount the partition named root\$slot (genimage.cfg's rootA/rootB)"

# --- the init script ----------------------------------------------------------
mk=$br/package/ringbox/ringbox.mk
if [ -f $mk ]; then
  src=$(grep -o "\$($ext)/[^ ]*S60ringbox" $mk | head -1)
  if [ -z "$src" ]; then
    bad $mk "does not install S60ringbox"
  elif [ "$(path "$src")" != "$board/overlay/etc/init.d/S60ringbox" ]; then
    bad $mk "installs $(path "$src") as the init script, the image's is $board/overlay/etc/init.d/S60ringbox"
  elif [ ! -f "$(path "$src")" ]; then
    bad $mk "installs $(path "$src"), which does not exist"
  fi
  grep -q 'TARGET_DIR)/etc/init.d/S60ringbox' $mk || bad $mk "does not install the init script as /etc/init.d/S60ringbox"
fi

# --- RAUC -----------------------------------------------------------------------
if grep -qx 'BR2_PACKAGE_RAUC=y' $defconfig; then
  sc=
  for f in "$board/rauc/system.conf" "$board/overlay/etc/rauc/system.conf"; do [ -f "$f" ] && sc=$f && break; done
  if [ -z "$sc" ]; then
    bad $defconfig "enables RAUC (BR2_PACKAGE_RAUC=y) but there is no system.conf ($board/rauc/system.conf or $board/overlay/etc/rauc/system.conf)"
  else
    # ini VALUE SECTION KEY
    ini() { awk -v s="[$2]" -v k="$3" '/^\[/ {in_s = ($0 == s)} in_s && index($0, k "=") == 1 {print substr($0, length(k) + 2); exit}' "$sc"; }
    keyring=$(ini x keyring path)
    [ -n "$keyring" ] || bad "$sc" "no [keyring] path="
    for b in A B; do
      dev=$(awk -v b="bootname=$b" '/^\[slot\./ {d = ""} /^device=/ {d = substr($0, 8)} $0 == b {print d; exit}' "$sc")
      if [ -z "$dev" ]; then
        bad "$sc" "no slot with bootname=$b and a device="
      elif [ "$dev" != "/dev/disk/by-partlabel/root$b" ]; then
        bad "$sc" "slot $b is $dev, want /dev/disk/by-partlabel/root$b (genimage.cfg's partition, the one the initramfs mounts)"
      fi
    done
    if [ "$sc" = "$board/rauc/system.conf" ]; then
      # A template: Buildroot's post-build script installs it, with the
      # keyring at the place system.conf says; so does the qemu image when
      # it has RAUC.
      pb=$(conf BR2_ROOTFS_POST_BUILD_SCRIPT)
      if [ -z "$pb" ]; then
        bad $defconfig "enables RAUC but has no BR2_ROOTFS_POST_BUILD_SCRIPT to install $sc"
      else
        pbf=$(path "$pb")
        grep -q 'rauc/system.conf' "$pbf" 2>/dev/null && grep -qF '"$target/etc/rauc/system.conf"' "$pbf" ||
          bad "$pbf" "does not install $sc as /etc/rauc/system.conf"
        for t in @COMPATIBLE@ @BOOTLOADER@; do
          ! grep -q "$t" "$sc" || grep -q "s/$t/" "$pbf" 2>/dev/null || bad "$pbf" "does not fill in $sc's $t"
        done
        [ -z "$keyring" ] || grep -q "\"\$target$keyring\"" "$pbf" ||
          bad "$pbf" "does not install the keyring at $keyring (system.conf's [keyring] path)"
      fi
      if grep -q 'rauc/system.conf' $image; then
        [ -z "$keyring" ] || grep -q "\$r$keyring\"" $image ||
          bad $image "does not put the keyring at $keyring (system.conf's [keyring] path)"
        grep -q '"$r/etc/rauc/system.conf"' $image || bad $image "does not install system.conf as /etc/rauc/system.conf"
      fi
    fi
  fi
fi

if [ "$errors" -gt 0 ]; then
  echo "buildroot-lint: $errors problem(s) in the buildroot tree" >&2
  exit 1
fi
echo "buildroot-lint: $br is consistent with $image ($board: overlay, genimage.cfg, initramfs; rootfs $br_size${sc:+; RAUC $sc})"
