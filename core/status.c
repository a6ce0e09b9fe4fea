#include "status.h"

#include <stdarg.h>
#include <stdio.h>

static const char *const codes[] = {
#define XAI_STATUS_CODE(name, http, code) code,
    XAI_STATUS_LIST(XAI_STATUS_CODE)
#undef XAI_STATUS_CODE
};

static const int https[] = {
#define XAI_STATUS_HTTP(name, http, code) http,
    XAI_STATUS_LIST(XAI_STATUS_HTTP)
#undef XAI_STATUS_HTTP
};

const char *xai_status_code(xai_status st)
{
    if ((int)st < 0 || st >= XAI_STATUS_COUNT) return "internal";
    return codes[st];
}

int xai_status_http(xai_status st)
{
    if ((int)st < 0 || st >= XAI_STATUS_COUNT) return 500;
    return https[st];
}

xai_status xai_fail(struct xai_err *err, xai_status st, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return st;
}
