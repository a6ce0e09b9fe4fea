/*
 * blas_tune.h - choosing OpenBLAS's kernel when its own CPU detection falls back.
 *
 * Debian 12's OpenBLAS (0.3.21, DYNAMIC_ARCH) does not know recent Xeons and falls back to
 * its generic "Prescott" kernels, several times slower than the AVX-512 ones the CPU runs.
 * OpenBLAS reads OPENBLAS_CORETYPE once, when the library is loaded, so the only way to fix
 * the choice from inside a program is to set the variable and execute the program again.
 * A value already set in the environment is always respected.
 */
#ifndef XAI_BLAS_TUNE_H
#define XAI_BLAS_TUNE_H

/* The core type this CPU should use ("SkylakeX", "Haswell"), or NULL when OpenBLAS's own
 * choice is already at least as good or the CPU has nothing better. */
const char *xai_blas_better_core(void);

/* When OPENBLAS_CORETYPE is unset and a better core exists, sets it and re-executes
 * /proc/self/exe with argv. Returns (doing nothing) otherwise, or when exec fails. */
void xai_blas_tune(char **argv);

/* OpenBLAS threads per call. A server's workers each call sgemm from their own thread, so they
 * ask for 1: the CPUs are shared out by the workers, and results do not depend on their number. */
void xai_blas_set_threads(int n);

#endif
