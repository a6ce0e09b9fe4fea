/*
 * srv_tls.h - the certificate and private key `xaid serve --tls-cert FILE --tls-key FILE` reads
 * for HTTPS (libmicrohttpd's GnuTLS support takes them as PEM text in memory).
 */
#ifndef SRV_TLS_H
#define SRV_TLS_H

#include <stddef.h>

#include "status.h"

#define SRV_TLS_FILE_MAX (1 << 20)

struct srv_tls {
    char *cert, *key; /* PEM text, NUL-terminated; NULL when not serving HTTPS */
    size_t key_len;
};

/* Reads both files (at most 1 MiB each). IO naming the flag when a file cannot be read;
 * INVALID_ARGUMENT when one is empty, over 1 MiB, holds a NUL byte or no PEM block. The key is
 * wiped from memory by srv_tls_reset. */
xai_status srv_tls_load(const char *cert_path, const char *key_path, struct srv_tls *t,
                        struct xai_err *err);
void srv_tls_reset(struct srv_tls *t);

#endif
