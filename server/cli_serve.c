/* cli_serve.c - `xaid serve`: the HTTP service (server/srv_server.c). */
#include "cli.h"
#include "srv_server.h"

int cli_serve(int argc, char **argv)
{
    return srv_serve(argc, argv);
}
