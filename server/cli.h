/* cli.h - subcommands of the xaid binary. Each returns the process exit code. */
#ifndef XAID_CLI_H
#define XAID_CLI_H

int cli_info(int argc, char **argv);
int cli_predict(int argc, char **argv);     /* --image: api pipeline; else the raw mode */
int cli_predict_raw(int argc, char **argv); /* --input FILE.bin --shape N,C,H,W */
int cli_models(int argc, char **argv);
int cli_serve(int argc, char **argv);
int cli_explain(int argc, char **argv);
int cli_methods(int argc, char **argv);
int cli_report(int argc, char **argv);
int cli_filters(int argc, char **argv); /* the inspection views (cli_inspect.c) */
int cli_features(int argc, char **argv);
int cli_maximize(int argc, char **argv);
int cli_embed(int argc, char **argv);
int cli_views(int argc, char **argv);

/* shared helpers (cli_util.c) */
#include <jansson.h>
#include <stddef.h>

#include "status.h"
int cli_fail(xai_status st, const struct xai_err *err);
/* The whole file, at most max bytes; NULL (with a message) otherwise. */
unsigned char *cli_read_image(const char *path, size_t max, size_t *len);
/* Prints j (taking ownership) as indented JSON to stdout. */
int cli_print_json(json_t *j);

#endif
