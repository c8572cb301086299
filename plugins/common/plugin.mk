# plugins/common/ is not a plugin (the Makefile leaves it out of PLUGIN_DIRS): it holds sources
# that several plugins compile in, each through its own plugin.mk. They are built hidden like a
# plugin's own objects, so a plugin that links them still exports only its descriptor.
$(BUILD)/obj/plugins/common/%.o: CFLAGS += $(PLUGIN_CFLAGS)
