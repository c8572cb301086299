# gems: the shared line reading of the text loaders (loaders/common/cs_text.c) is compiled in;
# loaders/common/plugin.mk builds it hidden, so the plugin still exports only its descriptor.
$(BUILD)/plugins/gems.so: $(BUILD)/obj/loaders/common/cs_text.o
