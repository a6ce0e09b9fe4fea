/*
 * base64.c - RFC 4648 section 4 base64 (contract in base64.h). Used by the api layer for images
 * uploaded inside JSON and for PNGs returned inside JSON.
 */
#include "base64.h"

#include <stdint.h>

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t xai_base64_encoded_len(size_t n)
{
    size_t groups = n / 3 + (n % 3 != 0);
    if (groups > SIZE_MAX / 4) return 0;
    return groups * 4;
}

void xai_base64_encode(const void *in, size_t n, char *out)
{
    const unsigned char *p = in;
    for (; n >= 3; n -= 3, p += 3, out += 4) {
        uint32_t v = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
        out[0] = alphabet[v >> 18];
        out[1] = alphabet[(v >> 12) & 63];
        out[2] = alphabet[(v >> 6) & 63];
        out[3] = alphabet[v & 63];
    }
    if (n > 0) {
        uint32_t v = (uint32_t)p[0] << 16 | (n == 2 ? (uint32_t)p[1] << 8 : 0);
        out[0] = alphabet[v >> 18];
        out[1] = alphabet[(v >> 12) & 63];
        out[2] = n == 2 ? alphabet[(v >> 6) & 63] : '=';
        out[3] = '=';
        out += 4;
    }
    *out = '\0';
}

size_t xai_base64_decoded_max(size_t n)
{
    return n / 4 * 3;
}

/* The 6-bit value of c, or -1. */
static int sextet(char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/* Number of padding characters of the last quantum q (0, 1 or 2), or -1 if '=' is misplaced. */
static int padding(const char *q)
{
    if (q[3] != '=') return (q[0] == '=' || q[1] == '=' || q[2] == '=') ? -1 : 0;
    if (q[2] != '=') return (q[0] == '=' || q[1] == '=') ? -1 : 1;
    return (q[0] == '=' || q[1] == '=') ? -1 : 2;
}

static xai_status bad(struct xai_err *err, size_t pos, const char *what)
{
    return xai_fail(err, XAI_INVALID_ARGUMENT, "base64: %s at offset %zu", what, pos);
}

/* Decodes one quantum with `pad` padding characters into out; returns the bytes written. */
static xai_status quantum(const char *q, size_t pos, int pad, unsigned char *out, size_t *len,
                          struct xai_err *err)
{
    uint32_t v = 0;
    for (int i = 0; i < 4 - pad; i++) {
        int s = sextet(q[i]);
        if (s < 0) return bad(err, pos + (size_t)i, "invalid character");
        v = v << 6 | (uint32_t)s;
    }
    v <<= 6 * pad;
    if ((pad == 1 && (v & 0xff)) || (pad == 2 && (v & 0xffff)))
        return bad(err, pos + 3 - (size_t)pad, "non-zero bits before the padding");
    out[0] = (unsigned char)(v >> 16);
    if (pad < 2) out[1] = (unsigned char)(v >> 8);
    if (pad < 1) out[2] = (unsigned char)v;
    *len = 3 - (size_t)pad;
    return XAI_OK;
}

xai_status xai_base64_decode(const char *in, size_t n, void *out, size_t *out_len,
                             struct xai_err *err)
{
    unsigned char *o = out;
    *out_len = 0;
    if (n % 4 != 0)
        return xai_fail(err, XAI_INVALID_ARGUMENT, "base64: length %zu is not a multiple of 4", n);
    for (size_t pos = 0; pos < n; pos += 4) {
        int pad = padding(in + pos);
        if (pad < 0 || (pad > 0 && pos + 4 < n)) return bad(err, pos, "misplaced '='");
        size_t len = 0;
        xai_status st = quantum(in + pos, pos, pad, o + *out_len, &len, err);
        if (st != XAI_OK) return st;
        *out_len += len;
    }
    return XAI_OK;
}
