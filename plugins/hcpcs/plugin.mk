# hcpcs: the system plugins' shared text helpers (plugins/common/cs_code_text.c) are compiled in;
# plugins/common/plugin.mk builds them hidden, so the plugin still exports only its descriptor.
$(BUILD)/plugins/hcpcs.so: $(BUILD)/obj/plugins/common/cs_code_text.o
