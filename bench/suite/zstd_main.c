/* zstd (the zstd.c single-file library) as a compressor: compresses generated text-like
 * data at levels 1, 3 and 9, decompresses each result and checks it round-trips.
 * argv[1]: the input size in KB (default 16384). Prints the compressed sizes and an FNV-1a
 * hash of each compressed stream (zstd's output is deterministic for a given input, level
 * and version, single-threaded: the amalgamation turns threads off only under
 * __EMSCRIPTEN__, its one use of that macro, so run.py defines it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zstd.h"

static unsigned fnv1a(const unsigned char *p, size_t n) {
    unsigned h = 2166136261u;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 16777619u;
    return h;
}

/* Words from a small pseudo-random vocabulary, with numbers now and then: compressible
 * like prose or logs, not trivially. */
static void generate(unsigned char *out, size_t n) {
    static const char *words[] = {"the", "of", "and", "data", "value", "compress", "stream",
                                  "block", "window", "match", "literal", "entropy", "table",
                                  "frame", "level", "error", "offset", "length", "a", "to"};
    unsigned seed = 7;
    size_t i = 0;
    while (i < n) {
        seed = seed * 1103515245u + 12345u;
        char tmp[32];
        int len = (seed >> 24) % 9 == 0 ? snprintf(tmp, sizeof tmp, "%u", (seed >> 8) % 100000)
                                        : snprintf(tmp, sizeof tmp, "%s", words[(seed >> 16) % 20]);
        tmp[len++] = (seed >> 4) % 11 == 0 ? '\n' : ' ';
        for (int k = 0; k < len && i < n; k++) out[i++] = (unsigned char)tmp[k];
    }
}

int main(int argc, char **argv) {
    size_t kb = argc > 1 ? (size_t)atol(argv[1]) : 16384;
    if (kb < 1 || kb > 1 << 20) return 2;
    size_t n = kb * 1024;
    unsigned char *src = malloc(n), *back = malloc(n);
    size_t cap = ZSTD_compressBound(n);
    unsigned char *dst = malloc(cap);
    if (!src || !back || !dst) return 1;
    generate(src, n);
    static const int levels[] = {1, 3, 9};
    for (int l = 0; l < 3; l++) {
        size_t c = ZSTD_compress(dst, cap, src, n, levels[l]);
        if (ZSTD_isError(c)) { fprintf(stderr, "compress: %s\n", ZSTD_getErrorName(c)); return 1; }
        size_t d = 0;
        for (int rep = 0; rep < 3; rep++) {
            d = ZSTD_decompress(back, n, dst, c);
            if (ZSTD_isError(d) || d != n || memcmp(back, src, n) != 0) {
                fprintf(stderr, "level %d: round trip failed\n", levels[l]);
                return 1;
            }
        }
        printf("level %d: %zu -> %zu bytes, fnv1a %08x\n", levels[l], n, c, fnv1a(dst, c));
    }
    free(src); free(back); free(dst);
    return 0;
}
