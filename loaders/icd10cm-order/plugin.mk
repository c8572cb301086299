# icd10cm-order: the shared line reading of the text loaders (loaders/common/cs_text.c) is
# compiled in; loaders/common/plugin.mk builds it hidden, so the plugin still exports only its
# descriptor.
$(BUILD)/plugins/icd10cm-order.so: $(BUILD)/obj/loaders/common/cs_text.o
