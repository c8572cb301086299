# mce-lists: the shared line reading and tab-delimited lists (loaders/common/, hidden).
$(BUILD)/plugins/mce-lists.so: $(BUILD)/obj/loaders/common/cs_text.o \
                               $(BUILD)/obj/loaders/common/cs_tsv.o
