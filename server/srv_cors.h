/*
 * srv_cors.h - the CORS allow-list: exact origins ("https://viewer.example.org:8443"), never "*".
 *
 * An Origin header on the list gets Access-Control-Allow-Origin with that same origin and
 * Vary: Origin; any other origin is refused (403) on /v1 routes and preflights. Matching is
 * byte-exact, as browsers send origins in their serialised form (lowercase scheme and host).
 */
#ifndef SRV_CORS_H
#define SRV_CORS_H

#include <stdbool.h>
#include <stddef.h>

#include "status.h"

#define SRV_CORS_MAX 64

struct srv_cors {
    int n;
    char *origins[SRV_CORS_MAX];
};

/* Parses a comma-separated list (spaces around items ignored; NULL or "" is an empty list).
 * INVALID_ARGUMENT (message names the item's position) for "*", an item that is not
 * http(s)://host[:port] without a path, or too many items; NO_MEMORY. */
xai_status srv_cors_parse(const char *list, struct srv_cors *c, struct xai_err *err);
bool srv_cors_allowed(const struct srv_cors *c, const char *origin);
void srv_cors_reset(struct srv_cors *c);

#endif
