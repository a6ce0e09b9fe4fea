/*
 * fuzz_query.c - request targets (path and query string) as the server reads them: the input is
 * sent as `GET <input> HTTP/1.1` to a libmicrohttpd daemon in this process (external polling,
 * one socketpair per input), whose access handler does what srv_http.c does with a request's
 * URL: the route of the path (srv_route_match), then the query arguments through
 * srv_query_args (the server's own function), then the parameter parsers of explain,
 * report, predict and the inspection views (fuzz_parse_args), checked against the parameter
 * tables. So libmicrohttpd's own splitting and %-decoding (which the server relies on) are in
 * the loop, with the same memory limit as the server's daemon.
 *
 * Seeds (fuzz/corpus/query/): valid and invalid query strings for every route; fuzz/query.dict
 * holds the routes, parameter names, method names, enum choices and %-escapes.
 */
#include "_common.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "srv_body.h"
#include "srv_router.h"

/* MHD_run rounds before an input is given up as incomplete (each round is non-blocking). */
#define MAX_ROUNDS 64

static struct MHD_Daemon *mhd;

static void check_route(const char *url)
{
    char model[SRV_MODEL_NAME_MAX + 1];
    enum srv_route r = srv_route_match(url, model);
    FUZZ_CHECK(r >= SRV_ROUTE_NONE && r < SRV_ROUTE_COUNT);
    FUZZ_CHECK(srv_route_template(r) != NULL && srv_route_allow(r) != NULL);
    if (r == SRV_ROUTE_NONE || !srv_route_has_model(r)) return;
    size_t n = strlen(model);
    FUZZ_CHECK(n >= 1 && n <= SRV_MODEL_NAME_MAX && !strchr(model, '/'));
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url,
                               const char *method, const char *version, const char *upload_data,
                               size_t *upload_size, void **con_cls)
{
    static const xai_status arg_errors[] = {XAI_INVALID_ARGUMENT};
    check_route(url);
    struct api_args args = {0};
    struct xai_err err = {{0}};
    xai_status st = srv_query_args(conn, &args, &err);
    if (st)
        fuzz_check_failure(st, &err, arg_errors, 1);
    else
        fuzz_parse_args(fuzz_model(), &args);
    struct MHD_Response *resp = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ret = MHD_queue_response(conn, 204, resp);
    MHD_destroy_response(resp);
    return ret;
}

static void start(void)
{
    fuzz_model();
    mhd = MHD_start_daemon(MHD_USE_NO_LISTEN_SOCKET, 0, NULL, NULL, handler, NULL, MHD_OPTION_END);
    FUZZ_CHECK(mhd != NULL);
}

static size_t connections(void)
{
    const union MHD_DaemonInfo *i = MHD_get_daemon_info(mhd, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
    return i ? i->num_connections : 0;
}

/* Feeds the request on one end of a socketpair; reads until libmicrohttpd closes the other. */
static void exchange(int fd, const char *req, size_t len)
{
    size_t sent = 0;
    for (int round = 0; round < MAX_ROUNDS; round++) {
        if (sent < len) {
            ssize_t n = send(fd, req + sent, len - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
            if (n > 0) sent += (size_t)n;
        }
        MHD_run(mhd);
        char buf[512];
        ssize_t got = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (got == 0 && sent == len) return; /* closed after its answer */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!mhd) start();
    static const char head[] = "GET ",
                      tail[] = " HTTP/1.1\r\nHost: fuzz\r\nConnection: close\r\n\r\n";
    size_t len = sizeof head - 1 + size + sizeof tail - 1;
    char *req = malloc(len);
    FUZZ_CHECK(req != NULL);
    memcpy(req, head, sizeof head - 1);
    memcpy(req + sizeof head - 1, data, size);
    memcpy(req + sizeof head - 1 + size, tail, sizeof tail - 1);
    int sv[2];
    FUZZ_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    struct sockaddr_in peer = {.sin_family = AF_INET, .sin_port = htons(40000)};
    peer.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    FUZZ_CHECK(MHD_add_connection(mhd, sv[1], (struct sockaddr *)&peer, sizeof peer) == MHD_YES);
    exchange(sv[0], req, len);
    close(sv[0]);
    for (int round = 0; round < MAX_ROUNDS && connections() > 0; round++) MHD_run(mhd);
    FUZZ_CHECK(connections() == 0);
    free(req);
    return 0;
}
