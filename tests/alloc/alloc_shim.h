/*
 * alloc_shim.h - a failing allocator for tests (tests/alloc/alloc_shim.c).
 *
 * The test executable that links alloc_shim.c defines malloc, calloc, realloc, free,
 * posix_memalign, aligned_alloc, memalign, valloc and pvalloc itself; the dynamic linker binds
 * every caller in the process to them (xaid's code, jansson, libpng, libjpeg, protobuf-c,
 * libmicrohttpd, OpenBLAS and glibc's own stdio, strdup, pthread), and they forward to glibc's
 * __libc_* functions. Outside a counted region they only forward.
 *
 * A counted region (alloc_shim_begin .. alloc_shim_end) numbers every allocation request made
 * by any thread from 1 (malloc, calloc, realloc to a new size, the aligned ones), makes request
 * number fail_at fail (NULL, or ENOMEM for posix_memalign) and, when persistent, every one after
 * it, and records each block it hands out (number and size). A free of such a block, in the
 * region or after it, forgets it: what is still recorded when the caller has released
 * everything is a leak. realloc of a recorded block keeps its number; realloc of a block from
 * before the region is not recorded (it was not the region's to free).
 *
 * It cannot run under AddressSanitizer (which owns malloc): the alloc tests are built only
 * without sanitizers.
 */
#ifndef ALLOC_SHIM_H
#define ALLOC_SHIM_H

#include <stdbool.h>
#include <stddef.h>

/* Starts a region: requests are numbered from 1; fail_at 0 fails none. */
void alloc_shim_begin(unsigned long fail_at, bool persistent);
/* Ends the numbering and the failures; blocks stay recorded until freed. */
void alloc_shim_end(void);
/* Requests numbered in the current (or last) region, and how many of them failed. */
unsigned long alloc_shim_count(void);
unsigned long alloc_shim_failed(void);
/* Blocks of the last region not yet freed. */
unsigned long alloc_shim_live(void);
/* Prints up to max of them ("allocation #N, B bytes") to stderr. */
void alloc_shim_print_live(int max);
/* Forgets every recorded block. */
void alloc_shim_forget(void);
/* Call stack of the first failed request (for a crash report); returns its depth. */
int alloc_shim_fail_stack(void **frames, int max);
/* Request number whose call stack is printed when it is made (0: none). */
void alloc_shim_trace(unsigned long seq);

#endif
