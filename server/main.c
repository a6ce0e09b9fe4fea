/* main.c - the xaid command line: subcommands dispatch to cli_*.c. */
#include <stdio.h>
#include <string.h>

#include "blas_tune.h"
#include "cli.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: xaid <command> [options]\n\n"
            "commands:\n"
            "  info FILE.onnx|DIR       layers, shapes, parameters and FLOPs of a model\n"
            "  models [DIR] [--json]    the models of a repository (default: models) with\n"
            "                           their sha256\n"
            "  predict --model DIR --image FILE [--json]\n"
            "                           class probabilities of a PNG or JPEG image (DIR holds\n"
            "                           model.onnx and model.json; --json: the HTTP API's shape)\n"
            "  predict --model DIR|FILE --input FILE.bin --shape N,C,H,W [--out OUT.bin]\n"
            "                           run the model on a raw float32 tensor\n"
            "  explain --model DIR --image FILE [--method M] [--param NAME=VALUE ...]\n"
            "          [--target T] [--layer NAME] [--out OVERLAY.png] [--heatmap HEAT.png]\n"
            "          [--json OUT.json]   a heatmap of what the model used (see `explain`)\n"
            "  report --model DIR --image FILE --out REPORT.html [--json] [--method M]\n"
            "         [--target T] [--layer NAME] [--evaluate]\n"
            "                           a self-contained report for clinicians (see `report`)\n"
            "  methods [--json]         the attribution methods and their parameters\n"
            "  filters --model DIR [--layer CONV]   a convolution's kernels as a tiled PNG\n"
            "  features --model DIR --image FILE [--layer NAME] [--top_k K]\n"
            "                           a layer's top-k activation maps, dead-map fraction\n"
            "  maximize --model DIR [--target T] [--steps N]   class maximisation\n"
            "  embed --model DIR [--projection tsne|pca] [--labels L,...] FILE...|ARCHIVE\n"
            "                           feature vectors of 2-2000 images projected to 2-D\n"
            "  views [--json]           the inspection views and their parameters\n"
            "  serve [options]          the HTTP service (`xaid serve --help`, docs/api.md)\n"
            "  help                     this text\n");
}

int main(int argc, char **argv)
{
    xai_blas_tune(argv);
    if (argc < 2 || !strcmp(argv[1], "help") || !strcmp(argv[1], "--help") ||
        !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "info")) return cli_info(argc - 1, argv + 1);
    if (!strcmp(argv[1], "predict")) return cli_predict(argc - 1, argv + 1);
    if (!strcmp(argv[1], "models")) return cli_models(argc - 1, argv + 1);
    if (!strcmp(argv[1], "explain")) return cli_explain(argc - 1, argv + 1);
    if (!strcmp(argv[1], "methods")) return cli_methods(argc - 1, argv + 1);
    if (!strcmp(argv[1], "report")) return cli_report(argc - 1, argv + 1);
    if (!strcmp(argv[1], "filters")) return cli_filters(argc - 1, argv + 1);
    if (!strcmp(argv[1], "features")) return cli_features(argc - 1, argv + 1);
    if (!strcmp(argv[1], "maximize")) return cli_maximize(argc - 1, argv + 1);
    if (!strcmp(argv[1], "embed")) return cli_embed(argc - 1, argv + 1);
    if (!strcmp(argv[1], "views")) return cli_views(argc - 1, argv + 1);
    if (!strcmp(argv[1], "serve")) return cli_serve(argc - 1, argv + 1);
    fprintf(stderr, "xaid: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
