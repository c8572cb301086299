# clients/libcsclient/client.mk: the C client library (libcsclient.a/.so), its example program,
# its header check, and the Python client's tests (python-check). Included by the top Makefile.

CSCLIENT_DIR     := clients/libcsclient
CSCLIENT_SRC     := $(filter-out $(CSCLIENT_DIR)/example.c,$(wildcard $(CSCLIENT_DIR)/*.c))
CSCLIENT_OBJ     := $(CSCLIENT_SRC:%.c=$(BUILD)/obj/%.o)
CSCLIENT_A       := $(BUILD)/lib/libcsclient.a
CSCLIENT_SO      := $(BUILD)/lib/libcsclient.so
CSCLIENT_EXAMPLE := $(BUILD)/bin/codeset-example
# The library needs only ZeroMQ and msgpack, not LMDB or the daemon's core.
CSCLIENT_LIBS    := $(shell $(PKG_CONFIG) --libs libzmq msgpack)

all: $(CSCLIENT_A) $(CSCLIENT_SO) $(CSCLIENT_EXAMPLE)

$(CSCLIENT_A): $(CSCLIENT_OBJ)
	@mkdir -p $(dir $@)
	$(call say,AR,$@)rm -f $@ && ar rcs $@ $^

$(CSCLIENT_SO): $(CSCLIENT_OBJ)
	@mkdir -p $(dir $@)
	$(call say,LD,$@)$(CC) -shared -Wl,-z,defs -Wl,-soname,libcsclient.so $(LDFLAGS) \
	    -o $@ $^ $(CSCLIENT_LIBS)

$(CSCLIENT_EXAMPLE): $(BUILD)/obj/$(CSCLIENT_DIR)/example.o $(CSCLIENT_A)
	@mkdir -p $(dir $@)
	$(call say,LD,$@)$(CC) $(LDFLAGS) -o $@ $^ $(CSCLIENT_LIBS)

# tests/check_csclient.c tests the library inside the one Check binary.
$(BUILD)/obj/tests/check_csclient.o: CPPFLAGS += -I$(CSCLIENT_DIR)
$(CHECK_BIN): $(CSCLIENT_OBJ)

# The public header compiles alone, as pedantic C11 (like core's public headers).
.PHONY: csclient-header-check python-check
csclient-header-check:
	$(Q)printf '#include "codeset_client.h"\n' | $(CC) -std=c11 -pedantic -Wall -Wextra \
	    -Werror -I$(CSCLIENT_DIR) -x c -fsyntax-only -
	$(Q)echo "codeset_client.h compiles alone with -std=c11 -pedantic"

# The Python client's unittest suite, against the codesetd of this build.
PYTHON3 ?= /usr/bin/python3
python-check: all
	$(Q)cd clients/python && CS_BUILD_DIR=$(abspath $(BUILD)) PYTHONDONTWRITEBYTECODE=1 \
	    $(PYTHON3) -m unittest discover -s . -p 'test_*.py'

check: csclient-header-check python-check

# install/uninstall take the library and its header along (beside core's public headers).
.PHONY: csclient-install csclient-uninstall
install: csclient-install
uninstall: csclient-uninstall
csclient-install: all
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include/codeset
	install -m 0644 $(CSCLIENT_A) $(CSCLIENT_SO) $(DESTDIR)$(PREFIX)/lib/
	install -m 0644 $(CSCLIENT_DIR)/codeset_client.h $(DESTDIR)$(PREFIX)/include/codeset/
csclient-uninstall:
	rm -f $(DESTDIR)$(PREFIX)/lib/libcsclient.a $(DESTDIR)$(PREFIX)/lib/libcsclient.so \
	    $(DESTDIR)$(PREFIX)/include/codeset/codeset_client.h
