/*
 * srv_auth.h - bearer tokens: the tokens file and the check of an Authorization header.
 *
 * The file holds one `ID TOKEN` per line (blank lines and lines starting with '#' ignored). IDs
 * are what the access log records; tokens are never logged or kept in clear: only their SHA-256
 * is stored, and a presented token's digest is compared with every stored one in constant time
 * (no early exit, no length leak). Tokens are RFC 6750 token68 text of at least 16 characters.
 */
#ifndef SRV_AUTH_H
#define SRV_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

#define SRV_TOKEN_MIN 16
#define SRV_TOKEN_ID_MAX 64

struct srv_token {
    char id[SRV_TOKEN_ID_MAX + 1];
    uint8_t digest[32];
};

struct srv_tokens {
    int n;
    struct srv_token *t;
};

/* Parses the text of a tokens file. INVALID_ARGUMENT naming the line (never its text) for a
 * line that is not two fields, an ID longer than 64 characters or repeated, a token shorter than
 * 16 characters or outside token68, and for a file without tokens; NO_MEMORY. */
xai_status srv_tokens_parse(const char *text, size_t len, struct srv_tokens *out,
                            struct xai_err *err);
/* Reads and parses a file (at most 1 MiB); IO when it cannot be read. */
xai_status srv_tokens_load(const char *path, struct srv_tokens *out, struct xai_err *err);
void srv_tokens_reset(struct srv_tokens *t);

enum srv_auth { SRV_AUTH_OK, SRV_AUTH_MISSING, SRV_AUTH_REFUSED };

/* An Authorization header value (NULL when absent). MISSING (401) for no header or anything but
 * "Bearer <token68>" (scheme case-insensitive); REFUSED (403) for a token not in the file; OK
 * sets *id to the token's ID. */
enum srv_auth srv_auth_check(const struct srv_tokens *t, const char *header, const char **id);

#endif
