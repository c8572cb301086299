# clients/libcsclient/client.mk: the C client library (libcsclient.a/.so), its example program,
# its header check, and the Python client's tests (python-check). Included by the top Makefile.

CSCLIENT_DIR     := clients/libcsclient
CSCLIENT_SRC     := $(filter-out $(CSCLIENT_DIR)/example.c,$(wildcard $(CSCLIENT_DIR)/*.c))
CSCLIENT_OBJ     := $(CSCLIENT_SRC:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/$(CSCLIENT_DIR)/cs_zmtp.o
CSCLIENT_A       := $(BUILD)/lib/libcsclient.a
CSCLIENT_SO      := $(BUILD)/lib/libcsclient.so
CSCLIENT_EXAMPLE := $(BUILD)/bin/codeset-example
# The library needs only ZeroMQ and msgpack, not LMDB or the daemon's core.
CSCLIENT_LIBS    := $(shell $(PKG_CONFIG) --libs libzmq msgpack)

all: $(CSCLIENT_A) $(CSCLIENT_SO) $(CSCLIENT_EXAMPLE)

# The ZMTP greeting, commands and frame headers are the broker's codec (core/wire/cs_zmtp.c:
# no I/O, no allocation, no dependency), compiled into the library too and kept out of the
# .so's exported symbols.
$(BUILD)/obj/$(CSCLIENT_DIR)/cs_zmtp.o: core/wire/cs_zmtp.c
	@mkdir -p $(dir $@)
	$(call say,CC,$<)$(CC) $(CPPFLAGS) $(CFLAGS) -fvisibility=hidden -c $< -o $@

$(CSCLIENT_A): $(CSCLIENT_OBJ)
	@mkdir -p $(dir $@)
	$(call say,AR,$@)rm -f $@ && ar rcs $@ $^

# libcsclient.so.$(SO_VERSION), SONAME libcsclient.so.$(SO_MAJOR), and its links (see the
# top Makefile's SO_MAJOR).
$(CSCLIENT_SO).$(SO_VERSION): $(CSCLIENT_OBJ)
	@mkdir -p $(dir $@)
	$(call say,LD,$@)$(CC) -shared -Wl,-z,defs -Wl,-soname,libcsclient.so.$(SO_MAJOR) \
	    $(LDFLAGS) -o $@ $^ $(CSCLIENT_LIBS)
$(CSCLIENT_SO): $(CSCLIENT_SO).$(SO_VERSION)
	$(Q)$(call so_link,$<,libcsclient)

# csclient.pc for programs that link the library (pkg-config csclient), written like codeset.pc
# (rewritten only when its text changes). ZeroMQ and msgpack go in Libs.private: the header
# needs neither's include path.
CSCLIENT_PC := $(BUILD)/lib/pkgconfig/csclient.pc
$(CSCLIENT_PC): pc-force
	@mkdir -p $(dir $@)
	$(Q)printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$${prefix}/lib' 'includedir=$${prefix}/include' \
	    '' 'Name: csclient' \
	    'Description: C client library for codesetd, the medical code-set broker' \
	    'Version: $(PC_VERSION)' 'Libs: -L$${libdir} -lcsclient' \
	    'Libs.private: $(CSCLIENT_LIBS)' \
	    'Cflags: -I$${includedir}/codeset' > $@.tmp
	$(Q)if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi
all: $(CSCLIENT_PC)

$(CSCLIENT_EXAMPLE): $(BUILD)/obj/$(CSCLIENT_DIR)/example.o $(CSCLIENT_A)
	@mkdir -p $(dir $@)
	$(call say,LD,$@)$(CC) $(LDFLAGS) -o $@ $^ $(CSCLIENT_LIBS)

# tests/check_csclient.c, check_csclient_async.c and check_csclient_fastread.c test the library
# inside the one Check binary.
$(BUILD)/obj/tests/check_csclient.o $(BUILD)/obj/tests/check_csclient_async.o \
    $(BUILD)/obj/tests/check_csclient_fastread.o \
    $(BUILD)/obj/tests/check_spin.o $(BUILD)/obj/tests/check_zmtp_front.o: \
    CPPFLAGS += -I$(CSCLIENT_DIR)
# (the check binary takes the codec from libcodeset.a, with the broker that shares it)
$(CHECK_BIN): $(filter-out $(BUILD)/obj/$(CSCLIENT_DIR)/cs_zmtp.o,$(CSCLIENT_OBJ))

# bench_broker and bench_async measure the asynchronous calls (issue 19) through the library
# itself, and bench_rtt its synchronous round trip.
$(BUILD)/obj/tests/bench/bench_broker.o $(BUILD)/obj/tests/bench/bench_rtt.o \
    $(BUILD)/obj/tests/bench/bench_async.o: \
    CPPFLAGS += -I$(CSCLIENT_DIR)
$(BUILD)/bench/bench_broker $(BUILD)/bench/bench_rtt $(BUILD)/bench/bench_async: $(CSCLIENT_A)

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

# install/uninstall take the library, its header (beside core's public headers) and its .pc
# along, and the Python client to where Debian's python3 looks for modules of PREFIX:
# /usr/lib/python3/dist-packages for /usr, else PREFIX/lib/python3.X/dist-packages
# (/usr/local/lib/python3.11/dist-packages on Debian 12). PYTHON_DIR overrides it.
PYTHON_VER = $(shell $(PYTHON3) -c 'import sys; print("%d.%d" % sys.version_info[:2])')
PYTHON_DIR ?= $(strip $(if $(filter /usr,$(PREFIX)),$(PREFIX)/lib/python3/dist-packages,\
                           $(PREFIX)/lib/python$(PYTHON_VER)/dist-packages))
.PHONY: csclient-install csclient-uninstall
install: csclient-install
uninstall: csclient-uninstall
csclient-install: all
	install -d $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include/codeset \
	    $(DESTDIR)$(PYTHON_DIR)
	install -m 0644 $(CSCLIENT_A) $(DESTDIR)$(PREFIX)/lib/
	$(call so_install,$(CSCLIENT_SO).$(SO_VERSION),libcsclient)
	install -m 0644 $(CSCLIENT_DIR)/codeset_client.h $(DESTDIR)$(PREFIX)/include/codeset/
	install -m 0644 $(CSCLIENT_PC) $(DESTDIR)$(PREFIX)/lib/pkgconfig/
	install -m 0644 clients/python/codeset_client.py $(DESTDIR)$(PYTHON_DIR)/
csclient-uninstall:
	rm -f $(DESTDIR)$(PREFIX)/lib/libcsclient.a $(DESTDIR)$(PREFIX)/lib/libcsclient.so* \
	    $(DESTDIR)$(PREFIX)/include/codeset/codeset_client.h \
	    $(DESTDIR)$(PREFIX)/lib/pkgconfig/csclient.pc $(DESTDIR)$(PYTHON_DIR)/codeset_client.py \
	    $(DESTDIR)$(PYTHON_DIR)/__pycache__/codeset_client.*.pyc
