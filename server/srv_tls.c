/* srv_tls.c - the TLS certificate and key files; see srv_tls.h. */
#define _DEFAULT_SOURCE /* explicit_bzero */
#include "srv_tls.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static xai_status read_pem(const char *path, const char *flag, char **out, size_t *len,
                           struct xai_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) return xai_fail(err, XAI_IO, "%s: cannot open the file: %s", flag, strerror(errno));
    char *buf = malloc(SRV_TLS_FILE_MAX + 2);
    size_t n = buf ? fread(buf, 1, SRV_TLS_FILE_MAX + 1, f) : 0;
    bool bad = !buf || ferror(f);
    fclose(f);
    xai_status st = XAI_OK;
    if (bad)
        st = xai_fail(err, buf ? XAI_IO : XAI_NO_MEMORY, "%s: cannot read the file", flag);
    else if (n > SRV_TLS_FILE_MAX)
        st = xai_fail(err, XAI_INVALID_ARGUMENT, "%s: the file is over 1 MiB", flag);
    else if (!n || memchr(buf, '\0', n))
        st = xai_fail(err, XAI_INVALID_ARGUMENT, "%s: the file is empty or not text", flag);
    if (!st) buf[n] = '\0';
    if (!st && !strstr(buf, "-----BEGIN "))
        st = xai_fail(err, XAI_INVALID_ARGUMENT, "%s: the file holds no PEM block (-----BEGIN)",
                      flag);
    if (st && buf) {
        explicit_bzero(buf, n);
        free(buf);
        return st;
    }
    *out = buf;
    *len = n;
    return XAI_OK;
}

xai_status srv_tls_load(const char *cert_path, const char *key_path, struct srv_tls *t,
                        struct xai_err *err)
{
    size_t cert_len = 0;
    *t = (struct srv_tls){0};
    xai_status st = read_pem(cert_path, "--tls-cert", &t->cert, &cert_len, err);
    if (!st) st = read_pem(key_path, "--tls-key", &t->key, &t->key_len, err);
    if (st) srv_tls_reset(t);
    return st;
}

void srv_tls_reset(struct srv_tls *t)
{
    if (t->key) explicit_bzero(t->key, t->key_len);
    free(t->key);
    free(t->cert);
    *t = (struct srv_tls){0};
}
