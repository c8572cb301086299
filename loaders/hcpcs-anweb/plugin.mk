# hcpcs-anweb: the loader compiles the shared xlsx reader in and links libzip. The reader's
# object is hidden like the loader's own, so the plugin still exports only its descriptor;
# the test binary links the same object for tests/check_xlsx.c.
DEB_libzip := libzip-dev
ifeq ($(filter clean format-check,$(MAKECMDGOALS)),)
$(call need_pc,libzip)
endif
XLSX_OBJ := $(BUILD)/obj/loaders/common/xlsx.o
ZIP_LIBS := $(shell $(PKG_CONFIG) --libs libzip)
$(BUILD)/plugins/hcpcs-anweb.so: $(XLSX_OBJ)
# The shared line reading of the text loaders (loaders/common/cs_text.c), hidden the same way
# by loaders/common/plugin.mk.
$(BUILD)/plugins/hcpcs-anweb.so: $(BUILD)/obj/loaders/common/cs_text.o
PLUGIN_LIBS_hcpcs-anweb := $(ZIP_LIBS)
$(XLSX_OBJ): CFLAGS += $(PLUGIN_CFLAGS) $(shell $(PKG_CONFIG) --cflags libzip)
$(CHECK_BIN): $(XLSX_OBJ)
$(CHECK_BIN): XML_LIBS += $(ZIP_LIBS)
