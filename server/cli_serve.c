/* cli_serve.c - `xaid serve`: the HTTP service (arrives with the server issue). */
#include <stdio.h>

#include "cli.h"

int cli_serve(int argc, char **argv)
{
    fprintf(stderr, "xaid serve: no HTTP server yet; the engine is usable through "
                    "`xaid info` and `xaid predict`\n");
    return 0;
}
