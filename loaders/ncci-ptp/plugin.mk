# ncci-ptp: the shared line reading and delimited lists (loaders/common/, hidden).
$(BUILD)/plugins/ncci-ptp.so: $(BUILD)/obj/loaders/common/cs_text.o \
                        $(BUILD)/obj/loaders/common/cs_tsv.o
