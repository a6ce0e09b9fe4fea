/* srv_cors.c - the CORS allow-list; see srv_cors.h. */
#include "srv_cors.h"

#include <stdlib.h>
#include <string.h>

/* http(s)://host[:port]: a scheme, a lowercase host name or [IPv6], an optional port, no path. */
static bool origin_valid(const char *s, size_t n)
{
    size_t p = !strncmp(s, "https://", 8) ? 8 : !strncmp(s, "http://", 7) ? 7 : 0;
    size_t host = p;
    if (!p || p >= n) return false;
    if (s[p] == '[') {
        while (p < n && s[p] != ']') p++;
        if (p++ == n) return false;
    } else {
        while (p < n && strchr("abcdefghijklmnopqrstuvwxyz0123456789.-", s[p])) p++;
    }
    if (p == host) return false;
    if (p < n && s[p] == ':') {
        size_t port = ++p;
        while (p < n && s[p] >= '0' && s[p] <= '9') p++;
        if (p == port || p - port > 5) return false;
    }
    return p == n;
}

static xai_status add(struct srv_cors *c, const char *s, size_t n, struct xai_err *err)
{
    if (n == 1 && *s == '*')
        return xai_fail(err, XAI_INVALID_ARGUMENT,
                        "CORS origins: '*' is never allowed; list "
                        "the exact origins");
    if (!origin_valid(s, n))
        return xai_fail(err, XAI_INVALID_ARGUMENT,
                        "CORS origins: item %d is not http(s)://host[:port] (lowercase, no path)",
                        c->n + 1);
    if (c->n >= SRV_CORS_MAX)
        return xai_fail(err, XAI_INVALID_ARGUMENT, "CORS origins: at most %d", SRV_CORS_MAX);
    if (!(c->origins[c->n] = strndup(s, n))) return xai_fail(err, XAI_NO_MEMORY, "out of memory");
    c->n++;
    return XAI_OK;
}

xai_status srv_cors_parse(const char *list, struct srv_cors *c, struct xai_err *err)
{
    memset(c, 0, sizeof *c);
    const char *s = list ? list : "";
    while (*s) {
        const char *end = strchr(s, ',');
        size_t n = end ? (size_t)(end - s) : strlen(s);
        const char *a = s;
        while (n && *a == ' ') a++, n--;
        while (n && a[n - 1] == ' ') n--;
        xai_status st = n ? add(c, a, n, err) : XAI_OK;
        if (st) {
            srv_cors_reset(c);
            return st;
        }
        s = end ? end + 1 : s + strlen(s);
    }
    return XAI_OK;
}

bool srv_cors_allowed(const struct srv_cors *c, const char *origin)
{
    for (int i = 0; origin && i < c->n; i++)
        if (!strcmp(c->origins[i], origin)) return true;
    return false;
}

void srv_cors_reset(struct srv_cors *c)
{
    for (int i = 0; i < c->n; i++) free(c->origins[i]);
    memset(c, 0, sizeof *c);
}
