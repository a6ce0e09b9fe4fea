/*
 * json_mem.h - jansson's memory, watched: allocation failures inside jansson are counted per
 * thread, so that a parse or an answer that lost one is refused as out of memory.
 *
 * jansson reports most failures, but not all: its parser drops a character of the text it scans
 * when its buffer cannot grow, so a string or a number can come out shorter (a label "nodule"
 * read as "nodle", 0.4471 as 0.447) with no error; and building an object member by member
 * leaves a member out when one insertion fails; and its writer drops the closing quote of an
 * object key when its buffer cannot grow. A parse goes through api_json_loadb, a serialisation
 * through api_json_dumps; a JSON answer takes a mark when it starts and passes through
 * api_json_checked when it is complete.
 */
#ifndef API_JSON_MEM_H
#define API_JSON_MEM_H

#include <jansson.h>
#include <stdbool.h>

/* Allocation failures seen by jansson in this thread so far (a mark to compare with later). */
unsigned long api_json_mark(void);
/* j, or NULL (j released) when an allocation failed in this thread since mark. */
json_t *api_json_checked(json_t *j, unsigned long mark);
/* Counts a failure of an allocation made for a JSON value outside jansson (a base64 buffer). */
void api_json_note_failure(void);
/* json_dumps, except that an allocation failure while writing gives NULL instead of a text that
 * may have lost characters (jansson 2.14 does not check the writing of an object's keys). */
char *api_json_dumps(const json_t *j, size_t flags);
/* json_loadb, except that an allocation failure while parsing gives NULL with *oom set (and
 * e->text "out of memory") instead of a value that may have lost text. */
json_t *api_json_loadb(const char *buf, size_t len, size_t flags, json_error_t *e, bool *oom);

#endif
