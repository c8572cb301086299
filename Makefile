# codeset: one GNU make file for the whole tree.
#   make            daemon, CLI, library, plugins into $(BUILD)/
#   make check      Check suites, fuzz-seed replay, header and plugin-symbol checks
#   make asan       the same suite under AddressSanitizer + UndefinedBehaviorSanitizer
#   make tsan       the embed and broker suites under ThreadSanitizer
#   make bench      benchmark programs (print figures; never part of check)
#   make install    PREFIX (default /usr/local) and DESTDIR honoured

BUILD      ?= build
PREFIX     ?= /usr/local
PKG_CONFIG ?= pkg-config
CC         ?= cc
V          ?= 0

# Debian 12 packages behind each pkg-config module, for the error message.
DEPS_PC    := libzmq lmdb msgpack libxml-2.0 nettle libmicrohttpd jansson
DEB_libzmq := libzmq3-dev
DEB_lmdb   := liblmdb-dev
DEB_msgpack := libmsgpack-dev
DEB_libxml-2.0 := libxml2-dev
DEB_nettle := nettle-dev
DEB_libmicrohttpd := libmicrohttpd-dev
DEB_jansson := libjansson-dev
DEB_check  := check

define need_pc
$(if $(shell $(PKG_CONFIG) --exists $(1) && echo yes),,\
  $(error pkg-config module '$(1)' not found: apt-get install $(DEB_$(1))))
endef
ifeq ($(filter clean format-check,$(MAKECMDGOALS)),)
$(foreach m,$(DEPS_PC),$(call need_pc,$(m)))
endif

WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wformat=2 -Wvla -fno-common
OPT      ?= -O2 -g
SAN      ?=
ifeq ($(SAN),1)
  SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
else ifeq ($(SAN),thread)
  SANFLAGS := -fsanitize=thread -fno-omit-frame-pointer
else
  SANFLAGS :=
endif
CPPFLAGS += -Icore -Icore/include -D_GNU_SOURCE
CFLAGS   += -std=c11 $(WARN) $(OPT) $(SANFLAGS) -MMD -MP -fPIC \
            $(shell $(PKG_CONFIG) --cflags libzmq lmdb msgpack libxml-2.0 nettle)
LDFLAGS  += $(SANFLAGS)
CORE_LIBS := $(shell $(PKG_CONFIG) --libs libzmq lmdb msgpack nettle) -lpthread -ldl
XML_LIBS  := $(shell $(PKG_CONFIG) --libs libxml-2.0)
CHECK_CFLAGS = $(shell $(PKG_CONFIG) --cflags check 2>/dev/null)
CHECK_LIBS   = $(shell $(PKG_CONFIG) --libs check 2>/dev/null)

ifeq ($(V),0)
  Q = @
  say = @printf '  %-6s %s\n' $(1) $(2);
else
  Q =
  say =
endif

# ---- library ---------------------------------------------------------------
DAEMON_SRC := core/broker/codesetd.c
CORE_SRC   := $(filter-out $(DAEMON_SRC),$(wildcard core/*/*.c))
CORE_OBJ   := $(CORE_SRC:%.c=$(BUILD)/obj/%.o)
LIB_A      := $(BUILD)/lib/libcodeset.a
# Shared libraries are libX.so.$(SO_VERSION) with the SONAME libX.so.$(SO_MAJOR), beside the
# links libX.so.$(SO_MAJOR) (what ld.so looks for) and libX.so (what -lX links). SO_MAJOR is
# bumped when an exported function or struct changes incompatibly.
SO_MAJOR   := 0
SO_VERSION := $(SO_MAJOR).$(shell sed -n 's/^\#define CS_VERSION "[0-9]*\.\(.*\)"/\1/p' \
                                  core/include/codeset/cs_version.h)
LIB_SO     := $(BUILD)/lib/libcodeset.so
# $(call so_link,FILE,NAME) makes the links NAME.so.$(SO_MAJOR) -> FILE and NAME.so beside FILE.
so_link = cd $(dir $(1)) && ln -sf $(notdir $(1)) $(2).so.$(SO_MAJOR) && \
          ln -sf $(2).so.$(SO_MAJOR) $(2).so
# $(call so_install,FILE,NAME) installs FILE and its links into $(DESTDIR)$(PREFIX)/lib.
so_install = install -m 0644 $(1) $(DESTDIR)$(PREFIX)/lib/ && \
             $(call so_link,$(DESTDIR)$(PREFIX)/lib/$(notdir $(1)),$(2))

# ---- programs --------------------------------------------------------------
CODESETD   := $(BUILD)/bin/codesetd
CLI_SRC    := $(wildcard clients/codeset/*.c)
CLI_OBJ    := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
CLI        := $(BUILD)/bin/codeset

# ---- codeset-http: the HTTP facade (http/: JSON API, FHIR, web page) --------
# Every http/*.c is compiled in; main.c apart, they are linked into the test binary too.
HTTP_BIN      := $(BUILD)/bin/codeset-http
HTTP_SRC      := $(wildcard http/*.c)
HTTP_OBJ      := $(HTTP_SRC:%.c=$(BUILD)/obj/%.o)
HTTP_LIB_OBJ  := $(filter-out $(BUILD)/obj/http/main.o,$(HTTP_OBJ))
HTTP_CFLAGS   := $(shell $(PKG_CONFIG) --cflags libmicrohttpd jansson)
HTTP_LIBS     := $(shell $(PKG_CONFIG) --libs libmicrohttpd jansson)
HTTP_ASSETS   := $(wildcard http/www/*)
# The page is compiled in: tools/embed-assets.c (a build-time generator, built first with the
# host compiler) writes http/www's files as arrays into $(HTTP_WWW_C); hs_assets.c serves them
# unless --assets DIR is given.
EMBED_TOOL    := $(BUILD)/tools/embed-assets
HTTP_WWW_C    := $(BUILD)/gen/http/hs_www.c
HTTP_WWW_OBJ  := $(BUILD)/obj/gen/http/hs_www.o
HTTP_OBJ      += $(HTTP_WWW_OBJ)
HTTP_LIB_OBJ  += $(HTTP_WWW_OBJ)

# ---- plugins: every folder under plugins/ and loaders/ is one .so ----------
# loaders/common/ holds sources several loaders compile in (see their plugin.mk), not a plugin.
PLUGIN_DIRS := $(filter-out plugins/common loaders/common,\
               $(patsubst %/,%,$(sort $(dir $(wildcard plugins/*/*.c loaders/*/*.c)))))
PLUGINS     := $(foreach d,$(PLUGIN_DIRS),$(BUILD)/plugins/$(notdir $(d)).so)
PLUGIN_CFLAGS := -fvisibility=hidden

# ---- tests -----------------------------------------------------------------
TEST_SRC   := $(wildcard tests/*.c)
TEST_OBJ   := $(TEST_SRC:%.c=$(BUILD)/obj/%.o)
SUITES     := $(patsubst tests/check_%.c,%,$(filter-out tests/check_main.c,$(wildcard tests/check_*.c)))
CHECK_BIN  := $(BUILD)/tests/check_codeset
FUZZ_SRC   := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_NAMES := $(patsubst tests/fuzz/fuzz_%.c,%,$(FUZZ_SRC))
REPLAYS    := $(FUZZ_NAMES:%=$(BUILD)/tests/replay_%)
BENCH_SRC  := $(wildcard tests/bench/bench_*.c)
BENCHES    := $(patsubst tests/bench/%.c,$(BUILD)/bench/%,$(BENCH_SRC))
PUBLIC_HDR := $(wildcard core/include/codeset/*.h)

.PHONY: all check run-check-zmq-front asan tsan bench fuzz fuzz-build install uninstall clean format-check headers-check \
        layers-check \
        plugin-symbols-check replay run-check valgrind
all: $(LIB_A) $(LIB_SO) $(CODESETD) $(CLI) $(PLUGINS) $(HTTP_BIN)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(call say,CC,$<)$(CC) $(CPPFLAGS) $(CFLAGS) $(CHECK_CFLAGS) -c $< -o $@

$(LIB_A): $(CORE_OBJ)
	@mkdir -p $(dir $@)
	$(call say,AR,$@)rm -f $@ && ar rcs $@ $^

$(LIB_SO).$(SO_VERSION): $(CORE_OBJ)
	@mkdir -p $(dir $@)
	$(call say,LD,$@)$(CC) -shared -Wl,-soname,libcodeset.so.$(SO_MAJOR) $(LDFLAGS) -o $@ $^ \
	    $(CORE_LIBS)
$(LIB_SO): $(LIB_SO).$(SO_VERSION)
	$(Q)$(call so_link,$<,libcodeset)

$(CODESETD): $(BUILD)/obj/core/broker/codesetd.o $(LIB_A)
	@mkdir -p $(dir $@)
	$(call say,LD,$@)$(CC) $(LDFLAGS) -o $@ $^ $(CORE_LIBS)

# The CLI reads claims as JSON (codeset claim FILE.json) with jansson.
CLI_LIBS   := $(shell $(PKG_CONFIG) --libs jansson)
$(CLI_OBJ): CFLAGS += $(shell $(PKG_CONFIG) --cflags jansson)
$(CLI): $(CLI_OBJ) $(LIB_A)
	@mkdir -p $(dir $@)
	$(call say,LD,$@)$(CC) $(LDFLAGS) -o $@ $^ $(CORE_LIBS) $(CLI_LIBS) -lm

$(EMBED_TOOL): tools/embed-assets.c
	@mkdir -p $(dir $@)
	$(call say,CC,$<)$(CC) -std=c11 $(WARN) -O2 -o $@ $<
$(HTTP_WWW_C): $(EMBED_TOOL) $(HTTP_ASSETS)
	@mkdir -p $(dir $@)
	$(call say,GEN,$@)$(EMBED_TOOL) $@ $(sort $(HTTP_ASSETS))
$(HTTP_WWW_OBJ): $(HTTP_WWW_C)
	@mkdir -p $(dir $@)
	$(call say,CC,$<)$(CC) $(CPPFLAGS) -Ihttp $(CFLAGS) -c $< -o $@
$(HTTP_OBJ) $(TEST_OBJ): CPPFLAGS += -Ihttp
$(HTTP_OBJ) $(TEST_OBJ): CFLAGS += $(HTTP_CFLAGS)
$(HTTP_BIN): $(HTTP_OBJ) $(LIB_A)
	@mkdir -p $(dir $@)
	$(call say,LD,$@)$(CC) $(LDFLAGS) -o $@ $^ $(CORE_LIBS) $(HTTP_LIBS) -lm

# A plugin links only libc and its declared libraries (-z defs: no daemon symbols).
define plugin_rule
$(BUILD)/plugins/$(notdir $(1)).so: $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard $(1)/*.c))
	@mkdir -p $$(dir $$@)
	$$(call say,LD,$$@)$$(CC) -shared -Wl,-z,defs $$(LDFLAGS) -o $$@ $$^ \
	    $(if $(filter loaders/%,$(1)),$$(XML_LIBS)) $$(PLUGIN_LIBS_$(notdir $(1)))
$(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard $(1)/*.c)): CFLAGS += $$(PLUGIN_CFLAGS)
endef
$(foreach d,$(PLUGIN_DIRS),$(eval $(call plugin_rule,$(d))))
# Sorted, so plugins/common and loaders/common (which define what the others use) come first
# in their folders.
-include $(sort $(wildcard plugins/*/plugin.mk)) $(sort $(wildcard loaders/*/plugin.mk))
# Client libraries and their programs add their own rules here.
-include $(wildcard clients/*/client.mk)

# ---- check -------------------------------------------------------------------
$(BUILD)/tests/suites.h: Makefile $(wildcard tests/check_*.c)
	@mkdir -p $(dir $@)
	$(Q)printf '%s\n' $(foreach s,$(SUITES),'CS_SUITE($(s))') > $@.tmp && mv $@.tmp $@

# Tests build paths and messages into fixed buffers on purpose; truncation there is harmless.
$(TEST_OBJ) $(BUILD)/obj/tests/bench/%.o: CFLAGS += -Wno-format-truncation
$(BUILD)/obj/tests/check_main.o: CPPFLAGS += -I$(BUILD)/tests
$(BUILD)/obj/tests/check_main.o: $(BUILD)/tests/suites.h

$(CHECK_BIN): $(TEST_OBJ) $(HTTP_LIB_OBJ) $(LIB_A)
	@mkdir -p $(dir $@)
	$(call say,LD,$@)$(CC) $(LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(CORE_LIBS) $(XML_LIBS) \
	    $(HTTP_LIBS) -lm

# Every fuzz binary links the loader harness (tests/fuzz/loader_run.c) and the mock host: the
# loader targets need them, the others ignore them.
FUZZ_COMMON := $(BUILD)/obj/tests/fuzz/loader_run.o $(BUILD)/obj/tests/mock_host.o
$(BUILD)/obj/tests/fuzz/%.o: CPPFLAGS += -Itests
# the fuzz objects are shared by replay_* and fuzz_*: keep them between builds
.SECONDARY: $(FUZZ_SRC:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/tests/fuzz/replay_main.o $(FUZZ_COMMON)
$(BUILD)/tests/replay_%: $(BUILD)/obj/tests/fuzz/fuzz_%.o $(BUILD)/obj/tests/fuzz/replay_main.o \
                         $(FUZZ_COMMON) $(LIB_A)
	@mkdir -p $(dir $@)
	$(call say,LD,$@)$(CC) $(LDFLAGS) -o $@ $^ $(CORE_LIBS) $(XML_LIBS) $(FUZZ_LIBS_$*)

# replay_main.c is a driver, not a target: keep it out of FUZZ_NAMES.
FUZZ_NAMES := $(filter-out main,$(FUZZ_NAMES))

run-check: all $(CHECK_BIN)
	$(Q)CS_BUILD_DIR=$(abspath $(BUILD)) CS_SHARED_DATA=$(abspath ../shared/data) $(CHECK_BIN)

# The broker serves its query endpoints itself by default (--front direct); these suites run
# again with every test daemon on libzmq's ROUTER (--front zmq), the front CURVE uses.
ZMQ_FRONT_SUITES = broker hostile workers csclient_async release_2021
run-check-zmq-front: all $(CHECK_BIN)
	$(Q)for s in $(ZMQ_FRONT_SUITES); do echo "  --front zmq: $$s"; \
	    CS_TEST_FRONT=zmq CK_RUN_SUITE=$$s CS_BUILD_DIR=$(abspath $(BUILD)) \
	    CS_SHARED_DATA=$(abspath ../shared/data) $(CHECK_BIN) || exit 1; done

# Loader targets dlopen their plugin from $(BUILD)/plugins (CS_FUZZ_PLUGINS).
replay: all $(REPLAYS)
	$(Q)for n in $(FUZZ_NAMES); do printf '  %-6s %s: ' REPLAY $$n; \
	    CS_FUZZ_PLUGINS=$(abspath $(BUILD))/plugins \
	    $(BUILD)/tests/replay_$$n tests/fuzz/fuzz_$$n.in || exit 1; done

# ---- fuzz: libFuzzer (clang) with ASan and UBSan, into build-fuzz/ -------------------------
# `make fuzz` rebuilds the library and the plugins with clang and coverage instrumentation
# (-fsanitize=fuzzer-no-link) so the loader targets get feedback from inside the plugin they
# dlopen, then runs each target for FUZZ_SECONDS on a scratch corpus seeded from
# tests/fuzz/fuzz_<name>.in/ (the seed folders are never written). Crashes land in
# build-fuzz/crashes/<name>/. FUZZ=name1,name2 picks targets; FUZZ_ARGS adds libFuzzer flags;
# FUZZ_CFLAGS adds compiler flags (-fno-sanitize=pointer-overflow steps past a known finding).
FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang
FUZZ_DIR     := build-fuzz
FUZZ         ?=
FUZZ_ARGS    ?=
FUZZ_CFLAGS  ?=
comma        := ,
FUZZ_RUN     := $(if $(FUZZ),$(subst $(comma), ,$(FUZZ)),$(FUZZ_NAMES))
# Largest input per target: a request is small; a release file needs room for structure.
FUZZ_MAXLEN_request := 4096
FUZZ_MAXLEN_key     := 128
FUZZ_MAXLEN_entry   := 1024
FUZZ_MAXLEN_DEFAULT := 8192
ifeq ($(FUZZING),1)
  # Coverage in everything; clang's extra warnings in other modules must not stop a fuzz run
  # (the gcc build keeps -Werror). Plugins get the sanitizer and coverage runtimes from the
  # fuzz binary that dlopens them, so -z defs cannot hold for them here.
  CFLAGS  += -fsanitize=fuzzer-no-link -Wno-error $(FUZZ_CFLAGS)
  LDFLAGS += -Wl,-z,undefs
endif
FUZZ_BINS := $(FUZZ_NAMES:%=$(BUILD)/tests/fuzz_%)
$(BUILD)/tests/fuzz_%: $(BUILD)/obj/tests/fuzz/fuzz_%.o $(FUZZ_COMMON) $(LIB_A)
	@mkdir -p $(dir $@)
	$(call say,LD,$@)$(CC) $(LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(CORE_LIBS) $(XML_LIBS) \
	    $(FUZZ_LIBS_$*)

fuzz-build: $(LIB_A) $(PLUGINS) $(FUZZ_BINS)

fuzz:
	$(MAKE) BUILD=$(FUZZ_DIR) CC=$(FUZZ_CC) SAN=1 OPT='-O1 -g' FUZZING=1 fuzz-build
	$(Q)for n in $(FUZZ_RUN); do \
	    ml=$$(case $$n in request) echo $(FUZZ_MAXLEN_request);; key) echo $(FUZZ_MAXLEN_key);; \
	          entry) echo $(FUZZ_MAXLEN_entry);; *) echo $(FUZZ_MAXLEN_DEFAULT);; esac); \
	    mkdir -p $(FUZZ_DIR)/corpus/$$n $(FUZZ_DIR)/crashes/$$n; \
	    echo "fuzz $$n for $(FUZZ_SECONDS) s (max_len $$ml)"; \
	    CS_FUZZ_PLUGINS=$(abspath $(FUZZ_DIR))/plugins $(FUZZ_DIR)/tests/fuzz_$$n \
	        -max_total_time=$(FUZZ_SECONDS) -max_len=$$ml -timeout=10 -rss_limit_mb=2048 \
	        -print_final_stats=1 -artifact_prefix=$(FUZZ_DIR)/crashes/$$n/ $(FUZZ_ARGS) \
	        $(FUZZ_DIR)/corpus/$$n tests/fuzz/fuzz_$$n.in || exit 1; done

headers-check:
	$(Q)for h in $(PUBLIC_HDR); do \
	    printf '#include "%s"\n' "$${h#core/include/}" | \
	    $(CC) -std=c11 -pedantic -Wall -Wextra -Werror -Icore/include -x c -fsyntax-only - \
	    || { echo "header $$h does not compile on its own"; exit 1; }; done
	$(Q)echo "public headers compile alone with -std=c11 -pedantic"

# A plugin exports its descriptor and nothing else (STYLE P6).
plugin-symbols-check: $(PLUGINS)
	$(Q)for p in $(PLUGINS); do \
	    extra=$$(nm -D --defined-only $$p | awk '{print $$3}' | grep -v '^cs_plugin_' \
	             | grep -v -E '^(_init|_fini|_edata|_end|__bss_start)$$' \
	             | grep -v '^__odr_asan\.'); \
	    if [ -n "$$extra" ]; then echo "$$p exports more than its descriptor: $$extra"; exit 1; fi; \
	done
	$(Q)echo "plugins export only their descriptors"

# The second front's pass after the first, not beside it (make -j2 would run both at once).
check: layers-check format-check headers-check plugin-symbols-check replay run-check
	$(Q)$(MAKE) --no-print-directory run-check-zmq-front

# Every #include between core/'s folders points down the layers (README, "Layout").
layers-check:
	$(Q)tools/layers-check

# A sanitized broker is several times slower: longer Check timeouts, and the GEMs sweep
# checks every 20th source (the plain build checks all of them).
asan:
	CK_TIMEOUT_MULTIPLIER=4 CS_TEST_STRIDE=20 $(MAKE) BUILD=build-asan SAN=1 OPT='-O1 -g' check

# ThreadSanitizer over the suites whose threads share a store: the embedded API (handles on
# several threads, a map grown under them) and the broker (ROUTER thread, workers, load and
# verify threads), into build-tsan/. A race report fails the test that made it (the broker
# child exits 66 at the first one). tests/tsan.supp silences races inside third-party
# libraries only (ZeroMQ's own threads); nothing of codeset is suppressed.
TSAN_SUITES ?= embed broker
tsan:
	$(MAKE) BUILD=build-tsan SAN=thread OPT='-O1 -g' all build-tsan/tests/check_codeset
	$(Q)for s in $(TSAN_SUITES); do \
	    CK_RUN_SUITE=$$s CK_TIMEOUT_MULTIPLIER=6 CS_BUILD_DIR=$(abspath build-tsan) \
	    CS_SHARED_DATA=$(abspath ../shared/data) \
	    TSAN_OPTIONS="halt_on_error=1 exitcode=66 suppressions=$(abspath tests/tsan.supp)" \
	    build-tsan/tests/check_codeset || exit 1; done

valgrind: all $(CHECK_BIN)
	CS_BUILD_DIR=$(abspath $(BUILD)) CS_SHARED_DATA=$(abspath ../shared/data) CK_FORK=no \
	    valgrind --leak-check=full --error-exitcode=3 $(CHECK_BIN)

# ---- bench -------------------------------------------------------------------
# Every tests/bench/bench_*.c but bench_util.c is a program; they run one after another and
# print figures (never part of check). bench_broker also drives a Redis of its own (Debian:
# redis-server, libhiredis-dev; tools/setup.sh installs both).
DEB_hiredis := libhiredis-dev
ifneq ($(filter bench,$(MAKECMDGOALS)),)
$(call need_pc,hiredis)
endif
$(BUILD)/bench/%: $(BUILD)/obj/tests/bench/%.o $(BUILD)/obj/tests/bench/bench_util.o \
                  $(BUILD)/obj/tests/embed_engine.o $(LIB_A)
	@mkdir -p $(dir $@)
	$(call say,LD,$@)$(CC) $(LDFLAGS) -o $@ $^ $(CORE_LIBS) -lm
BENCHES := $(filter-out $(BUILD)/bench/bench_util $(BUILD)/bench/bench_redis,$(BENCHES))
# Keep the objects (intermediates of the pattern rule above) so a second `make bench` links only.
.SECONDARY: $(BENCHES:$(BUILD)/bench/%=$(BUILD)/obj/tests/bench/%.o) \
            $(BUILD)/obj/tests/bench/bench_util.o $(BUILD)/obj/tests/bench/bench_redis.o
# The benchmarks that set codeset beside Redis link its helpers and hiredis.
REDIS_BENCHES := $(BUILD)/bench/bench_broker $(BUILD)/bench/bench_clients \
                 $(BUILD)/bench/bench_rtt $(BUILD)/bench/bench_async
HIREDIS_CFLAGS = $(shell $(PKG_CONFIG) --cflags hiredis 2>/dev/null)
$(REDIS_BENCHES:$(BUILD)/bench/%=$(BUILD)/obj/tests/bench/%.o) \
    $(BUILD)/obj/tests/bench/bench_redis.o: CFLAGS += $(HIREDIS_CFLAGS)
$(REDIS_BENCHES): $(BUILD)/obj/tests/bench/bench_redis.o
$(REDIS_BENCHES): CORE_LIBS += $(shell $(PKG_CONFIG) --libs hiredis 2>/dev/null)
# bench_http drives codeset-http with wrk, beside a floor of libmicrohttpd alone; it links the
# tests' HTTP helper (tests/cs_http.c: starts codeset-http, a tiny client).
$(BUILD)/obj/tests/bench/bench_http.o: CFLAGS += $(HTTP_CFLAGS)
$(BUILD)/bench/bench_http: $(BUILD)/obj/tests/cs_http.o
$(BUILD)/bench/bench_http: CORE_LIBS += $(HTTP_LIBS)

bench: all $(BENCHES)
	$(Q)for b in $(BENCHES); do \
	    CS_BUILD_DIR=$(abspath $(BUILD)) CS_SHARED_DATA=$(abspath ../shared/data) $$b || exit 1; done

# ---- pkg-config ------------------------------------------------------------------
# codeset.pc for programs that embed the library (codeset/codeset.h). Rewritten only when its
# text changes (a new PREFIX), so `make install PREFIX=...` installs the right paths. The
# dependencies go in Libs.private, not Requires.private: the public headers need none of their
# include paths.
PC_FILE    := $(BUILD)/lib/pkgconfig/codeset.pc
PC_VERSION := $(shell sed -n 's/^\#define CS_VERSION "\(.*\)"/\1/p' \
                  core/include/codeset/cs_version.h)
.PHONY: pc-force
pc-force:
$(PC_FILE): pc-force
	@mkdir -p $(dir $@)
	$(Q)printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$${prefix}/lib' 'includedir=$${prefix}/include' \
	    '' 'Name: codeset' \
	    'Description: medical code sets: the codeset query engine embedded, over its LMDB file' \
	    'Version: $(PC_VERSION)' 'Libs: -L$${libdir} -lcodeset' \
	    'Libs.private: $(CORE_LIBS)' \
	    'Cflags: -I$${includedir}' > $@.tmp
	$(Q)if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi
all: $(PC_FILE)

# ---- install -----------------------------------------------------------------
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/codeset/plugins \
	    $(DESTDIR)$(PREFIX)/include/codeset $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 0755 $(CODESETD) $(CLI) $(HTTP_BIN) $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 $(PLUGINS) $(DESTDIR)$(PREFIX)/lib/codeset/plugins/
	install -m 0644 $(LIB_A) $(DESTDIR)$(PREFIX)/lib/
	$(call so_install,$(LIB_SO).$(SO_VERSION),libcodeset)
	install -m 0644 $(PUBLIC_HDR) $(DESTDIR)$(PREFIX)/include/codeset/
	install -m 0644 $(PC_FILE) $(DESTDIR)$(PREFIX)/lib/pkgconfig/
	$(Q)if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ]; then ldconfig; fi

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/codesetd $(DESTDIR)$(PREFIX)/bin/codeset \
	    $(DESTDIR)$(PREFIX)/bin/codeset-http
	rm -rf $(DESTDIR)$(PREFIX)/share/codeset
	rm -rf $(DESTDIR)$(PREFIX)/lib/codeset $(DESTDIR)$(PREFIX)/include/codeset
	rm -f $(DESTDIR)$(PREFIX)/lib/libcodeset.a $(DESTDIR)$(PREFIX)/lib/libcodeset.so*
	rm -f $(DESTDIR)$(PREFIX)/lib/pkgconfig/codeset.pc

# ---- man pages, systemd unit, sysusers entry, example configuration ----------
MAN_PAGES := man/codeset.1 man/codesetd.8 man/codeset-http.8
UNIT_FILE := $(BUILD)/packaging/codesetd.service
HTTP_UNIT := $(BUILD)/packaging/codeset-http.service
# Rewritten only when its text changes (a new PREFIX), like codeset.pc.
$(BUILD)/packaging/%.service: packaging/%.service.in pc-force
	@mkdir -p $(dir $@)
	$(Q)sed 's|@BINDIR@|$(PREFIX)/bin|g' $< > $@.tmp
	$(Q)if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi
all: $(UNIT_FILE) $(HTTP_UNIT)
.PHONY: packaging-install packaging-uninstall
install: packaging-install
uninstall: packaging-uninstall
packaging-install: $(UNIT_FILE) $(HTTP_UNIT)
	install -d $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man8 \
	    $(DESTDIR)$(PREFIX)/lib/systemd/system $(DESTDIR)$(PREFIX)/lib/sysusers.d \
	    $(DESTDIR)$(PREFIX)/share/doc/codeset/examples
	install -m 0644 man/codeset.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 0644 man/codesetd.8 man/codeset-http.8 $(DESTDIR)$(PREFIX)/share/man/man8/
	install -m 0644 $(UNIT_FILE) $(HTTP_UNIT) $(DESTDIR)$(PREFIX)/lib/systemd/system/
	install -m 0644 packaging/codeset.sysusers $(DESTDIR)$(PREFIX)/lib/sysusers.d/codeset.conf
	install -m 0644 packaging/codesetd.default packaging/codeset.sysusers \
	    $(DESTDIR)$(PREFIX)/share/doc/codeset/examples/
packaging-uninstall:
	rm -f $(DESTDIR)$(PREFIX)/share/man/man1/codeset.1 \
	    $(DESTDIR)$(PREFIX)/share/man/man8/codesetd.8 \
	    $(DESTDIR)$(PREFIX)/share/man/man8/codeset-http.8
	rm -f $(DESTDIR)$(PREFIX)/lib/systemd/system/codesetd.service \
	    $(DESTDIR)$(PREFIX)/lib/systemd/system/codeset-http.service
	rm -f $(DESTDIR)$(PREFIX)/lib/sysusers.d/codeset.conf
	rm -rf $(DESTDIR)$(PREFIX)/share/doc/codeset

# STYLE L8's mechanical rules (spaces, 100 columns, braces through clang-tidy): tools/format-check,
# given the flags the build compiles with (FIX_ID: the fixture plugin's required define).
format-check: $(BUILD)/tests/suites.h
	$(Q)tools/format-check -- $(CPPFLAGS) -Ihttp -Itests -I$(CSCLIENT_DIR) -I$(BUILD)/tests \
	    -DFIX_ID=format_check \
	    $(shell $(PKG_CONFIG) --cflags $(DEPS_PC) check 2>/dev/null)

clean:
	rm -rf build build-asan build-tsan build-fuzz

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# ---- CLI sources (except main.c) are linked into the test binary too (tests/check_cli.c) ----
CLI_LIB_OBJ := $(filter-out $(BUILD)/obj/clients/codeset/main.o,$(CLI_OBJ))
$(CHECK_BIN): $(CLI_LIB_OBJ)

# ---- bench_search compares with SQLite FTS5 (Debian: libsqlite3-dev) ----
$(BUILD)/bench/bench_search: CORE_LIBS += -lsqlite3
