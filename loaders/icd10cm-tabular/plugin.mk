# icd10cm-tabular: the shared libxml2 reader set-up (loaders/common/cs_xml.c) is compiled in;
# loaders/common/plugin.mk builds it hidden, so the plugin still exports only its descriptor.
$(BUILD)/plugins/icd10cm-tabular.so: $(BUILD)/obj/loaders/common/cs_xml.o
# ... and the shared text checks (loaders/common/cs_text.c), hidden the same way.
$(BUILD)/plugins/icd10cm-tabular.so: $(BUILD)/obj/loaders/common/cs_text.o
# ... and the byte-buffer growth its string arena uses (loaders/common/cs_bytes.c).
$(BUILD)/plugins/icd10cm-tabular.so: $(BUILD)/obj/loaders/common/cs_bytes.o
# ... and the shared order-file reader with its code set (loaders/common/cs_order.c, cs_hset.c).
$(BUILD)/plugins/icd10cm-tabular.so: $(BUILD)/obj/loaders/common/cs_order.o \
    $(BUILD)/obj/loaders/common/cs_hset.o
