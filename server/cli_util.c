/* cli_util.c - helpers shared by the CLI subcommands. Image file names are never printed:
 * file names of medical images often carry patient names, and these messages end up in logs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "json_out.h"

int cli_fail(xai_status st, const struct xai_err *err)
{
    fprintf(stderr, "xaid: %s (%s)\n", err->msg, xai_status_code(st));
    return 1;
}

/* The whole file, at most max bytes (one more is read to detect larger files). */
unsigned char *cli_read_image(const char *path, size_t max, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "xaid: cannot open the image: %s\n", strerror(errno));
        return NULL;
    }
    unsigned char *buf = malloc(max + 1);
    *len = buf ? fread(buf, 1, max + 1, f) : 0;
    int bad = !buf || ferror(f);
    fclose(f);
    if (bad || *len > max) {
        fprintf(stderr, "xaid: %s\n",
                bad ? "cannot read the image" : "the image file is too large");
        free(buf);
        return NULL;
    }
    return buf;
}

int cli_print_json(json_t *j)
{
    if (!j) {
        fprintf(stderr, "xaid: out of memory\n");
        return 1;
    }
    int rc = json_dumpf(j, stdout, API_JSON_FLAGS | JSON_INDENT(2)) ? 1 : 0;
    putchar('\n');
    json_decref(j);
    return rc;
}
