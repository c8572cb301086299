/* hs_arena.c: a per-thread arena for jansson's allocations (hs_arena.h). */
#include "hs_arena.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define S_CHUNK0 (64u << 10)
#define S_ALIGN 16

/* the open window's arena on this thread, or NULL; initial-exec: every jansson allocation
 * reads it, and the default model for -fPIC code calls __tls_get_addr each time */
static __thread hs_arena_t *t_arena __attribute__((tls_model("initial-exec")));

static size_t s_size(int i)
{
    return (size_t)S_CHUNK0 << i;
}

/* The chunk p lies in, or -1 (the current chunk, where most frees land, first). */
static int s_owner(const hs_arena_t *a, const void *p)
{
    uintptr_t x = (uintptr_t)p;
    if (a->cur >= 0 && x >= (uintptr_t)a->chunk[a->cur] &&
        x < (uintptr_t)a->chunk[a->cur] + s_size(a->cur)) {
        return a->cur;
    }
    for (int i = 0; i < a->cur && i < HS_ARENA_MAX_CHUNKS; i++) {
        uintptr_t lo = (uintptr_t)a->chunk[i];
        if (a->chunk[i] && x >= lo && x < lo + s_size(i)) {
            return i;
        }
    }
    return -1;
}

static void *s_alloc(size_t n)
{
    hs_arena_t *a = t_arena;
    if (a == NULL || n > HS_ARENA_MAX_BLOCK) {
        return malloc(n);
    }
    n = (n + S_ALIGN - 1) & ~(size_t)(S_ALIGN - 1);
    if (a->cur >= 0 && a->used + n <= s_size(a->cur)) { /* the common case */
        void *p = a->chunk[a->cur] + a->used;
        a->used += n;
        return p;
    }
    while (a->cur < 0 || a->used + n > s_size(a->cur)) {
        if (a->cur + 1 >= HS_ARENA_MAX_CHUNKS) {
            return malloc(n);
        }
        a->cur++;
        a->used = 0;
        if (a->chunk[a->cur] == NULL && (a->chunk[a->cur] = malloc(s_size(a->cur))) == NULL) {
            a->cur--;
            return malloc(n);
        }
    }
    void *p = a->chunk[a->cur] + a->used;
    a->used += n;
    return p;
}

static void s_free(void *p)
{
    if (p == NULL || (t_arena && s_owner(t_arena, p) >= 0)) {
        return; /* taken back at hs_arena_end */
    }
    free(p);
}

/* Under AddressSanitizer every allocation stays a malloc that it sees. */
#if defined(__SANITIZE_ADDRESS__)
#define S_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define S_ASAN 1
#endif
#endif

void hs_arena_install(void)
{
#ifdef S_ASAN
    (void)s_alloc;
    (void)s_free;
#else
    json_set_alloc_funcs(s_alloc, s_free);
#endif
}

void hs_arena_init(hs_arena_t *a)
{
    memset(a, 0, sizeof *a);
    a->cur = -1;
}

void hs_arena_begin(hs_arena_t *a)
{
    a->cur = -1;
    a->used = 0;
    t_arena = a;
}

void hs_arena_end(hs_arena_t *a)
{
    if (t_arena == a) {
        t_arena = NULL;
    }
    a->cur = -1;
    a->used = 0;
}

void hs_arena_fini(hs_arena_t *a)
{
    for (int i = 0; i < HS_ARENA_MAX_CHUNKS; i++) {
        free(a->chunk[i]);
        a->chunk[i] = NULL;
    }
    a->cur = -1;
}

void hs_arena_free(void *p)
{
    json_free_t f = NULL;
    json_get_alloc_funcs(NULL, &f);
    (f ? f : free)(p);
}
