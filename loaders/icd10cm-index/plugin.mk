# icd10cm-index: the shared libxml2 reader set-up (loaders/common/cs_xml.c), the byte-buffer
# growth of its arena (cs_bytes.c) and the 64-bit key set it finds a path written twice with
# (cs_hset.c) are compiled in hidden, so the plugin still exports only its descriptor.
$(BUILD)/plugins/icd10cm-index.so: $(BUILD)/obj/loaders/common/cs_xml.o \
    $(BUILD)/obj/loaders/common/cs_bytes.o $(BUILD)/obj/loaders/common/cs_hset.o
