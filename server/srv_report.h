/*
 * srv_report.h - what the report route (POST /v1/models/{model}/report) adds to the server:
 * the choice between the HTML document and its JSON form from the Accept header. The job
 * itself runs in srv_handlers.c through api/report.h, like explain through api/request.h.
 */
#ifndef SRV_REPORT_H
#define SRV_REPORT_H

#include <stdbool.h>

/* True when the client prefers application/json to text/html: its q-value (from the most
 * specific matching range: type/subtype, type/ *, * / *) is higher. No header, a tie, or neither
 * named: HTML, the report's main form. */
bool srv_report_wants_json(const char *accept);

#endif
