/*
 * srv_multipart.h - a multipart/form-data parser (RFC 7578 over RFC 2046) for bodies already in
 * memory: the parts point into the body, nothing is copied or allocated.
 *
 *   [preamble CRLF] --B [padding] CRLF  headers CRLF CRLF  data  CRLF --B ... CRLF --B-- [epilogue]
 *
 * Each part needs a Content-Disposition of type form-data with a name; its filename and
 * Content-Type are reported but not trusted (images are recognised from their bytes). Anything
 * else is refused with INVALID_ARGUMENT and a message that never quotes the body: a missing
 * opening or closing boundary, a header block over 8 KiB or without its blank line, a part
 * without a name, too many parts.
 */
#ifndef SRV_MULTIPART_H
#define SRV_MULTIPART_H

#include <stdbool.h>
#include <stddef.h>

#include "status.h"

#define SRV_MULTIPART_MAX_PARTS 8
#define SRV_BOUNDARY_MAX 70

struct srv_part {
    char name[65]; /* the disposition's name, unquoted */
    size_t name_len;
    bool has_filename;
    const char *type; /* the part's Content-Type value, or NULL */
    size_t type_len;
    const unsigned char *data;
    size_t len;
};

/* The boundary parameter of a multipart/form-data Content-Type value (quoted or not), into out.
 * INVALID_ARGUMENT when it is missing, empty or over 70 characters. */
xai_status srv_multipart_boundary(const char *content_type, char out[SRV_BOUNDARY_MAX + 1],
                                  struct xai_err *err);

/* Splits body into parts (at most max); *n gets their number. */
xai_status srv_multipart_parse(const unsigned char *body, size_t len, const char *boundary,
                               struct srv_part *parts, int max, int *n, struct xai_err *err);

/* Whether a part's name is exactly s. */
bool srv_part_named(const struct srv_part *p, const char *s);

#endif
