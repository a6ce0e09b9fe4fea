/* cli_serve.c - `xaid serve`: the HTTP service (arrives with the server issue). */
#include <stdio.h>

#include "cli.h"

int cli_serve(int argc, char **argv)
{
    fprintf(stderr,
            "xaid serve: no HTTP server yet; everything else is usable from the command line: "
            "`xaid predict`, `xaid explain`, `xaid methods`, `xaid models`, `xaid info`\n");
    return 0;
}
