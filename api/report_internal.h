/* report_internal.h - what report.c shares with report_html.c and report_json.c. */
#ifndef API_REPORT_INTERNAL_H
#define API_REPORT_INTERNAL_H

#include "report.h"

/* The inline stylesheet of the HTML report (its hash: api_report_style_source). */
extern const char api_report_style[];
/* A method's name for readers ("guided grad-CAM"); its table name when it has none. */
const char *api_report_method_title(const struct xai_method_def *m);
/* The target class's probability. */
float api_report_target_probability(const struct api_report *r);

#endif
