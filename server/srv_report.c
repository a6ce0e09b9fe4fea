/* srv_report.c - content negotiation of the report route; see srv_report.h. */
#include "srv_report.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Trims spaces and tabs around [*s, *e). */
static void trim(const char **s, const char **e)
{
    while (*s < *e && (**s == ' ' || **s == '\t')) (*s)++;
    while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t')) (*e)--;
}

/* How specifically the range [s, e) matches type ("text/html"): 3 exact, 2 "text/ *",
 * 1 "* / *", 0 not at all. */
static int match(const char *s, const char *e, const char *type)
{
    size_t n = (size_t)(e - s), tn = strlen(type);
    if (n == tn && !strncasecmp(s, type, n)) return 3;
    const char *slash = strchr(type, '/');
    size_t major = (size_t)(slash - type);
    if (n == major + 2 && !strncasecmp(s, type, major + 1) && s[major + 1] == '*') return 2;
    return n == 3 && !strncmp(s, "*/*", 3) ? 1 : 0;
}

/* The q parameter among the parameters [s, e) of one range (1 when absent). */
static double q_of(const char *s, const char *e)
{
    while (s < e) {
        const char *semi = memchr(s, ';', (size_t)(e - s));
        const char *pe = semi ? semi : e;
        const char *ps = s;
        trim(&ps, &pe);
        if (pe - ps >= 2 && (ps[0] == 'q' || ps[0] == 'Q') && ps[1] == '=')
            return strtod(ps + 2, NULL);
        s = semi ? semi + 1 : e;
    }
    return 1.0;
}

/* q of type in the header: that of its most specific matching range; -1 when none matches. */
static double quality(const char *accept, const char *type)
{
    int best = 0;
    double q = -1.0;
    for (const char *s = accept; *s;) {
        const char *comma = strchr(s, ',');
        const char *e = comma ? comma : s + strlen(s);
        const char *semi = memchr(s, ';', (size_t)(e - s));
        const char *re = semi ? semi : e, *rs = s;
        trim(&rs, &re);
        int m = match(rs, re, type);
        if (m > best) {
            best = m;
            q = semi ? q_of(semi + 1, e) : 1.0;
        }
        s = comma ? comma + 1 : e;
    }
    return q;
}

bool srv_report_wants_json(const char *accept)
{
    if (!accept) return false;
    return quality(accept, "application/json") > quality(accept, "text/html");
}
