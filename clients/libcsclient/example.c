/* example.c: codeset-example, a small program on libcsclient: validate the codes given on the
 * command line and print each one's verdict with its reason.
 *
 *   codeset-example [--connect EP]... [--system S] [--date YYYY-MM-DD] [--release R]
 *                   [--timeout MS] CODE...
 *
 * Exit status: 0 every code valid, 4 some code invalid, 1 an error reply, 3 no reply,
 * 2 a usage error (the same as `codeset validate`). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codeset_client.h"

#define MAX_ENDPOINTS 16

static int s_usage(const char *why)
{
    fprintf(stderr,
            "codeset-example: %s\n"
            "usage: codeset-example [--connect EP]... [--system S] [--date YYYY-MM-DD]\n"
            "                       [--release R] [--timeout MS] CODE...\n",
            why);
    return 2;
}

static void s_print(const cs_client_verdict_t *v)
{
    if (v->valid) {
        printf("%-10s valid        %s  %s\n", v->input, v->code, v->title ? v->title : "");
        return;
    }
    printf("%-10s %-12s %s\n", v->input, v->reason ? v->reason : "invalid",
           v->message ? v->message : "");
    if (v->n_hint > 0) {
        printf("%-10s %-12s billable:", "", "");
        for (size_t i = 0; i < v->n_hint; i++) {
            printf(" %s", v->hint[i]);
        }
        printf("\n");
    }
    if (v->n_valid_in > 0) {
        printf("%-10s %-12s valid in:", "", "");
        for (size_t i = 0; i < v->n_valid_in; i++) {
            printf(" %s", v->valid_in[i]);
        }
        printf("\n");
    }
    if (v->n_replaced_by > 0) {
        printf("%-10s %-12s replaced by:", "", "");
        for (size_t i = 0; i < v->n_replaced_by; i++) {
            printf(" %s", v->replaced_by[i]);
        }
        printf("\n");
    }
}

int main(int argc, char **argv)
{
    const char *endpoints[MAX_ENDPOINTS];
    size_t n_ep = 0;
    const char *system = "icd10cm";
    cs_client_when_t when = {NULL, NULL};
    cs_client_opts_t opts = {0};
    int i = 1;
    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        const char *opt = argv[i];
        if (strcmp(opt, "--") == 0) {
            i++;
            break;
        }
        if (i + 1 >= argc) {
            return s_usage("an option lacks its value");
        }
        const char *val = argv[++i];
        if (strcmp(opt, "--connect") == 0) {
            if (n_ep == MAX_ENDPOINTS) {
                return s_usage("too many --connect options");
            }
            endpoints[n_ep++] = val;
        } else if (strcmp(opt, "--system") == 0) {
            system = val;
        } else if (strcmp(opt, "--date") == 0) {
            when.date = val;
        } else if (strcmp(opt, "--release") == 0) {
            when.release = val;
        } else if (strcmp(opt, "--timeout") == 0) {
            opts.timeout_ms = atoi(val);
        } else {
            return s_usage("unknown option");
        }
    }
    if (i >= argc) {
        return s_usage("no code to validate");
    }
    if (n_ep == 0) {
        endpoints[n_ep++] = "tcp://127.0.0.1:5555";
    }
    cs_client_error_t err;
    cs_client_t *c = cs_client_new(endpoints, n_ep, &opts, &err);
    if (!c) {
        fprintf(stderr, "codeset-example: %s\n", err.message);
        return 2;
    }
    cs_client_validation_t *r = NULL;
    int rc = cs_client_validate(c, system, (const char *const *)&argv[i], (size_t)(argc - i),
                                &when, &r);
    int status;
    if (rc == CS_CLIENT_OK) {
        printf("%s release %s\n", r->system ? r->system : system,
               r->release ? r->release : "?");
        for (size_t k = 0; k < r->n; k++) {
            s_print(&r->results[k]);
        }
        status = r->n_invalid > 0 ? 4 : 0;
    } else {
        const cs_client_error_t *e = cs_client_last_error(c);
        if (rc == CS_CLIENT_ESERVER) {
            fprintf(stderr, "codeset-example: %s: %s\n", e->code, e->message);
        } else {
            fprintf(stderr, "codeset-example: %s: %s\n", cs_client_strerror(rc), e->message);
        }
        status = rc == CS_CLIENT_ETIMEOUT ? 3 : 1;
    }
    cs_client_validation_destroy(&r);
    cs_client_destroy(&c);
    return status;
}
