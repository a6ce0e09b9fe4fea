/* srv_multipart.c - multipart/form-data parsing; see srv_multipart.h. */
#include "srv_multipart.h"

#include <string.h>
#include <strings.h>

enum { HEADERS_MAX = 8192 };

/* First occurrence of needle (n bytes) in [h, h + len), or NULL. */
static const unsigned char *find(const unsigned char *h, size_t len, const char *needle, size_t n)
{
    if (n == 0 || len < n) return NULL;
    const unsigned char *end = h + len - n + 1;
    while (h < end) {
        h = memchr(h, needle[0], (size_t)(end - h));
        if (!h) return NULL;
        if (!memcmp(h, needle, n)) return h;
        h++;
    }
    return NULL;
}

/* ---- Content-Type and Content-Disposition parameters ---- */

/* Value of parameter `name` in a header value "type; a=b; c="d"", unquoted, into out; the length,
 * or -1 when absent or too long. Quoted values may escape characters with a backslash. */
static int header_param(const char *v, size_t vlen, const char *name, char *out, size_t size)
{
    size_t nlen = strlen(name), i = 0;
    bool quoted = false;
    while (i < vlen) {
        if (v[i] == '"') quoted = !quoted;
        if (v[i] == '\\' && quoted && i + 1 < vlen) i++;
        bool start = !quoted && v[i] == ';';
        i++;
        if (!start) continue;
        while (i < vlen && (v[i] == ' ' || v[i] == '\t')) i++;
        if (i + nlen >= vlen || strncasecmp(v + i, name, nlen) || v[i + nlen] != '=') continue;
        size_t o = 0, p = i + nlen + 1;
        bool q = p < vlen && v[p] == '"';
        for (p += q; p < vlen; p++) {
            if (q ? v[p] == '"' : (v[p] == ';' || v[p] == ' ' || v[p] == '\t')) break;
            if (q && v[p] == '\\' && p + 1 < vlen) p++;
            if (o + 1 >= size) return -1;
            out[o++] = v[p];
        }
        if (q && p >= vlen) return -1; /* unterminated quote */
        out[o] = '\0';
        return (int)o;
    }
    return -1;
}

xai_status srv_multipart_boundary(const char *content_type, char out[SRV_BOUNDARY_MAX + 1],
                                  struct xai_err *err)
{
    int n = header_param(content_type, strlen(content_type), "boundary", out, SRV_BOUNDARY_MAX + 1);
    if (n <= 0)
        return xai_fail(err, XAI_INVALID_ARGUMENT,
                        "multipart/form-data needs a boundary parameter of 1 to 70 characters");
    return XAI_OK;
}

/* ---- one part's headers ---- */

/* form-data; name="..." [; filename="..."] */
static bool disposition(const char *v, size_t vlen, struct srv_part *p)
{
    static const char fd[] = "form-data";
    char buf[256];
    if (vlen < sizeof fd - 1 || strncasecmp(v, fd, sizeof fd - 1)) return false;
    p->has_filename = header_param(v, vlen, "filename", buf, sizeof buf) >= 0 ||
                      header_param(v, vlen, "filename*", buf, sizeof buf) >= 0;
    int n = header_param(v, vlen, "name", p->name, sizeof p->name);
    p->name_len = n > 0 ? (size_t)n : 0;
    return n > 0;
}

/* Parses header lines in [h, h + len) (each ending in CRLF). */
static xai_status part_headers(const char *h, size_t len, struct srv_part *p, struct xai_err *err)
{
    bool named = false;
    while (len) {
        const char *eol = (const char *)find((const unsigned char *)h, len, "\r\n", 2);
        size_t n = eol ? (size_t)(eol - h) : len;
        const char *colon = memchr(h, ':', n);
        if (!colon)
            return xai_fail(err, XAI_INVALID_ARGUMENT, "multipart: a malformed part header");
        size_t klen = (size_t)(colon - h), vlen = n - klen - 1;
        const char *v = colon + 1;
        while (vlen && (*v == ' ' || *v == '\t')) v++, vlen--;
        if (klen == 19 && !strncasecmp(h, "Content-Disposition", 19)) {
            if (!disposition(v, vlen, p))
                return xai_fail(err, XAI_INVALID_ARGUMENT,
                                "multipart: each part needs Content-Disposition: form-data; "
                                "name=\"...\" (a name of 1 to 64 characters)");
            named = true;
        } else if (klen == 12 && !strncasecmp(h, "Content-Type", 12)) {
            p->type = v;
            p->type_len = vlen;
        }
        h += eol ? n + 2 : n;
        len -= eol ? n + 2 : n;
    }
    return named ? XAI_OK
                 : xai_fail(err, XAI_INVALID_ARGUMENT,
                            "multipart: a part has no Content-Disposition with a name");
}

/* ---- the body ---- */

struct cursor {
    const unsigned char *p, *end;
    char delim[SRV_BOUNDARY_MAX + 5]; /* "\r\n--" boundary */
    size_t dlen;
};

/* After a delimiter: "--" ends the body (*last); else optional padding, then CRLF. */
static xai_status after_delimiter(struct cursor *c, bool *last, struct xai_err *err)
{
    *last = c->end - c->p >= 2 && c->p[0] == '-' && c->p[1] == '-';
    if (*last) return XAI_OK;
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t')) c->p++;
    if (c->end - c->p < 2 || c->p[0] != '\r' || c->p[1] != '\n')
        return xai_fail(err, XAI_INVALID_ARGUMENT, "multipart: a boundary line is malformed");
    c->p += 2;
    return XAI_OK;
}

/* One part from c->p (after its boundary line) to the next delimiter. */
static xai_status one_part(struct cursor *c, struct srv_part *part, struct xai_err *err)
{
    size_t avail = (size_t)(c->end - c->p);
    const unsigned char *blank =
        find(c->p, avail < HEADERS_MAX ? avail : HEADERS_MAX, "\r\n\r\n", 4);
    bool no_headers = avail >= 2 && c->p[0] == '\r' && c->p[1] == '\n';
    if (!blank && !no_headers)
        return xai_fail(err, XAI_INVALID_ARGUMENT,
                        "multipart: a part's headers do not end (blank line) within 8 KiB");
    memset(part, 0, sizeof *part);
    size_t hlen = no_headers ? 0 : (size_t)(blank - c->p) + 2;
    xai_status st = part_headers((const char *)c->p, hlen, part, err);
    if (st) return st;
    c->p += hlen + 2;
    const unsigned char *next = find(c->p, (size_t)(c->end - c->p), c->delim, c->dlen);
    if (!next)
        return xai_fail(err, XAI_INVALID_ARGUMENT, "multipart: the closing boundary is missing");
    part->data = c->p;
    part->len = (size_t)(next - c->p);
    c->p = next + c->dlen;
    return XAI_OK;
}

/* The first delimiter: at the very start, or after a preamble ending in CRLF. */
static xai_status first_delimiter(struct cursor *c, struct xai_err *err)
{
    const char *d = c->delim + 2;
    size_t n = c->dlen - 2;
    if ((size_t)(c->end - c->p) >= n && !memcmp(c->p, d, n)) {
        c->p += n;
        return XAI_OK;
    }
    const unsigned char *f = find(c->p, (size_t)(c->end - c->p), c->delim, c->dlen);
    if (!f) return xai_fail(err, XAI_INVALID_ARGUMENT, "multipart: no opening boundary");
    c->p = f + c->dlen;
    return XAI_OK;
}

xai_status srv_multipart_parse(const unsigned char *body, size_t len, const char *boundary,
                               struct srv_part *parts, int max, int *n, struct xai_err *err)
{
    struct cursor c = {body, body + len, "\r\n--", 0};
    size_t blen = strlen(boundary);
    *n = 0;
    if (!blen || blen > SRV_BOUNDARY_MAX)
        return xai_fail(err, XAI_INVALID_ARGUMENT, "multipart: a bad boundary");
    memcpy(c.delim + 4, boundary, blen + 1);
    c.dlen = blen + 4;
    bool last = false;
    xai_status st = first_delimiter(&c, err);
    if (!st) st = after_delimiter(&c, &last, err);
    while (!st && !last) {
        if (*n >= max)
            return xai_fail(err, XAI_INVALID_ARGUMENT, "multipart: more than %d parts", max);
        st = one_part(&c, &parts[*n], err);
        if (!st) (*n)++;
        if (!st) st = after_delimiter(&c, &last, err);
    }
    if (!st && !*n) st = xai_fail(err, XAI_INVALID_ARGUMENT, "multipart: no parts");
    return st;
}

bool srv_part_named(const struct srv_part *p, const char *s)
{
    return strlen(s) == p->name_len && !memcmp(p->name, s, p->name_len);
}
