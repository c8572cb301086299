# icd10cm-conversion: the shared xlsx reader and text checks (loaders/common/, hidden like the
# loader's own objects, so the plugin still exports only its descriptor) and libzip.
$(BUILD)/plugins/icd10cm-conversion.so: $(XLSX_OBJ) $(BUILD)/obj/loaders/common/cs_text.o
PLUGIN_LIBS_icd10cm-conversion := $(ZIP_LIBS)
