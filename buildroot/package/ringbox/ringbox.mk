################################################################################
#
# ringbox
#
################################################################################

RINGBOX_VERSION = main
# The download step vendors the Go modules (pkg-golang); vendor/ is never
# committed to the project.
RINGBOX_SITE = $(call github,ringbox,ringbox,$(RINGBOX_VERSION))
RINGBOX_SITE_METHOD = git
RINGBOX_GOMOD = ringbox
RINGBOX_BUILD_TARGETS = firmware/cmd/ringbox
RINGBOX_TAGS = malgo
RINGBOX_LDFLAGS = -X main.version=$(RINGBOX_VERSION)
RINGBOX_LICENSE = Proprietary

define RINGBOX_INSTALL_INIT_SYSV
	$(INSTALL) -D -m 0755 $(BR2_EXTERNAL_RINGBOX_PATH)/../board/pbx-a/overlay/etc/init.d/S60ringbox \
		$(TARGET_DIR)/etc/init.d/S60ringbox
endef

$(eval $(golang-package))
