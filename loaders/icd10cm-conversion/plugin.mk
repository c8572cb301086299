# icd10cm-conversion: the loader reads .xlsx tables through the shared xlsx reader, compiled in
# and hidden like the loader's own object, so the plugin still exports only its descriptor.
# XLSX_OBJ and ZIP_LIBS are those of loaders/hcpcs-anweb/plugin.mk, set to the same values so
# that either file may be read first; the reader object gets its flags from whichever file
# is read first (a second, identical addition would only repeat them).
DEB_libzip := libzip-dev
ifeq ($(filter clean format-check,$(MAKECMDGOALS)),)
$(call need_pc,libzip)
endif
ifndef XLSX_OBJ
$(BUILD)/obj/loaders/common/xlsx.o: CFLAGS += $(PLUGIN_CFLAGS) \
    $(shell $(PKG_CONFIG) --cflags libzip)
endif
XLSX_OBJ := $(BUILD)/obj/loaders/common/xlsx.o
ZIP_LIBS := $(shell $(PKG_CONFIG) --libs libzip)
$(BUILD)/plugins/icd10cm-conversion.so: $(XLSX_OBJ)
PLUGIN_LIBS_icd10cm-conversion := $(ZIP_LIBS)
