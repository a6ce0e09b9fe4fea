/* blas_tune.c - see blas_tune.h. */
#include "blas_tune.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* OpenBLAS cores that are a fallback on any AVX2-capable x86-64 CPU. */
static int generic_core(const char *name)
{
    static const char *const generic[] = {"Prescott",  "Core2",  "Penryn", "Dunnington",
                                          "Nehalem",   "Atom",   "Katmai", "Coppermine",
                                          "Northwood", "Banias", NULL};
    for (int i = 0; generic[i]; i++)
        if (strcasecmp(name, generic[i]) == 0) return 1;
    return 0;
}

const char *xai_blas_better_core(void)
{
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    const char *now = openblas_get_corename();
    if (!now || !generic_core(now)) return NULL;
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
        return "SkylakeX";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
#endif
    return NULL;
}

void xai_blas_tune(char **argv)
{
    if (getenv("OPENBLAS_CORETYPE") || getenv("XAI_BLAS_TUNED")) return;
    const char *core = xai_blas_better_core();
    if (!core) return;
    if (setenv("OPENBLAS_CORETYPE", core, 1) || setenv("XAI_BLAS_TUNED", "1", 1)) return;
    execv("/proc/self/exe", argv);
    unsetenv("OPENBLAS_CORETYPE"); /* exec failed: carry on with OpenBLAS's own choice */
}

void xai_blas_set_threads(int n)
{
    openblas_set_num_threads(n);
}
