/* The `wasmaot` command's native launcher (driver/launcher.py builds and installs it).
 *
 * Python's own start-up takes about 10 ms, so a `wasmaot run` of a cached module
 * cannot start faster than that through the Python entry point.  This program takes
 * the cache-hit path of `wasmaot run` itself: it finds the cached executable exactly
 * as wasmaot/commands/run.py's fast_run and cached_executable do, and execs it with
 * the environment grant_environment gives.  Everything else (another command, an
 * option it does not take, a text module, a file it cannot read, a fingerprint that
 * is not remembered, a cache miss, any doubt) goes to the Python CLI with the
 * original arguments, which builds, runs or reports as it always does.  Python never
 * execs this launcher, so there is no loop.
 *
 * Every name, path and constant it shares with Python comes from the generated
 * launcher_config.h (driver/launcher.py renders it from the Python definitions);
 * this file hard-codes none of them.  tests/driver/test_launcher.py checks that both
 * sides pick the same executable and build the same environment.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "launcher_config.h"

extern char **environ;

/* ---- SHA-256 (FIPS 180-4): static musl has no crypto library ---------------- */

typedef struct {
    uint32_t h[8];
    uint8_t block[64];
    size_t used;     /* bytes in `block` */
    uint64_t total;  /* bytes hashed so far */
    int accelerated;  /* the CPU's SHA instructions are used */
} Sha256;

static const uint32_t K256[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static uint32_t ror(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

/* The compression function over `n` 64-byte blocks, in portable C. */
static void sha256_blocks_generic(uint32_t state[8], const uint8_t *p, size_t n) {
    for (; n; n--, p += 64) {
        uint32_t w[64];
        for (int i = 0; i < 16; i++)
            w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
                   (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
        for (int i = 16; i < 64; i++) {
            uint32_t s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ (w[i - 15] >> 3);
            uint32_t s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16] + s0 + w[i - 7] + s1;
        }
        uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
        uint32_t e = state[4], f = state[5], g = state[6], h = state[7];
        for (int i = 0; i < 64; i++) {
            uint32_t t1 = h + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & f) ^ (~e & g)) + K256[i] + w[i];
            uint32_t t2 = (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
            h = g; g = f; f = e; e = d + t1;
            d = c; c = b; b = a; a = t1 + t2;
        }
        state[0] += a; state[1] += b; state[2] += c; state[3] += d;
        state[4] += e; state[5] += f; state[6] += g; state[7] += h;
    }
}

#if defined(__x86_64__) && !defined(WASMAOT_LAUNCHER_SHA256_GENERIC)
/* The same with the x86 SHA extensions, where the CPU has them: the module is hashed
 * on every run, and a megabyte takes the portable code 3-4 ms, these under one.
 * The state is kept as the instructions want it: ABEF and CDGH. */
#include <cpuid.h>
#include <immintrin.h>

__attribute__((target("sha,sse4.1,ssse3")))
static void sha256_blocks_shani(uint32_t state[8], const uint8_t *p, size_t n) {
    const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
    __m128i dcba = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&state[0]), 0xB1);  /* CDAB */
    __m128i hgfe = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&state[4]), 0x1B);  /* EFGH */
    __m128i abef = _mm_alignr_epi8(dcba, hgfe, 8);
    __m128i cdgh = _mm_blend_epi16(hgfe, dcba, 0xF0);
    for (; n; n--, p += 64) {
        __m128i abef0 = abef, cdgh0 = cdgh, w[4];  /* w[g % 4]: message words 4g..4g+3 */
        for (int g = 0; g < 16; g++) {
            __m128i x;
            if (g < 4) {
                x = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * g)), bswap);
            } else {  /* W[t] = s1(W[t-2]) + W[t-7] + s0(W[t-15]) + W[t-16] */
                x = _mm_sha256msg1_epu32(w[g & 3], w[(g - 3) & 3]);
                x = _mm_add_epi32(x, _mm_alignr_epi8(w[(g - 1) & 3], w[(g - 2) & 3], 4));
                x = _mm_sha256msg2_epu32(x, w[(g - 1) & 3]);
            }
            w[g & 3] = x;
            __m128i wk = _mm_add_epi32(x, _mm_loadu_si128((const __m128i *)&K256[4 * g]));
            cdgh = _mm_sha256rnds2_epu32(cdgh, abef, wk);
            abef = _mm_sha256rnds2_epu32(abef, cdgh, _mm_shuffle_epi32(wk, 0x0E));
        }
        abef = _mm_add_epi32(abef, abef0);
        cdgh = _mm_add_epi32(cdgh, cdgh0);
    }
    __m128i feba = _mm_shuffle_epi32(abef, 0x1B);
    __m128i dchg = _mm_shuffle_epi32(cdgh, 0xB1);
    _mm_storeu_si128((__m128i *)&state[0], _mm_blend_epi16(feba, dchg, 0xF0));  /* DCBA */
    _mm_storeu_si128((__m128i *)&state[4], _mm_alignr_epi8(dchg, feba, 8));     /* HGFE */
}

static int cpu_has_sha(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_SSE4_1) || !(c & bit_SSSE3)) return 0;
    return __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & bit_SHA);
}
#else
static int cpu_has_sha(void) { return 0; }
#define sha256_blocks_shani sha256_blocks_generic
#endif

static void sha256_blocks(Sha256 *s, const uint8_t *p, size_t n) {
    if (s->accelerated)
        sha256_blocks_shani(s->h, p, n);
    else
        sha256_blocks_generic(s->h, p, n);
}

static void sha256_init(Sha256 *s) {
    static const uint32_t h0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memcpy(s->h, h0, sizeof h0);
    s->used = 0;
    s->total = 0;
    s->accelerated = cpu_has_sha();
}

static void sha256_update(Sha256 *s, const void *data, size_t n) {
    const uint8_t *p = data;
    s->total += n;
    if (s->used) {
        size_t take = 64 - s->used < n ? 64 - s->used : n;
        memcpy(s->block + s->used, p, take);
        s->used += take;
        p += take;
        n -= take;
        if (s->used < 64) return;
        sha256_blocks(s, s->block, 1);
        s->used = 0;
    }
    sha256_blocks(s, p, n / 64);
    p += n / 64 * 64;
    n %= 64;
    memcpy(s->block, p, n);
    s->used = n;
}

/* The digest as lowercase hex (65 bytes with the NUL), as Python's hexdigest(). */
static void sha256_hex(Sha256 *s, char out[65]) {
    uint64_t bits = s->total * 8;
    uint8_t pad[72] = {0x80};
    size_t padlen = (s->used < 56 ? 56 : 120) - s->used;
    for (int i = 0; i < 8; i++) pad[padlen + i] = (uint8_t)(bits >> (56 - 8 * i));
    sha256_update(s, pad, padlen + 8);
    for (int i = 0; i < 8; i++) snprintf(out + 8 * i, 9, "%08x", s->h[i]);
}

#ifdef WASMAOT_LAUNCHER_SHA256_FILTER
/* Tests build this instead of the launcher: the SHA-256 of stdin, in hex. */
int main(void) {
    Sha256 s;
    uint8_t buf[4096];
    size_t n;
    char hex[65];
    sha256_init(&s);
    while ((n = fread(buf, 1, sizeof buf, stdin)) > 0) sha256_update(&s, buf, n);
    sha256_hex(&s, hex);
    puts(hex);
    return 0;
}
#else

/* ---- falling back to Python ------------------------------------------------------ */

static char **original_argv;

/* The Python CLI with our arguments unchanged (it repeats what we did and reports). */
static _Noreturn void fall_back(void) {
    int argc = 0;
    while (original_argv[argc]) argc++;
    size_t fixed = sizeof WL_PYTHON_ARGV / sizeof WL_PYTHON_ARGV[0];
    char **argv = calloc(fixed + (size_t)argc + 1, sizeof *argv);
    if (argv) {
        memcpy(argv, WL_PYTHON_ARGV, sizeof WL_PYTHON_ARGV);
        memcpy(argv + fixed, original_argv + 1, (size_t)argc * sizeof *argv);  /* with the NULL */
        execv(WL_PYTHON_ARGV[0], argv);
    }
    fprintf(stderr, "wasmaot: cannot start Python (%s): %s\n", WL_PYTHON_ARGV[0], strerror(errno));
    exit(127);
}

/* Memory for what is kept until the exec; running out is a reason to let Python try. */
static void *must_alloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) fall_back();
    return p;
}

static char *concat(const char *a, const char *b, const char *c) {
    size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
    char *out = must_alloc(la + lb + lc + 1);
    memcpy(out, a, la);
    memcpy(out + la, b, lb);
    memcpy(out + la + lb, c, lc + 1);
    return out;
}

/* os.path.join(a, b) for a relative b: a separator unless `a` is empty or ends in one. */
static char *join(const char *a, const char *b) {
    size_t la = strlen(a);
    return concat(a, la == 0 || a[la - 1] == '/' ? "" : "/", b);
}

/* ---- the command line, as fast_run reads it --------------------------------------- */

typedef struct {
    char *items;  /* the variable's value: escaped items joined by WL_LIST_SEPARATOR */
    size_t len, count;
} GrantList;

typedef struct {
    const char *file;
    char **args;  /* after WL_ARGS_SEPARATOR, NULL-terminated (argv's own tail) */
    int opt_level, deterministic;
    GrantList lists[WL_KINDS];  /* indexed by WL_KIND_* */
} Request;

/* Appends `n` bytes of `value` to the list's current item, escaping WL_ESCAPABLE.
 * The sizes cannot wrap: every value is part of argv, which the kernel bounds (ARG_MAX). */
static void append_escaped(GrantList *l, const char *value, size_t n) {
    char *grown = realloc(l->items, l->len + 2 * n + 1);
    if (!grown) fall_back();
    l->items = grown;
    for (size_t i = 0; i < n; i++) {
        if (memchr(WL_ESCAPABLE, value[i], sizeof WL_ESCAPABLE - 1)) l->items[l->len++] = WL_ESCAPE;
        l->items[l->len++] = value[i];
    }
    l->items[l->len] = 0;
}

static void append_raw(GrantList *l, const char *s) {
    size_t n = strlen(s);
    char *grown = realloc(l->items, l->len + n + 1);
    if (!grown) fall_back();
    l->items = grown;
    memcpy(l->items + l->len, s, n + 1);
    l->len += n;
}

/* One grant as RunGrants.parse takes it; 0 for one it refuses (Python reports it). */
static int add_grant(Request *r, int kind, const char *spec) {
    GrantList *l = &r->lists[kind];
    if (l->count == WL_MAX_GRANTS) return 0;  /* too many: the executable says so */
    size_t n = strlen(spec);
    if (kind == WL_KIND_DIR || kind == WL_KIND_RO_DIR) {
        /* HOST[::GUEST], split at the first separator; GUEST defaults to HOST. */
        const char *sep = strstr(spec, WL_GUEST_SEPARATOR);
        size_t host = sep ? (size_t)(sep - spec) : n;
        const char *guest = sep ? sep + strlen(WL_GUEST_SEPARATOR) : spec;
        if (host == 0 || *guest == 0) return 0;  /* Grant refuses an empty path */
        if (l->count) append_raw(l, WL_LIST_SEPARATOR);
        append_escaped(l, spec, host);
        append_raw(l, WL_GUEST_SEPARATOR);
        append_escaped(l, guest, strlen(guest));
    } else {
        if (n == 0 || (kind == WL_KIND_ENV && spec[0] == WL_ENV_NAME_END)) return 0;  /* no NAME, no address */
        if (l->count) append_raw(l, WL_LIST_SEPARATOR);
        append_escaped(l, spec, n);
    }
    l->count++;
    return 1;
}

/* fast_run's rules over argv[2...]; 0 for anything it would not take either. */
static int parse_request(char **argv, Request *r) {
    memset(r, 0, sizeof *r);
    r->opt_level = WL_DEFAULT_OPT_LEVEL;
    for (size_t i = 0; argv[i]; i++) {
        const char *a = argv[i];
        if (strcmp(a, WL_ARGS_SEPARATOR) == 0) {
            r->args = argv + i + 1;
            break;
        }
        int kind = -1;
        for (size_t k = 0; k < sizeof WL_GRANT_OPTIONS / sizeof WL_GRANT_OPTIONS[0]; k++)
            if (strcmp(a, WL_GRANT_OPTIONS[k].option) == 0) kind = WL_GRANT_OPTIONS[k].kind;
        if (kind >= 0 && argv[i + 1]) {
            if (!add_grant(r, kind, argv[i + 1])) return 0;
            i++;
            continue;
        }
        int level = -1;
        for (int o = 0; o < 4; o++)
            if (strcmp(a, WL_OPT_LEVEL_OPTIONS[o]) == 0) level = o;
        if (level >= 0)
            r->opt_level = level;
        else if (strcmp(a, WL_DETERMINISTIC_OPTION) == 0)
            r->deterministic = 1;
        else if (a[0] == '-' || r->file)
            return 0;
        else
            r->file = a;
    }
    if (!r->file) return 0;
    if (!r->args) {
        static char *none[] = {NULL};
        r->args = none;
    }
    return 1;
}

/* Whether `s` ends with one of the `count` suffixes (in any case, if `any_case`). */
static int ends_with_any(const char *s, const char *const *suffixes, size_t count,
                         int any_case) {
    size_t n = strlen(s);
    for (size_t i = 0; i < count; i++) {
        size_t m = strlen(suffixes[i]);
        if (n >= m && (any_case ? strncasecmp(s + n - m, suffixes[i], m)
                                : memcmp(s + n - m, suffixes[i], m)) == 0)
            return 1;
    }
    return 0;
}

/* A text module (read_module_bytes converts it: Python's work). */
static int is_text_path(const char *path) {
    return ends_with_any(path, WL_TEXT_SUFFIXES,
                         sizeof WL_TEXT_SUFFIXES / sizeof WL_TEXT_SUFFIXES[0], 1);
}

/* ---- the cache ----------------------------------------------------------------------- */

/* cache_dir(): $XDG_CACHE_HOME, else os.path.expanduser("~") + "/.cache", + CACHE_NAME. */
static char *cache_dir(void) {
    const char *xdg = getenv("XDG_CACHE_HOME");
    if (xdg && *xdg) return join(xdg, WL_CACHE_NAME);
    const char *home = getenv("HOME");
    if (!home) {
        struct passwd *pw = getpwuid(getuid());
        if (!pw || !pw->pw_dir) fall_back();  /* expanduser would keep "~" */
        home = pw->pw_dir;
    }
    if (!*home) home = "/";  /* expanduser: an empty home is the root */
    return join(join(home, WL_DOT_CACHE), WL_CACHE_NAME);
}

typedef struct {
    char *name;  /* relative to its root, '/'-separated */
    long long size, mtime_ns;
} SourceFile;

typedef struct {
    SourceFile *files;
    size_t count, cap;
} Listing;

static int has_fingerprinted_suffix(const char *name) {
    return ends_with_any(name, WL_FINGERPRINTED,
                         sizeof WL_FINGERPRINTED / sizeof WL_FINGERPRINTED[0], 0);
}

/* Python encodes names as UTF-8 and sorts them as text; for ASCII, byte order is the
 * same.  Any other name is a doubt (Python's own treatment of it is Python's). */
static int is_ascii(const char *s) {
    for (; *s; s++)
        if ((unsigned char)*s >= 0x80) return 0;
    return 1;
}

/* _source_files(): every fingerprinted file under root/rel (directories not through
 * symbolic links, SKIPPED_DIR skipped), each with stat() through links.  0 on any error. */
static int list_sources(const char *root, const char *rel, Listing *out) {
    char *dir = *rel ? join(root, rel) : (char *)root;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd < 0 ? NULL : fdopendir(fd);
    if (!d) return 0;
    int ok = 1;
    struct dirent *e;
    errno = 0;
    while (ok && (e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        char *name = *rel ? join(rel, e->d_name) : concat(e->d_name, "", "");
        int is_dir = e->d_type == DT_DIR;
        struct stat st;
        if (e->d_type == DT_UNKNOWN) {  /* as DirEntry.is_dir(follow_symlinks=False) */
            if (fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) { ok = 0; break; }
            is_dir = S_ISDIR(st.st_mode);
        }
        if (is_dir) {
            if (strcmp(e->d_name, WL_SKIPPED_DIR) != 0) ok = list_sources(root, name, out);
        } else if (has_fingerprinted_suffix(e->d_name)) {
            if (!is_ascii(name) || fstatat(fd, e->d_name, &st, 0) != 0) { ok = 0; break; }
            if (out->count == out->cap) {
                out->cap = out->cap ? 2 * out->cap : 256;
                out->files = realloc(out->files, out->cap * sizeof *out->files);
                if (!out->files) fall_back();
            }
            out->files[out->count++] = (SourceFile){
                name, (long long)st.st_size,
                (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec};
        }
        errno = 0;
    }
    if (errno) ok = 0;  /* readdir failed: os.scandir would raise */
    closedir(d);
    return ok;
}

static int by_name(const void *a, const void *b) {
    return strcmp(((const SourceFile *)a)->name, ((const SourceFile *)b)->name);
}

/* compute_fingerprint()'s remembered answer: the stat digest of the sources names the
 * memo.  NULL when the memo is missing or not what Python writes (Python recomputes). */
static char *remembered_fingerprint(const char *cache) {
    Sha256 stats;
    sha256_init(&stats);
    for (size_t r = 0; r < sizeof WL_FINGERPRINT_ROOTS / sizeof WL_FINGERPRINT_ROOTS[0]; r++) {
        const char *root = WL_FINGERPRINT_ROOTS[r];
        struct stat st;
        if (stat(root, &st) != 0 || !S_ISDIR(st.st_mode)) continue;  /* os.path.isdir */
        Listing listing = {0};
        if (!list_sources(root, "", &listing)) return NULL;
        qsort(listing.files, listing.count, sizeof *listing.files, by_name);
        sha256_update(&stats, root, strlen(root));
        for (size_t i = 0; i < listing.count; i++) {
            char record[64];
            const SourceFile *f = &listing.files[i];
            sha256_update(&stats, f->name, strlen(f->name) + 1);  /* with its NUL */
            int n = snprintf(record, sizeof record, "%lld%c%lld%c", f->size, 0, f->mtime_ns, 0);
            sha256_update(&stats, record, (size_t)n);
        }
    }
    char hex[65];
    sha256_hex(&stats, hex);
    hex[WL_MEMO_NAME_LENGTH] = 0;
    char *memo = join(join(cache, WL_FINGERPRINTS_DIR), hex);
    int fd = open(memo, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return NULL;
    char *fingerprint = must_alloc(WL_FINGERPRINT_LENGTH + 2);
    ssize_t n = read(fd, fingerprint, WL_FINGERPRINT_LENGTH + 1);
    close(fd);
    if (n != WL_FINGERPRINT_LENGTH) return NULL;
    for (int i = 0; i < WL_FINGERPRINT_LENGTH; i++)
        if (!strchr("0123456789abcdef", fingerprint[i]) || !fingerprint[i]) return NULL;
    fingerprint[n] = 0;
    return fingerprint;
}

/* The whole file; NULL if it is not a regular file or cannot be read. */
static uint8_t *read_file(const char *path, size_t *len) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0) return NULL;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {  /* fast_run: os.path.isfile */
        close(fd);
        return NULL;
    }
    size_t cap = (size_t)st.st_size + 1, n = 0;  /* +1: sees the end without another call */
    uint8_t *data = must_alloc(cap);
    for (;;) {
        if (n == cap) {
            cap *= 2;
            data = realloc(data, cap);
            if (!data) fall_back();
        }
        ssize_t got = read(fd, data + n, cap - n);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) {
            close(fd);
            return NULL;
        }
        if (got == 0) break;
        n += (size_t)got;
    }
    close(fd);
    *len = n;
    return data;
}

/* digest(): SHA-256 of the parts, each after its length as 8 bytes little-endian. */
static void digest_part(Sha256 *s, const void *data, size_t n) {
    uint8_t len[8];
    for (int i = 0; i < 8; i++) len[i] = (uint8_t)((uint64_t)n >> (8 * i));
    sha256_update(s, len, 8);
    sha256_update(s, data, n);
}

/* ---- the executable's environment ------------------------------------------------ */

/* grant_environment(): ours without any WASMAOT_* variable, then the grants' lists.
 * Python's os.environ keeps a name's first value and skips entries without '=', and
 * execve refuses an empty name: such an environment is a doubt. */
static char **grant_environment(const Request *r) {
    size_t n = 0;
    while (environ[n]) n++;
    char **env = must_alloc((n + WL_KINDS + 1) * sizeof *env);
    size_t out = 0;
    for (size_t i = 0; i < n; i++) {
        const char *eq = strchr(environ[i], '=');
        if (!eq || eq == environ[i]) fall_back();
        size_t name = (size_t)(eq - environ[i]) + 1;  /* with the '=' */
        for (size_t j = 0; j < i; j++)
            if (strncmp(environ[j], environ[i], name) == 0) fall_back();  /* a name twice */
        if (strncmp(environ[i], WL_VAR_PREFIX, strlen(WL_VAR_PREFIX)) != 0) env[out++] = environ[i];
    }
    for (int k = 0; k < WL_KINDS; k++)
        if (r->lists[k].count) env[out++] = concat(WL_GRANT_VARS[k], "=", r->lists[k].items);
    env[out] = NULL;
    return env;
}

static const char *basename_of(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

int main(int argc, char **argv) {
    original_argv = argv;
    if (argc <= 2 || strcmp(argv[1], WL_RUN_COMMAND) != 0) fall_back();
    Request r;
    if (!parse_request(argv + 2, &r) || is_text_path(r.file)) fall_back();
    char *cache = cache_dir();
    char *fingerprint = remembered_fingerprint(cache);
    size_t len;
    uint8_t *data = fingerprint ? read_file(r.file, &len) : NULL;
    if (!data) fall_back();

    const char *flags = WL_RUN_FLAGS[r.opt_level][r.deterministic];
    Sha256 key;
    char hex[65];
    sha256_init(&key);
    digest_part(&key, fingerprint, strlen(fingerprint));
    digest_part(&key, flags, strlen(flags));
    digest_part(&key, data, len);
    sha256_hex(&key, hex);
    hex[WL_KEY_LENGTH] = 0;
    char *exe = join(join(cache, WL_EXE_DIR), hex);

    size_t nargs = 0;
    while (r.args[nargs]) nargs++;
    char **exe_argv = must_alloc((nargs + 2) * sizeof *exe_argv);
    exe_argv[0] = (char *)basename_of(r.file);
    memcpy(exe_argv + 1, r.args, (nargs + 1) * sizeof *exe_argv);
    execve(exe, exe_argv, grant_environment(&r));
    fall_back();  /* not cached (or not runnable): Python builds it, or says why */
}
#endif
