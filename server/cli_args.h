/*
 * cli_args.h - the command line of the subcommands that take one request (`xaid explain`,
 * `xaid report`): --model DIR, --image FILE, the subcommand's own file and switch flags, and
 * the request parameters as the HTTP API names them (api/request.h): --method, --target,
 * --layer, --colormap, --opacity, --seed, --outputs, --evaluate, and --param NAME=VALUE for any
 * of them or a method's own.
 */
#ifndef XAID_CLI_ARGS_H
#define XAID_CLI_ARGS_H

#include <stdbool.h>

#include "request.h"

#define CLI_MAX_OWN 8

struct cli_request {
    const char *model, *image;
    const char *files[CLI_MAX_OWN]; /* values of the subcommand's file flags, NULL when absent */
    bool switches[CLI_MAX_OWN];     /* the subcommand's switches given */
    char names[API_MAX_ARGS][64];   /* of --param NAME=VALUE */
    struct api_args args;           /* request parameters, as the server takes them */
};

/* file_flags and switches: NULL-terminated lists of the subcommand's own flags ("--out"), at
 * most CLI_MAX_OWN each. Returns -1 for a usage error (unknown flag, missing value, no --model
 * or --image), 1 for a bad parameter (message in err), 0 when parsed. */
int cli_request_parse(int argc, char **argv, const char *const *file_flags,
                      const char *const *switches, struct cli_request *r, struct xai_err *err);

#endif
