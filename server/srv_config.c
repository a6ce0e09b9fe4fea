/* srv_config.c - `xaid serve` flags and XAID_* variables; see srv_config.h. */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include "srv_config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum kind { K_STR, K_INT, K_SIZE, K_LEVEL };

struct option {
    const char *flag, *env;
    enum kind kind;
    long long min, max;
    size_t offset;
};

#define OFF(f) offsetof(struct srv_config, f)
static const struct option options[] = {
    {"--listen", "XAID_LISTEN", K_STR, 0, 0, OFF(listen)},
    {"--port", "XAID_PORT", K_INT, 0, 65535, OFF(port)},
    {"--models", "XAID_MODELS", K_STR, 0, 0, OFF(models)},
    {"--workers", "XAID_WORKERS", K_INT, 1, 256, OFF(workers)},
    {"--queue", "XAID_QUEUE", K_INT, 0, 100000, OFF(queue)},
    {"--max-body", "XAID_MAX_BODY", K_SIZE, 1024, 1LL << 32, OFF(max_body)},
    {"--deadline-ms", "XAID_DEADLINE_MS", K_INT, 1, 3600000, OFF(deadline_ms)},
    {"--read-timeout", "XAID_READ_TIMEOUT", K_INT, 1, 3600, OFF(read_timeout)},
    {"--cors-origins", "XAID_CORS_ORIGINS", K_STR, 0, 0, OFF(cors_origins)},
    {"--tokens", "XAID_TOKENS_FILE", K_STR, 0, 0, OFF(tokens)},
    {"--log-level", "XAID_LOG_LEVEL", K_LEVEL, 0, 0, OFF(log_level)},
};
enum { N_OPTIONS = sizeof options / sizeof options[0] };

void srv_config_usage(void)
{
    fprintf(
        stderr,
        "usage: xaid serve [--listen ADDR] [--port N] [--models DIR] [--workers N] [--queue N]\n"
        "                  [--max-body BYTES] [--deadline-ms MS] [--read-timeout S]\n"
        "                  [--cors-origins LIST] [--tokens FILE] [--log-level LEVEL]\n"
        "  --listen        IPv4 address to bind [0.0.0.0]            (XAID_LISTEN)\n"
        "  --port          TCP port, 0 picks a free one [8080]       (XAID_PORT)\n"
        "  --models        model repository [models]                 (XAID_MODELS)\n"
        "  --workers       worker threads [CPUs available]           (XAID_WORKERS)\n"
        "  --queue         jobs waiting for a worker [4 x workers]   (XAID_QUEUE)\n"
        "  --max-body      request body cap in bytes [33554432]      (XAID_MAX_BODY)\n"
        "  --deadline-ms   a job's time limit [30000]                (XAID_DEADLINE_MS)\n"
        "  --read-timeout  seconds a connection may idle, and a body may take to\n"
        "                  arrive [30]                               (XAID_READ_TIMEOUT)\n"
        "  --cors-origins  comma-separated exact origins [none]      (XAID_CORS_ORIGINS)\n"
        "  --tokens        file of `ID TOKEN` lines: bearer auth     (XAID_TOKENS_FILE)\n"
        "  --log-level     debug, info, warn or error [info]         (XAID_LOG_LEVEL)\n"
        "A flag wins over its variable. docs/api.md describes the API.\n");
}

static xai_status set_level(const struct option *o, const char *v, struct srv_config *c,
                            struct xai_err *err)
{
    static const char *const names[] = {"debug", "info", "warn", "error"};
    for (int i = 0; i < 4; i++) {
        if (strcmp(v, names[i])) continue;
        c->log_level = (enum srv_log_level)i;
        return XAI_OK;
    }
    return xai_fail(err, XAI_INVALID_ARGUMENT, "%s must be debug, info, warn or error", o->flag);
}

static xai_status set_number(const struct option *o, const char *v, struct srv_config *c,
                             struct xai_err *err)
{
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (end == v || *end || errno || n < o->min || n > o->max || *v == '+' || *v == ' ')
        return xai_fail(err, XAI_INVALID_ARGUMENT, "%s (%s) must be an integer from %lld to %lld",
                        o->flag, o->env, o->min, o->max);
    if (o->kind == K_SIZE)
        *(size_t *)((char *)c + o->offset) = (size_t)n;
    else
        *(int *)((char *)c + o->offset) = (int)n;
    return XAI_OK;
}

static xai_status set(const struct option *o, const char *v, struct srv_config *c,
                      struct xai_err *err)
{
    if (o->kind == K_LEVEL) return set_level(o, v, c, err);
    if (o->kind != K_STR) return set_number(o, v, c, err);
    *(const char **)((char *)c + o->offset) = v;
    return XAI_OK;
}

static void defaults(struct srv_config *c)
{
    *c = (struct srv_config){"0.0.0.0", 8080, "models", 0,    -1,          32u << 20,
                             30000,     30,   NULL,     NULL, SRV_LOG_INFO};
}

static xai_status from_env(struct srv_config *c, struct xai_err *err)
{
    for (int i = 0; i < N_OPTIONS; i++) {
        const char *v = getenv(options[i].env);
        xai_status st = v && *v ? set(&options[i], v, c, err) : XAI_OK;
        if (st) return st;
    }
    return XAI_OK;
}

static xai_status from_flags(int argc, char **argv, struct srv_config *c, int *help,
                             struct xai_err *err)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            *help = 1;
            return XAI_OK;
        }
        const struct option *o = NULL;
        for (int k = 0; k < N_OPTIONS && !o; k++)
            if (!strcmp(argv[i], options[k].flag)) o = &options[k];
        if (!o) return xai_fail(err, XAI_NOT_FOUND, "unknown flag (see xaid serve --help)");
        if (i + 1 >= argc) return xai_fail(err, XAI_INVALID_ARGUMENT, "%s needs a value", o->flag);
        xai_status st = set(o, argv[++i], c, err);
        if (st) return st;
    }
    return XAI_OK;
}

xai_status srv_config_load(int argc, char **argv, struct srv_config *c, int *help,
                           struct xai_err *err)
{
    struct in_addr a;
    *help = 0;
    defaults(c);
    xai_status st = from_env(c, err);
    if (!st) st = from_flags(argc, argv, c, help, err);
    if (st || *help) return st;
    if (inet_pton(AF_INET, c->listen, &a) != 1)
        return xai_fail(err, XAI_INVALID_ARGUMENT,
                        "--listen must be an IPv4 address, e.g. "
                        "127.0.0.1 or 0.0.0.0");
    if (!c->workers) c->workers = srv_cpus_available();
    if (c->queue < 0) c->queue = 4 * c->workers;
    if (c->cors_origins && !*c->cors_origins) c->cors_origins = NULL;
    if (c->tokens && !*c->tokens) c->tokens = NULL;
    return XAI_OK;
}

/* ---- CPUs ---- */

int srv_cpu_max_parse(const char *text)
{
    char quota[32];
    long long period = 0;
    if (sscanf(text, "%31s %lld", quota, &period) != 2 || period <= 0) return 0;
    if (!strcmp(quota, "max")) return 0;
    char *end;
    long long q = strtoll(quota, &end, 10);
    if (*end || q <= 0) return 0;
    long long n = (q + period - 1) / period;
    return n > INT_MAX ? INT_MAX : (int)n;
}

/* The smallest cpu.max limit from this process's cgroup (v2) up to the root; 0: none. */
static int cgroup_cpus(void)
{
    char line[4096] = "", path[4200];
    FILE *f = fopen("/proc/self/cgroup", "r");
    while (f && fgets(line, sizeof line, f) && strncmp(line, "0::", 3)) line[0] = '\0';
    if (f) fclose(f);
    if (strncmp(line, "0::", 3)) return 0;
    line[strcspn(line, "\n")] = '\0';
    int best = 0;
    for (char *cg = line + 3;;) {
        snprintf(path, sizeof path, "/sys/fs/cgroup%s/cpu.max", strcmp(cg, "/") ? cg : "");
        char text[128];
        FILE *m = fopen(path, "r");
        int n = m && fgets(text, sizeof text, m) ? srv_cpu_max_parse(text) : 0;
        if (m) fclose(m);
        if (n > 0 && (!best || n < best)) best = n;
        char *slash = strrchr(cg, '/');
        if (!slash || slash == cg) break;
        *slash = '\0';
    }
    return best;
}

int srv_cpus_available(void)
{
    cpu_set_t set;
    long n = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set)
                                                         : sysconf(_SC_NPROCESSORS_ONLN);
    int q = cgroup_cpus();
    if (q > 0 && q < n) n = q;
    return n < 1 ? 1 : (int)n;
}
