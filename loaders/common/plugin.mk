# loaders/common/ is not a plugin (the Makefile leaves it out of PLUGIN_DIRS): it holds sources
# that several loaders compile in, each through its own plugin.mk. They are built hidden like a
# plugin's own objects, so a loader that links them still exports only its descriptor. (xlsx.o
# gets its flags, libzip's among them, from the plugin.mk of the loaders that use it.)
$(BUILD)/obj/loaders/common/cs_%.o: CFLAGS += $(PLUGIN_CFLAGS)
