/*
 * base64.h - RFC 4648 base64 (standard alphabet, '=' padding), encode and strict decode.
 *
 * Decode accepts exactly what encode produces and nothing else: length a multiple of 4, only
 * A-Z a-z 0-9 + /, '=' only as one or two final characters, and the unused bits before the
 * padding zero (the canonical encoding). No whitespace, no line breaks, no URL-safe alphabet,
 * no "data:" prefix: the api layer strips such wrappers before calling. Buffers belong to the
 * caller; nothing allocates.
 */
#ifndef XAI_BASE64_H
#define XAI_BASE64_H

#include <stddef.h>

#include "status.h"

/* Characters of the encoding of n bytes, without the terminating NUL: 4 * ceil(n / 3).
 * Returns 0 when that would overflow size_t (and n > 0). */
size_t xai_base64_encoded_len(size_t n);
/* Writes xai_base64_encoded_len(n) characters and a NUL to out. */
void xai_base64_encode(const void *in, size_t n, char *out);

/* An upper bound of the decoded size of n characters: n / 4 * 3. */
size_t xai_base64_decoded_max(size_t n);
/* Decodes n characters of in into out (room for xai_base64_decoded_max(n) bytes); *out_len gets
 * the decoded length. INVALID_ARGUMENT, naming the offending position, for anything that is not
 * canonical base64; out's contents are then unspecified. */
xai_status xai_base64_decode(const char *in, size_t n, void *out, size_t *out_len,
                             struct xai_err *err);

#endif
