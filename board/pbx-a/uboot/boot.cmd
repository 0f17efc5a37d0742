# U-Boot boot script of the reference board (mkimage -T script -d boot.cmd
# boot.scr): RAUC's U-Boot integration, the same variables the qemu image
# keeps in /boot/bootstate (docs/firmware.md "Updates"):
#   BOOT_ORDER   slots in the order to try, e.g. "B A"
#   BOOT_A_LEFT  boot attempts left for slot A (BOOT_B_LEFT for B)
# The first slot in BOOT_ORDER with attempts left boots and loses one;
# RAUC (bootloader=uboot in /etc/rauc/system.conf, fw_setenv) writes the
# order on install and gives the attempts back on mark-good, which S90health
# runs after ringbox's health check. Partitions: 1 boot, 2 rootA, 3 rootB.
test -n "${BOOT_ORDER}" || setenv BOOT_ORDER "A B"
test -n "${BOOT_A_LEFT}" || setenv BOOT_A_LEFT 3
test -n "${BOOT_B_LEFT}" || setenv BOOT_B_LEFT 0

setenv bootslot
for s in ${BOOT_ORDER}; do
  if test "x${bootslot}" = "x"; then
    if test "x${s}" = "xA" && test ${BOOT_A_LEFT} -gt 0; then
      setexpr BOOT_A_LEFT ${BOOT_A_LEFT} - 1
      setenv bootslot A
      setenv bootpart 2
    elif test "x${s}" = "xB" && test ${BOOT_B_LEFT} -gt 0; then
      setexpr BOOT_B_LEFT ${BOOT_B_LEFT} - 1
      setenv bootslot B
      setenv bootpart 3
    fi
  fi
done

if test "x${bootslot}" = "x"; then
  # No attempts left anywhere: give them back rather than not boot.
  echo "No slot has boot attempts left; resetting them"
  setenv BOOT_A_LEFT 3
  setenv BOOT_B_LEFT 3
  saveenv
  reset
fi
# The attempt is taken before the kernel starts.
saveenv

# The initramfs mounts root$bootslot (rauc.slot=); RAUC reads rauc.slot= to
# know the booted slot.
setenv bootargs "console=${console} rauc.slot=${bootslot} panic=5 quiet"
load ${devtype} ${devnum}:1 ${kernel_addr_r} Image
load ${devtype} ${devnum}:1 ${ramdisk_addr_r} initrd.img
booti ${kernel_addr_r} ${ramdisk_addr_r}:${filesize} ${fdtcontroladdr}
