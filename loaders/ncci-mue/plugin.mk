# ncci-mue: the shared line reading and delimited lists (loaders/common/, hidden).
$(BUILD)/plugins/ncci-mue.so: $(BUILD)/obj/loaders/common/cs_text.o \
                        $(BUILD)/obj/loaders/common/cs_tsv.o
