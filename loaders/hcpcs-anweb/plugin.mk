# hcpcs-anweb: the shared xlsx reader and line reading (loaders/common/, hidden like the
# loader's own objects, so the plugin still exports only its descriptor) and libzip.
$(BUILD)/plugins/hcpcs-anweb.so: $(XLSX_OBJ) $(BUILD)/obj/loaders/common/cs_text.o
PLUGIN_LIBS_hcpcs-anweb := $(ZIP_LIBS)
# ... and the shared code set (loaders/common/cs_hset.c), hidden the same way.
$(BUILD)/plugins/hcpcs-anweb.so: $(BUILD)/obj/loaders/common/cs_hset.o
