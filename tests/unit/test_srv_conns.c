/*
 * test_srv_conns.c - the connection registry's time limits on socket pairs: a connection in
 * phase HEAD, BODY or SEND is shut down once past the limit (the peer reads end of file), once
 * only, and counted; a connection in phase JOB is never timed but is marked gone when its peer
 * closes, and a job then does not start; a head or body whose peer left with nothing unread is
 * marked gone (but not one with bytes still to read, nor one sending an answer whose client closed
 * after reading it); phases restart the clock; the sweeper thread does the same on its own (also
 * run under ThreadSanitizer).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "srv_conns.h"

/* What the peer of a shut-down socket reads: 0 (end of file) or -1 (reset); 1 when data or
 * nothing is pending. */
static int peer_read(int fd)
{
    char c;
    ssize_t n = recv(fd, &c, 1, MSG_DONTWAIT);
    return n <= 0 && !(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) ? (int)n : 1;
}

static void test_limits(void **state)
{
    struct srv_conns *cs;
    struct xai_err err = {{0}};
    assert_int_equal(srv_conns_start(2.0, false, &cs, &err), XAI_OK);
    int a[2], b[2], d[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, a), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, b), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, d), 0);
    double t0 = xai_monotonic_s();
    struct srv_conn *head = srv_conn_open(cs, a[0]);
    struct srv_conn *body = srv_conn_open(cs, b[0]);
    struct srv_conn *send = srv_conn_open(cs, d[0]);
    assert_non_null(head);
    assert_int_equal(srv_conns_open(cs), 3);
    srv_conn_phase(cs, body, SRV_PHASE_BODY);
    srv_conn_phase(cs, send, SRV_PHASE_SEND);

    assert_int_equal(srv_conns_sweep(cs, t0 + 1.0), 0); /* within the limit */
    assert_int_equal(peer_read(a[1]), 1);
    assert_int_equal(srv_conns_sweep(cs, t0 + 60), 3); /* all three past it */
    assert_true(peer_read(a[1]) <= 0);
    assert_true(peer_read(b[1]) <= 0);
    assert_true(peer_read(d[1]) <= 0);
    assert_true(srv_conn_swept(cs, head) && srv_conn_swept(cs, body) && srv_conn_swept(cs, send));
    assert_false(srv_conn_gone(cs, head));
    assert_int_equal(srv_conns_sweep(cs, t0 + 120), 0); /* once only */
    assert_int_equal(srv_conns_cut(cs), 3);

    srv_conn_close(cs, head);
    srv_conn_close(cs, body);
    srv_conn_close(cs, send);
    srv_conn_close(cs, NULL);
    assert_int_equal(srv_conns_open(cs), 0);
    for (int i = 0; i < 2; i++) close(a[i]), close(b[i]), close(d[i]);
    srv_conns_stop(cs);
}

static void test_phase_restarts_the_clock(void **state)
{
    struct srv_conns *cs;
    struct xai_err err = {{0}};
    assert_int_equal(srv_conns_start(0.5, false, &cs, &err), XAI_OK);
    int a[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, a), 0);
    struct srv_conn *c = srv_conn_open(cs, a[0]);
    struct timespec ts = {0, 300 * 1000 * 1000};
    nanosleep(&ts, NULL);
    srv_conn_phase(cs, c, SRV_PHASE_BODY); /* 0.3 s of head, then the body's own clock */
    assert_int_equal(srv_conns_sweep(cs, xai_monotonic_s() + 0.4), 0);
    assert_int_equal(srv_conns_sweep(cs, xai_monotonic_s() + 0.6), 1);
    srv_conn_close(cs, c);
    close(a[0]);
    close(a[1]);
    srv_conns_stop(cs);
}

static void test_job_and_gone_client(void **state)
{
    struct srv_conns *cs;
    struct xai_err err = {{0}};
    assert_int_equal(srv_conns_start(1.0, false, &cs, &err), XAI_OK);
    int a[2], b[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, a), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, b), 0);
    struct srv_conn *waiting = srv_conn_open(cs, a[0]);
    struct srv_conn *running = srv_conn_open(cs, b[0]);
    srv_conn_phase(cs, waiting, SRV_PHASE_JOB);
    srv_conn_phase(cs, running, SRV_PHASE_JOB);
    assert_true(srv_conn_run(cs, running, NULL)); /* the client is there */

    assert_int_equal(send(a[1], "x", 1, 0), 1); /* pipelined data is not leaving */
    assert_int_equal(srv_conns_sweep(cs, xai_monotonic_s() + 3600), 0); /* jobs are not timed */
    assert_false(srv_conn_gone(cs, waiting));

    close(a[1]); /* both clients leave */
    close(b[1]);
    assert_int_equal(srv_conns_sweep(cs, xai_monotonic_s()), 2);
    assert_true(srv_conn_gone(cs, waiting));
    assert_true(srv_conn_gone(cs, running));
    assert_false(srv_conn_swept(cs, waiting));
    assert_false(srv_conn_run(cs, waiting, NULL)); /* its job need not start */
    srv_conn_ran(cs, running);
    assert_int_equal(srv_conns_sweep(cs, xai_monotonic_s()), 0); /* marked once */
    assert_int_equal(srv_conns_cut(cs), 0);

    /* A job whose client leaves between its queueing and its start is caught by the worker
     * itself, without waiting for a sweep. */
    int c2[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, c2), 0);
    struct srv_conn *late = srv_conn_open(cs, c2[0]);
    srv_conn_phase(cs, late, SRV_PHASE_JOB);
    close(c2[1]);
    assert_false(srv_conn_run(cs, late, NULL));
    assert_true(srv_conn_gone(cs, late));
    /* NULL connections (no registry entry) have no limits and always run */
    assert_true(srv_conn_run(cs, NULL, NULL));
    assert_false(srv_conn_gone(cs, NULL));
    srv_conn_phase(cs, NULL, SRV_PHASE_SEND);

    srv_conn_close(cs, waiting);
    srv_conn_close(cs, running);
    close(a[0]);
    close(b[0]);
    close(c2[0]);
    srv_conns_stop(cs); /* frees `late`, still registered */
}

static void test_head_or_body_left_unfinished(void **state)
{
    struct srv_conns *cs;
    struct xai_err err = {{0}};
    assert_int_equal(srv_conns_start(60.0, false, &cs, &err), XAI_OK);
    int a[2], b[2], d[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, a), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, b), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, d), 0);
    struct srv_conn *read_all = srv_conn_open(cs, a[0]);
    struct srv_conn *unread = srv_conn_open(cs, b[0]);
    struct srv_conn *answered = srv_conn_open(cs, d[0]);
    srv_conn_phase(cs, read_all, SRV_PHASE_BODY);
    srv_conn_phase(cs, answered, SRV_PHASE_SEND);
    assert_int_equal(send(b[1], "GET / HTTP/1.0\r\n\r\n", 18, 0), 18);
    close(a[1]); /* left mid-body, everything it sent already read */
    close(b[1]); /* a request and then the end: the server has yet to read it */
    close(d[1]); /* read its answer and closed, before the request was reported complete */
    assert_int_equal(srv_conns_sweep(cs, xai_monotonic_s()), 1);
    assert_true(srv_conn_gone(cs, read_all));
    assert_false(srv_conn_swept(cs, read_all));
    assert_false(srv_conn_gone(cs, unread));
    assert_false(srv_conn_gone(cs, answered)); /* its request is logged with its status */
    assert_int_equal(srv_conns_cut(cs), 0);    /* not a timeout */
    srv_conn_close(cs, read_all);
    srv_conn_close(cs, unread);
    srv_conn_close(cs, answered);
    close(a[0]);
    close(b[0]);
    close(d[0]);
    srv_conns_stop(cs);
}

static void test_sweeper_thread(void **state)
{
    struct srv_conns *cs;
    struct xai_err err = {{0}};
    assert_int_equal(srv_conns_start(0.2, true, &cs, &err), XAI_OK);
    int a[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, a), 0);
    double t0 = xai_monotonic_s();
    struct srv_conn *c = srv_conn_open(cs, a[0]);
    char ch;
    struct timeval tv = {5, 0};
    setsockopt(a[1], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ssize_t n = recv(a[1], &ch, 1, 0); /* blocks until the sweeper shuts the socket down */
    double waited = xai_monotonic_s() - t0;
    assert_true(n <= 0);
    assert_true(waited >= 0.2 && waited < 2.0);
    assert_true(srv_conn_swept(cs, c));
    assert_int_equal(srv_conns_cut(cs), 1);
    srv_conn_close(cs, c);
    close(a[0]);
    close(a[1]);
    srv_conns_stop(cs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_phase_restarts_the_clock),
        cmocka_unit_test(test_job_and_gone_client),
        cmocka_unit_test(test_head_or_body_left_unfinished),
        cmocka_unit_test(test_sweeper_thread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
