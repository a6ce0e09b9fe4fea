/*
 * replay.c - runs files through a fuzz target without libFuzzer: the corpus and regression
 * tests of ctest (fuzz/CMakeLists.txt), in every build, sanitizers included.
 *
 *   replay_<target> PATH...   each PATH a file or a folder of files (hidden files and
 *                             README.md skipped), in name order
 *
 * Exits 0 when every input ran (a crash or a failed check aborts), 2 when a path cannot be read.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return perror(path), 2;
    size_t cap = 1 << 16, len = 0, n;
    uint8_t *buf = malloc(cap);
    while (buf && (n = fread(buf + len, 1, cap - len, f)) > 0)
        if ((len += n) == cap) buf = realloc(buf, cap *= 2);
    fclose(f);
    if (!buf) return fprintf(stderr, "%s: out of memory\n", path), 2;
    /* An exact-size copy, so that a read past the end is caught by AddressSanitizer. */
    uint8_t *exact = malloc(len ? len : 1);
    if (!exact) return free(buf), 2;
    memcpy(exact, buf, len);
    free(buf);
    LLVMFuzzerTestOneInput(exact, len);
    free(exact);
    return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static int run_dir(const char *dir, int *count)
{
    struct dirent **names;
    int n = scandir(dir, &names, NULL, by_name), rc = 0;
    if (n < 0) return perror(dir), 2;
    for (int i = 0; i < n; i++) {
        const char *name = names[i]->d_name;
        char path[4096];
        if (!rc && name[0] != '.' && strcmp(name, "README.md") &&
            snprintf(path, sizeof path, "%s/%s", dir, name) < (int)sizeof path) {
            rc = run_file(path);
            ++*count;
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv)
{
    int count = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st)) return perror(argv[i]), 2;
        int rc = S_ISDIR(st.st_mode) ? run_dir(argv[i], &count) : run_file(argv[i]);
        if (!S_ISDIR(st.st_mode)) count++;
        if (rc) return rc;
    }
    printf("%d inputs ran\n", count);
    return 0;
}
