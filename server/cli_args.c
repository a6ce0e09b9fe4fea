/* cli_args.c - the request subcommands' command line; see cli_args.h. */
#include "cli_args.h"

#include <string.h>

/* Index of flag in a NULL-terminated list, or -1. */
static int find(const char *const *list, const char *flag)
{
    for (int i = 0; list && list[i] && i < CLI_MAX_OWN; i++)
        if (!strcmp(list[i], flag)) return i;
    return -1;
}

/* --param NAME=VALUE: the name is copied (the value stays in argv). */
static int add_param(struct cli_request *r, const char *kv, struct xai_err *err)
{
    const char *eq = strchr(kv, '=');
    size_t n = eq ? (size_t)(eq - kv) : 0;
    if (!n || n >= sizeof r->names[0] || r->args.n >= API_MAX_ARGS) {
        xai_fail(err, XAI_INVALID_ARGUMENT, "--param takes NAME=VALUE");
        return 1;
    }
    char *name = r->names[r->args.n];
    memcpy(name, kv, n);
    name[n] = '\0';
    return api_args_add_text(&r->args, name, eq + 1, err) ? 1 : 0;
}

/* Flags --NAME VALUE for the request parameters with a name of their own. */
static const char *request_flag(const char *flag)
{
    static const char *const names[] = {"method",  "target", "layer",  "colormap",
                                        "opacity", "seed",   "outputs"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strncmp(flag, "--", 2) && !strcmp(flag + 2, names[i])) return names[i];
    return NULL;
}

int cli_request_parse(int argc, char **argv, const char *const *file_flags,
                      const char *const *switches, struct cli_request *r, struct xai_err *err)
{
    memset(r, 0, sizeof *r);
    for (int i = 1; i < argc; i++) {
        const char *name = request_flag(argv[i]), *flag = argv[i];
        int own = find(file_flags, flag), sw = find(switches, flag);
        if (!strcmp(flag, "--evaluate")) {
            if (api_args_add_text(&r->args, "evaluate", "true", err)) return 1;
        } else if (sw >= 0) {
            r->switches[sw] = true;
        } else if (i + 1 >= argc) {
            return -1;
        } else if (!strcmp(flag, "--model") || !strcmp(flag, "--image")) {
            *(flag[2] == 'm' ? &r->model : &r->image) = argv[++i];
        } else if (own >= 0) {
            r->files[own] = argv[++i];
        } else if (name) {
            if (api_args_add_text(&r->args, name, argv[++i], err)) return 1;
        } else if (!strcmp(flag, "--param")) {
            if (add_param(r, argv[++i], err)) return 1;
        } else {
            return -1;
        }
    }
    return r->model && r->image ? 0 : -1;
}
