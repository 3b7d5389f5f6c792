/* xxHash (xxhash.h, header-only) as a hash kernel: XXH32, XXH64, XXH3-64 and XXH3-128 over a
 * generated buffer, whole and in many short keys (the hash-table case). argv[1]: the buffer
 * size in KB (default 32768). Prints each digest, folded over the rounds.
 * Built with XXH_VECTOR=0 (XXH_SCALAR) everywhere: the wasm has no SIMD, so the native
 * builds run the same scalar C rather than xxHash's SSE2 path. */
#include <stdio.h>
#include <stdlib.h>

#define XXH_INLINE_ALL
#include "xxhash.h"

int main(int argc, char **argv) {
    size_t kb = argc > 1 ? (size_t)atol(argv[1]) : 32768;
    if (kb < 1 || kb > 1 << 20) return 2;
    size_t n = kb * 1024;
    unsigned char *buf = malloc(n);
    if (!buf) return 1;
    unsigned long long seed = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < n; i++) {
        seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17;
        buf[i] = (unsigned char)(seed >> 32);
    }
    unsigned h32 = 0;
    unsigned long long h64 = 0, h3 = 0, h128 = 0;
    for (int round = 0; round < 4; round++) {
        h32 ^= XXH32(buf, n, h32 + round);
        h64 ^= XXH64(buf, n, h64 + round);
        h3 ^= XXH3_64bits_withSeed(buf, n, h3 + round);
        XXH128_hash_t w = XXH3_128bits_withSeed(buf, n, h128 + round);
        h128 ^= w.low64 ^ w.high64;
    }
    printf("whole: xxh32 %08x xxh64 %016llx xxh3 %016llx xxh128 %016llx\n", h32, h64, h3, h128);
    /* short keys: every length 1..64 at every offset step of 7 */
    unsigned long long keys = 0, acc = 0;
    for (size_t off = 0; off + 64 <= n; off += 7)
        for (size_t len = 1 + off % 5; len <= 64; len += 5) {
            acc += XXH3_64bits(buf + off, len) ^ XXH32(buf + off, len, (unsigned)len);
            keys++;
        }
    printf("short keys: %llu, sum %016llx\n", keys, acc);
    free(buf);
    return 0;
}
