# ncci-ptp: the shared line reading, delimited lists and xlsx reader (loaders/common/, hidden)
# and libzip, for the xlsx twin.
$(BUILD)/plugins/ncci-ptp.so: $(BUILD)/obj/loaders/common/cs_text.o \
                        $(BUILD)/obj/loaders/common/cs_tsv.o \
                        $(BUILD)/obj/loaders/common/cs_tsv_xlsx.o $(XLSX_OBJ)
PLUGIN_LIBS_ncci-ptp := $(ZIP_LIBS)
