# fhir-codesystem: the shared libxml2 reader set-up and FHIR helpers (loaders/common/cs_xml.c, cs_fhir.c)
# are compiled in; loaders/common/plugin.mk builds them hidden, so the plugin still exports
# only its descriptor.
$(BUILD)/plugins/fhir-codesystem.so: $(BUILD)/obj/loaders/common/cs_xml.o $(BUILD)/obj/loaders/common/cs_fhir.o
# ... and the byte-buffer growth its string arena uses (loaders/common/cs_bytes.c).
$(BUILD)/plugins/fhir-codesystem.so: $(BUILD)/obj/loaders/common/cs_bytes.o
