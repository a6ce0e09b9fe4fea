/*
 * status.h - the one list of error codes used by every layer of xaid.
 *
 * Each entry gives the enum name, the HTTP status a client sees, and the stable string code
 * that appears in JSON errors. Core functions return an xai_status and write a human message
 * into a caller-owned struct xai_err; nothing in core knows about HTTP beyond this number.
 */
#ifndef XAI_STATUS_H
#define XAI_STATUS_H

#include <stddef.h>

#define XAI_STATUS_LIST(X)                                                                         \
    X(OK, 200, "ok")                                                                               \
    X(INVALID_ARGUMENT, 400, "invalid_argument")                                                   \
    X(UNAUTHORIZED, 401, "unauthorized")                                                           \
    X(FORBIDDEN, 403, "forbidden")                                                                 \
    X(NOT_FOUND, 404, "not_found")                                                                 \
    X(METHOD_NOT_ALLOWED, 405, "method_not_allowed")                                               \
    X(TOO_LARGE, 413, "too_large")                                                                 \
    X(UNSUPPORTED_MEDIA, 415, "unsupported_media_type")                                            \
    X(BAD_IMAGE, 422, "bad_image")                                                                 \
    X(BAD_MODEL, 422, "bad_model")                                                                 \
    X(UNSUPPORTED, 422, "unsupported")                                                             \
    X(SHAPE_MISMATCH, 422, "shape_mismatch")                                                       \
    X(NO_MEMORY, 503, "out_of_memory")                                                             \
    X(OVERLOADED, 503, "overloaded")                                                               \
    X(NOT_READY, 503, "not_ready")                                                                 \
    X(DEADLINE_EXCEEDED, 504, "deadline_exceeded")                                                 \
    X(IO, 500, "io_error")                                                                         \
    X(INTERNAL, 500, "internal")

typedef enum {
#define XAI_STATUS_ENUM(name, http, code) XAI_##name,
    XAI_STATUS_LIST(XAI_STATUS_ENUM)
#undef XAI_STATUS_ENUM
        XAI_STATUS_COUNT
} xai_status;

/* Caller-owned error buffer: the human-readable message for the last failure. */
struct xai_err {
    char msg[512];
};

const char *xai_status_code(xai_status st);
int xai_status_http(xai_status st);

/* Formats err->msg (err may be NULL) and returns st, so callers can `return xai_fail(...)`. */
xai_status xai_fail(struct xai_err *err, xai_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
