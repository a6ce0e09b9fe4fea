/*
 * _common.h - what the fuzz targets share (fuzz/README.md describes the targets).
 *
 * Each fuzz_<name>.c defines LLVMFuzzerTestOneInput and runs one input through the functions
 * the server calls on client bytes, then checks what those functions promise: a failure has a
 * status from the documented list and a non-empty, printable message (messages never carry
 * bytes of the request); a success has consistent, in-range results. A broken promise aborts,
 * which libFuzzer (or the corpus replay of the tests, replay.c) reports like a crash.
 */
#ifndef XAI_FUZZ_COMMON_H
#define XAI_FUZZ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model_repo.h"
#include "request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Aborts with the condition's text when cond is false (kept in release builds). */
#define FUZZ_CHECK(cond) ((cond) ? (void)0 : fuzz_fail(#cond, __FILE__, __LINE__))
_Noreturn void fuzz_fail(const char *what, const char *file, int line);

/* The demo model (models/chest-demo, or $XAI_FUZZ_MODEL), loaded once; aborts if it fails. */
const struct api_model *fuzz_model(void);

/* A failure's message: non-empty, printable ASCII only; st one of the n statuses allowed. */
void fuzz_check_failure(xai_status st, const struct xai_err *err, const xai_status *allowed, int n);

/* Every parser of request parameters the server runs, on the same arguments: explain's,
 * report's, predict's, and each inspection view's (api/views.h). Checks each success against
 * the parameter tables (every value in range) and each failure with fuzz_check_failure. */
void fuzz_parse_args(const struct api_model *m, const struct api_args *a);

/* One upload through api_prepare (decode + preprocess for the demo model), as the workers run
 * it, with the server's caps but a pixel cap of 4 Mpx (fuzzing speed). Checks the decoded image
 * and the model input (shape, every sample finite and in range), and for 8-bit images that
 * encoding the pixels to PNG (as reports do) and decoding them again gives the same pixels. */
void fuzz_decode(const uint8_t *data, size_t size);

#endif
