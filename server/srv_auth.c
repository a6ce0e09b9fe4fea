/* srv_auth.c - tokens file and bearer check; see srv_auth.h. */
#include "srv_auth.h"

#include <errno.h>
#include <nettle/memops.h>
#include <nettle/sha2.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TOKEN68 "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/"

static void digest(const char *s, size_t n, uint8_t out[32])
{
    struct sha256_ctx ctx;
    sha256_init(&ctx);
    sha256_update(&ctx, n, (const uint8_t *)s);
    sha256_digest(&ctx, SHA256_DIGEST_SIZE, out);
}

/* token68: 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=" */
static bool token68(const char *s, size_t n)
{
    size_t body = 0;
    while (body < n && strchr(TOKEN68, s[body]) && s[body]) body++;
    size_t eq = body;
    while (eq < n && s[eq] == '=') eq++;
    return body > 0 && eq == n;
}

/* The next whitespace-separated field of [*p, end): start and length; 0 at the line's end. */
static size_t field(const char **p, const char *end, const char **start)
{
    while (*p < end && (**p == ' ' || **p == '\t' || **p == '\r')) (*p)++;
    *start = *p;
    while (*p < end && **p != ' ' && **p != '\t' && **p != '\r') (*p)++;
    return (size_t)(*p - *start);
}

static xai_status add_line(struct srv_tokens *t, const char *s, const char *end, int line,
                           struct xai_err *err)
{
    const char *id, *tok, *extra;
    size_t nid = field(&s, end, &id);
    if (!nid || *id == '#') return XAI_OK; /* blank or comment */
    size_t ntok = field(&s, end, &tok);
    if (!ntok || field(&s, end, &extra))
        return xai_fail(err, XAI_INVALID_ARGUMENT, "tokens file line %d: expected ID TOKEN", line);
    if (nid > SRV_TOKEN_ID_MAX)
        return xai_fail(err, XAI_INVALID_ARGUMENT, "tokens file line %d: ID over %d characters",
                        line, SRV_TOKEN_ID_MAX);
    if (ntok < SRV_TOKEN_MIN || !token68(tok, ntok))
        return xai_fail(err, XAI_INVALID_ARGUMENT,
                        "tokens file line %d: a token needs at least %d characters of "
                        "A-Z a-z 0-9 - . _ ~ + / (then optional '=')",
                        line, SRV_TOKEN_MIN);
    for (int i = 0; i < t->n; i++)
        if (strlen(t->t[i].id) == nid && !memcmp(t->t[i].id, id, nid))
            return xai_fail(err, XAI_INVALID_ARGUMENT, "tokens file line %d: repeated ID", line);
    struct srv_token *grown = realloc(t->t, sizeof *grown * (size_t)(t->n + 1));
    if (!grown) return xai_fail(err, XAI_NO_MEMORY, "out of memory for the tokens");
    t->t = grown;
    struct srv_token *nt = &t->t[t->n];
    memcpy(nt->id, id, nid);
    nt->id[nid] = '\0';
    digest(tok, ntok, nt->digest);
    for (int i = 0; i < t->n; i++)
        if (!memcmp(t->t[i].digest, nt->digest, sizeof nt->digest))
            return xai_fail(err, XAI_INVALID_ARGUMENT,
                            "tokens file line %d: the same token as another line", line);
    t->n++;
    return XAI_OK;
}

xai_status srv_tokens_parse(const char *text, size_t len, struct srv_tokens *out,
                            struct xai_err *err)
{
    *out = (struct srv_tokens){0};
    const char *p = text, *end = text + len;
    xai_status st = XAI_OK;
    for (int line = 1; !st && p < end; line++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl ? nl : end;
        if (memchr(p, '\0', (size_t)(eol - p)))
            st = xai_fail(err, XAI_INVALID_ARGUMENT, "tokens file line %d: a NUL byte", line);
        else
            st = add_line(out, p, eol, line, err);
        p = eol + 1;
    }
    if (!st && !out->n) st = xai_fail(err, XAI_INVALID_ARGUMENT, "the tokens file has no token");
    if (st) srv_tokens_reset(out);
    return st;
}

xai_status srv_tokens_load(const char *path, struct srv_tokens *out, struct xai_err *err)
{
    enum { MAX = 1 << 20 };
    *out = (struct srv_tokens){0};
    FILE *f = fopen(path, "rb");
    if (!f) return xai_fail(err, XAI_IO, "cannot open the tokens file: %s", strerror(errno));
    char *buf = malloc(MAX + 1);
    size_t n = buf ? fread(buf, 1, MAX + 1, f) : 0;
    bool bad = !buf || ferror(f);
    fclose(f);
    xai_status st = bad       ? xai_fail(err, XAI_IO, "cannot read the tokens file")
                    : n > MAX ? xai_fail(err, XAI_INVALID_ARGUMENT, "the tokens file is over 1 MiB")
                              : srv_tokens_parse(buf, n, out, err);
    free(buf);
    return st;
}

void srv_tokens_reset(struct srv_tokens *t)
{
    if (t->t) memset(t->t, 0, sizeof *t->t * (size_t)t->n);
    free(t->t);
    *t = (struct srv_tokens){0};
}

enum srv_auth srv_auth_check(const struct srv_tokens *t, const char *header, const char **id)
{
    *id = NULL;
    if (!header || strncasecmp(header, "Bearer ", 7)) return SRV_AUTH_MISSING;
    const char *tok = header + 7;
    while (*tok == ' ') tok++;
    size_t n = strlen(tok);
    while (n && tok[n - 1] == ' ') n--;
    if (!n || !token68(tok, n)) return SRV_AUTH_MISSING;
    uint8_t d[32];
    digest(tok, n, d);
    int found = -1;
    for (int i = 0; i < t->n; i++) {
        /* nettle's comparison reads every byte whatever differs; the select has no branch
         * either: mask is all ones when the digests are equal */
        int mask = -(int)(memeql_sec(d, t->t[i].digest, sizeof d) & 1);
        found = (found & ~mask) | (i & mask);
    }
    if (found < 0) return SRV_AUTH_REFUSED;
    *id = t->t[found].id;
    return SRV_AUTH_OK;
}
