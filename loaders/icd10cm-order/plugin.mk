# icd10cm-order: the shared line reading of the text loaders (loaders/common/cs_text.c) is
# compiled in; loaders/common/plugin.mk builds it hidden, so the plugin still exports only its
# descriptor.
$(BUILD)/plugins/icd10cm-order.so: $(BUILD)/obj/loaders/common/cs_text.o
# ... and the shared order-file reader with its code set (loaders/common/cs_order.c, cs_hset.c).
$(BUILD)/plugins/icd10cm-order.so: $(BUILD)/obj/loaders/common/cs_order.o \
    $(BUILD)/obj/loaders/common/cs_hset.o
