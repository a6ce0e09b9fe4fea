/*
 * json_mem.c - jansson's allocation functions for the whole process: malloc and free, with a
 * count of failures per thread; see json_mem.h. They are installed before main (a constructor in
 * this file, which every program that reads JSON through api/ links), before jansson allocates
 * anything, and never changed afterwards.
 */
#include "json_mem.h"

#include <stdio.h>
#include <stdlib.h>

static _Thread_local unsigned long failures;

static void *counted_malloc(size_t n)
{
    void *p = malloc(n);
    if (!p) failures++;
    return p;
}

__attribute__((constructor)) static void install(void)
{
    json_set_alloc_funcs(counted_malloc, free);
}

unsigned long api_json_mark(void)
{
    return failures;
}

json_t *api_json_checked(json_t *j, unsigned long mark)
{
    if (failures == mark) return j;
    json_decref(j);
    return NULL;
}

void api_json_note_failure(void)
{
    failures++;
}

char *api_json_dumps(const json_t *j, size_t flags)
{
    unsigned long mark = failures;
    char *s = json_dumps(j, flags);
    if (failures == mark) return s;
    free(s);
    return NULL;
}

json_t *api_json_loadb(const char *buf, size_t len, size_t flags, json_error_t *e, bool *oom)
{
    unsigned long mark = failures;
    json_t *j = json_loadb(buf, len, flags, e);
    *oom = failures != mark;
    if (!*oom) return j;
    json_decref(j);
    snprintf(e->text, sizeof e->text, "out of memory");
    return NULL;
}
