/* srv_config.c - `xaid serve` flags and XAID_* variables; see srv_config.h. */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include "srv_config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdbool.h>
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
    {"--max-connections", "XAID_MAX_CONNECTIONS", K_INT, 4, 65536, OFF(max_connections)},
    {"--max-connections-per-ip", "XAID_MAX_CONNECTIONS_PER_IP", K_INT, 0, 65536, OFF(max_per_ip)},
    {"--max-header-bytes", "XAID_MAX_HEADER_BYTES", K_SIZE, 8192, 1 << 20, OFF(max_header)},
    {"--cors-origins", "XAID_CORS_ORIGINS", K_STR, 0, 0, OFF(cors_origins)},
    {"--tokens", "XAID_TOKENS_FILE", K_STR, 0, 0, OFF(tokens)},
    {"--tls-cert", "XAID_TLS_CERT", K_STR, 0, 0, OFF(tls_cert)},
    {"--tls-key", "XAID_TLS_KEY", K_STR, 0, 0, OFF(tls_key)},
    {"--log-level", "XAID_LOG_LEVEL", K_LEVEL, 0, 0, OFF(log_level)},
};
enum { N_OPTIONS = sizeof options / sizeof options[0] };

void srv_config_usage(void)
{
    fprintf(
        stderr,
        "usage: xaid serve [--listen ADDR] [--port N] [--models DIR] [--workers N] [--queue N]\n"
        "                  [--max-body BYTES] [--deadline-ms MS] [--read-timeout S]\n"
        "                  [--max-connections N] [--max-connections-per-ip N]\n"
        "                  [--max-header-bytes BYTES] [--cors-origins LIST] [--tokens FILE]\n"
        "                  [--tls-cert FILE --tls-key FILE] [--log-level LEVEL]\n"
        "  --listen        IPv4 address to bind [0.0.0.0]            (XAID_LISTEN)\n"
        "  --port          TCP port, 0 picks a free one [8080]       (XAID_PORT)\n"
        "  --models        model repository [models]                 (XAID_MODELS)\n"
        "  --workers       worker threads [CPUs available]           (XAID_WORKERS)\n"
        "  --queue         jobs waiting for a worker [4 x workers]   (XAID_QUEUE)\n"
        "  --max-body      request body cap in bytes [33554432]      (XAID_MAX_BODY)\n"
        "  --deadline-ms   a job's time limit [30000]                (XAID_DEADLINE_MS)\n"
        "  --read-timeout  seconds a connection may idle, and a request's head, its\n"
        "                  body and its answer may each take [30]    (XAID_READ_TIMEOUT)\n"
        "  --max-connections  open connections at once [1024]\n"
        "                                                            (XAID_MAX_CONNECTIONS)\n"
        "  --max-connections-per-ip  from one client address, 0: any [0]\n"
        "                                                            "
        "(XAID_MAX_CONNECTIONS_PER_IP)\n"
        "  --max-header-bytes  request line + headers (connection memory) [32768]\n"
        "                                                            (XAID_MAX_HEADER_BYTES)\n"
        "  --cors-origins  comma-separated exact origins [none]      (XAID_CORS_ORIGINS)\n"
        "  --tokens        file of `ID TOKEN` lines: bearer auth     (XAID_TOKENS_FILE)\n"
        "  --tls-cert      PEM certificate chain: serve HTTPS        (XAID_TLS_CERT)\n"
        "  --tls-key       PEM private key of --tls-cert             (XAID_TLS_KEY)\n"
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
    *c = (struct srv_config){.listen = "0.0.0.0",
                             .port = 8080,
                             .models = "models",
                             .queue = -1,
                             .max_body = 32u << 20,
                             .deadline_ms = 30000,
                             .read_timeout = 30,
                             .max_connections = 1024,
                             .max_header = 32u << 10,
                             .log_level = SRV_LOG_INFO};
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
    if (c->tls_cert && !*c->tls_cert) c->tls_cert = NULL;
    if (c->tls_key && !*c->tls_key) c->tls_key = NULL;
    if (!c->tls_cert != !c->tls_key)
        return xai_fail(err, XAI_INVALID_ARGUMENT,
                        "--tls-cert (XAID_TLS_CERT) and --tls-key (XAID_TLS_KEY) go together");
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

/* The CPU limit at one cgroup directory: cgroup v2 `cpu.max` ("QUOTA PERIOD" or "max PERIOD"),
 * or cgroup v1 `cpu.cfs_quota_us` (-1: none) and `cpu.cfs_period_us`; 0 when there is none. */
static int read_first_line(const char *path, char *text, size_t n)
{
    FILE *f = fopen(path, "r");
    int ok = f && fgets(text, (int)n, f);
    if (f) fclose(f);
    if (ok) text[strcspn(text, "\n")] = '\0';
    return ok;
}

static int limit_at(const char *dir, bool v1)
{
    char path[4400], text[128], quota[64], period[64];
    if (!v1) {
        snprintf(path, sizeof path, "%s/cpu.max", dir);
        return read_first_line(path, text, sizeof text) ? srv_cpu_max_parse(text) : 0;
    }
    snprintf(path, sizeof path, "%s/cpu.cfs_quota_us", dir);
    if (!read_first_line(path, quota, sizeof quota)) return 0;
    snprintf(path, sizeof path, "%s/cpu.cfs_period_us", dir);
    if (!read_first_line(path, period, sizeof period)) return 0;
    snprintf(text, sizeof text, "%s %s", quota, period);
    return srv_cpu_max_parse(text); /* "-1 100000" parses as no limit */
}

/* This process's cgroup path for the v2 hierarchy ("0::/path") or, for v1, the hierarchy whose
 * controller list holds "cpu" ("4:cpu,cpuacct:/path"); false when there is none. */
static bool cgroup_path(bool v1, char *out, size_t n)
{
    char line[4096];
    bool found = false;
    FILE *f = fopen("/proc/self/cgroup", "r");
    while (!found && f && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2) continue;
        *c2 = '\0';
        const char *ctl = c1 + 1;
        if (!v1)
            found = !strncmp(line, "0", 1) && c1 == line + 1 && !*ctl;
        else
            for (char *t = strtok(c1 + 1, ","); t && !found; t = strtok(NULL, ","))
                found = !strcmp(t, "cpu");
        if (found) snprintf(out, n, "%s", c2 + 1);
    }
    if (f) fclose(f);
    return found;
}

/* The smallest CPU limit from this process's cgroup up to the root of its hierarchy (v2, else
 * v1 under /sys/fs/cgroup/cpu); 0: none. Inside a container the cgroup namespace makes the path
 * "/", and the mount shows the container's own limit. */
static int cgroup_cpus_in(bool v1)
{
    char cg[4096], dir[4300];
    if (!cgroup_path(v1, cg, sizeof cg)) return 0;
    int best = 0;
    for (;;) {
        snprintf(dir, sizeof dir, "%s%s", v1 ? "/sys/fs/cgroup/cpu" : "/sys/fs/cgroup",
                 strcmp(cg, "/") ? cg : "");
        int n = limit_at(dir, v1);
        if (n > 0 && (!best || n < best)) best = n;
        char *slash = strrchr(cg, '/');
        if (!slash) break;
        if (slash == cg) {
            if (!cg[1]) break;
            cg[1] = '\0';
        } else {
            *slash = '\0';
        }
    }
    return best;
}

static int cgroup_cpus(void)
{
    int n = cgroup_cpus_in(false);
    return n > 0 ? n : cgroup_cpus_in(true);
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
