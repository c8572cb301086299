# loaders/common/ is not a plugin (the Makefile leaves it out of PLUGIN_DIRS): it holds sources
# that several loaders compile in, each through its own plugin.mk. They are built hidden like a
# plugin's own objects, so a loader that links them still exports only its descriptor. (xlsx.o
# gets its flags, libzip's among them, from the plugin.mk of the loaders that use it.)
$(BUILD)/obj/loaders/common/cs_%.o: CFLAGS += $(PLUGIN_CFLAGS)

# The xlsx reader (xlsx.c) needs libzip: its object and libraries, for the loaders that read
# spreadsheets (hcpcs-anweb, icd10cm-conversion) and for the test binary (tests/check_xlsx.c).
DEB_libzip := libzip-dev
ifeq ($(filter clean format-check,$(MAKECMDGOALS)),)
$(call need_pc,libzip)
endif
XLSX_OBJ := $(BUILD)/obj/loaders/common/xlsx.o
ZIP_LIBS := $(shell $(PKG_CONFIG) --libs libzip)
$(XLSX_OBJ): CFLAGS += $(PLUGIN_CFLAGS) $(shell $(PKG_CONFIG) --cflags libzip)
$(CHECK_BIN): $(XLSX_OBJ)
$(CHECK_BIN): XML_LIBS += $(ZIP_LIBS)
