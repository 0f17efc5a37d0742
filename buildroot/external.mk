include $(sort $(wildcard $(BR2_EXTERNAL_RINGBOX_PATH)/package/*/*.mk))
