/*
 * srv_config.h - `xaid serve` configuration: defaults, then XAID_* environment variables, then
 * flags (a flag wins over its variable). docs/api.md lists them; `xaid serve --help` too.
 */
#ifndef SRV_CONFIG_H
#define SRV_CONFIG_H

#include <stddef.h>

#include "status.h"

enum srv_log_level { SRV_LOG_DEBUG, SRV_LOG_INFO, SRV_LOG_WARN, SRV_LOG_ERROR };

struct srv_config {
    const char *listen;       /* IPv4 literal */
    int port;                 /* 0: any free port */
    const char *models;       /* the model repository */
    int workers;              /* worker threads */
    int queue;                /* jobs waiting beyond the idle workers */
    size_t max_body;          /* bytes */
    int deadline_ms;          /* per job, from the complete request to its answer */
    int read_timeout;         /* seconds: a request's head, its body, its answer; idle */
    int max_connections;      /* open connections at once */
    int max_per_ip;           /* open connections from one address; 0: no limit */
    size_t max_header;        /* bytes: libmicrohttpd's per-connection memory (request head) */
    const char *cors_origins; /* comma-separated, or NULL */
    const char *tokens;       /* tokens file, or NULL */
    const char *tls_cert;     /* PEM certificate (chain) file: HTTPS; NULL: plain HTTP */
    const char *tls_key;      /* PEM private key file, with tls_cert */
    enum srv_log_level log_level;
};

/* Fills c (strings point into argv or the environment). INVALID_ARGUMENT naming the flag or
 * variable and what is allowed; NOT_FOUND for an unknown flag. *help is set for --help. */
xai_status srv_config_load(int argc, char **argv, struct srv_config *c, int *help,
                           struct xai_err *err);
void srv_config_usage(void);

/* CPUs this process may use: sched_getaffinity, capped by the cgroup v2 cpu.max quota of its
 * cgroup and every ancestor (rounded up), at least 1. */
int srv_cpus_available(void);
/* The CPUs a cpu.max text allows ("max 100000" -> 0 for no limit; "150000 100000" -> 2). */
int srv_cpu_max_parse(const char *text);

#endif
