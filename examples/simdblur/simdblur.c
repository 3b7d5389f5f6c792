/* simdblur [WIDTH HEIGHT ROUNDS]: image kernels written with wasm_simd128.h
 * intrinsics, over a generated 8-bit grey image (default 256 x 256, 4 rounds).
 * Each round:
 *   blur       a 3x3 binomial blur ([1 2 1] x [1 2 1] / 16, edges clamped):
 *              u8 -> u16 extends, adds, shifts, a saturating narrow back to u8;
 *   threshold  t = LUT[p >> 3] with a 16-entry table, so the bright half of the
 *              levels (index 16..31) maps to 0: i8x16.swizzle's out-of-range rule;
 *   popcount   the set bits of every pixel, by two nibble lookups (swizzle) and
 *              pairwise widening adds;
 *   dot        sum of t[x] * w[x] for a row of signed 16-bit weights, with
 *              i32x4.dot_i16x8_s.
 * It prints one line per kernel, checksums over every round.
 *
 * Built without -msimd128 (or natively) the same kernels run as plain C, and
 * must print the same lines: that is the test of the intrinsics path, and the
 * native side of bench/throughput.py (vectorized by the host compiler where it can).
 *
 * Build and run (as tests/wasi/test_simd_examples.py does):
 *   python -m ziglang cc -target wasm32-wasi -O2 -msimd128 examples/simdblur/simdblur.c -o simdblur.wasm
 *   wasmaot build simdblur.wasm -o simdblur && ./simdblur
 * and compare with `wasmtime simdblur.wasm`: the output is the same bytes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef __wasm_simd128__
#include <wasm_simd128.h>
#endif

static const uint8_t LUT[16] = {0, 9, 21, 34, 48, 63, 79, 96, 114, 133, 153, 174, 196, 219, 243, 255};
static const uint8_t POP4[16] = {0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4};

struct image {
  int w, h;
  uint8_t *px;     /* w * h pixels */
  uint16_t *hsum;  /* the horizontal pass: p[x-1] + 2 p[x] + p[x+1] */
  uint8_t *out;    /* the blurred image, swapped with px after each round */
  uint8_t *thr;    /* the threshold map */
  int16_t *weight; /* w weights in -3..3 */
};

static uint32_t xorshift(uint32_t *s) {
  uint32_t x = *s;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  return *s = x;
}

/* Gradients plus noise, so the blur has edges to smooth and every level occurs. */
static void generate(struct image *im) {
  uint32_t seed = 2463534242u;
  for (int y = 0; y < im->h; y++)
    for (int x = 0; x < im->w; x++) {
      uint32_t r = xorshift(&seed);
      int v = (x * 255 / im->w + y * 3) % 256;
      if ((r & 7) == 0) v = (int)(r >> 24);
      im->px[(size_t)y * im->w + x] = (uint8_t)v;
    }
  for (int x = 0; x < im->w; x++) im->weight[x] = (int16_t)(x % 7 - 3);
}

static uint16_t hsum_at(const uint8_t *row, int w, int x) {
  int l = x > 0 ? x - 1 : 0, r = x < w - 1 ? x + 1 : w - 1;
  return (uint16_t)(row[l] + 2 * row[x] + row[r]);
}

static void blur_rows(struct image *im) {
  int w = im->w;
  for (int y = 0; y < im->h; y++) {
    const uint8_t *row = im->px + (size_t)y * w;
    uint16_t *dst = im->hsum + (size_t)y * w;
    int x = 1;
#ifdef __wasm_simd128__
    for (; x + 17 <= w; x += 16) {
      v128_t l = wasm_v128_load(row + x - 1), c = wasm_v128_load(row + x),
             r = wasm_v128_load(row + x + 1);
      v128_t lo = wasm_i16x8_add(wasm_i16x8_add(wasm_u16x8_extend_low_u8x16(l),
                                                wasm_u16x8_extend_low_u8x16(r)),
                                 wasm_i16x8_shl(wasm_u16x8_extend_low_u8x16(c), 1));
      v128_t hi = wasm_i16x8_add(wasm_i16x8_add(wasm_u16x8_extend_high_u8x16(l),
                                                wasm_u16x8_extend_high_u8x16(r)),
                                 wasm_i16x8_shl(wasm_u16x8_extend_high_u8x16(c), 1));
      wasm_v128_store(dst + x, lo);
      wasm_v128_store(dst + x + 8, hi);
    }
#endif
    for (; x < w - 1; x++) dst[x] = (uint16_t)(row[x - 1] + 2 * row[x] + row[x + 1]);
    dst[0] = hsum_at(row, w, 0);
    dst[w - 1] = hsum_at(row, w, w - 1);
  }
}

static void blur_cols(struct image *im) {
  int w = im->w, h = im->h;
  for (int y = 0; y < h; y++) {
    const uint16_t *up = im->hsum + (size_t)(y > 0 ? y - 1 : 0) * w;
    const uint16_t *mid = im->hsum + (size_t)y * w;
    const uint16_t *down = im->hsum + (size_t)(y < h - 1 ? y + 1 : h - 1) * w;
    uint8_t *dst = im->out + (size_t)y * w;
    int x = 0;
#ifdef __wasm_simd128__
    const v128_t round = wasm_i16x8_splat(8);
    for (; x + 16 <= w; x += 16) {
      v128_t s0 = wasm_i16x8_add(wasm_i16x8_add(wasm_v128_load(up + x), wasm_v128_load(down + x)),
                                 wasm_i16x8_add(wasm_i16x8_shl(wasm_v128_load(mid + x), 1), round));
      v128_t s1 = wasm_i16x8_add(
          wasm_i16x8_add(wasm_v128_load(up + x + 8), wasm_v128_load(down + x + 8)),
          wasm_i16x8_add(wasm_i16x8_shl(wasm_v128_load(mid + x + 8), 1), round));
      wasm_v128_store(dst + x, wasm_u8x16_narrow_i16x8(wasm_u16x8_shr(s0, 4),
                                                       wasm_u16x8_shr(s1, 4)));
    }
#endif
    for (; x < w; x++) dst[x] = (uint8_t)((up[x] + 2 * mid[x] + down[x] + 8) >> 4);
  }
}

struct sums {
  uint32_t popcount, dot, thr;
};

/* The threshold map of the blurred image (its byte sum per row folded into a
 * hash), its bit count and its dot product with the weights. */
static void analyse(struct image *im, struct sums *s) {
  int w = im->w;
  for (int y = 0; y < im->h; y++) {
    const uint8_t *row = im->out + (size_t)y * w;
    uint8_t *t = im->thr + (size_t)y * w;
    uint32_t pop = 0, dot = 0, tsum = 0;
    int x = 0;
#ifdef __wasm_simd128__
    const v128_t lut = wasm_v128_load(LUT), pop4 = wasm_v128_load(POP4);
    const v128_t nibble = wasm_i8x16_splat(0x0f);
    v128_t pops = wasm_i32x4_splat(0), dots = wasm_i32x4_splat(0), tsums = pops;
    for (; x + 16 <= w; x += 16) {
      v128_t p = wasm_v128_load(row + x);
      v128_t tv = wasm_i8x16_swizzle(lut, wasm_u8x16_shr(p, 3));
      wasm_v128_store(t + x, tv);
      tsums = wasm_i32x4_add(tsums, wasm_u32x4_extadd_pairwise_u16x8(
                                        wasm_u16x8_extadd_pairwise_u8x16(tv)));
      v128_t bits = wasm_i8x16_add(wasm_i8x16_swizzle(pop4, wasm_v128_and(p, nibble)),
                                   wasm_i8x16_swizzle(pop4, wasm_u8x16_shr(p, 4)));
      pops = wasm_i32x4_add(pops, wasm_u32x4_extadd_pairwise_u16x8(
                                      wasm_u16x8_extadd_pairwise_u8x16(bits)));
      v128_t wlo = wasm_v128_load(im->weight + x), whi = wasm_v128_load(im->weight + x + 8);
      dots = wasm_i32x4_add(dots, wasm_i32x4_dot_i16x8(wasm_u16x8_extend_low_u8x16(tv), wlo));
      dots = wasm_i32x4_add(dots, wasm_i32x4_dot_i16x8(wasm_u16x8_extend_high_u8x16(tv), whi));
    }
    for (int lane = 0; lane < 4; lane++) {
      pop += (uint32_t)wasm_i32x4_extract_lane(pops, 0);
      dot += (uint32_t)wasm_i32x4_extract_lane(dots, 0);
      tsum += (uint32_t)wasm_i32x4_extract_lane(tsums, 0);
      tsums = wasm_i32x4_shuffle(tsums, tsums, 1, 2, 3, 0);
      pops = wasm_i32x4_shuffle(pops, pops, 1, 2, 3, 0);
      dots = wasm_i32x4_shuffle(dots, dots, 1, 2, 3, 0);
    }
#endif
    for (; x < w; x++) {
      int i = row[x] >> 3;
      t[x] = i < 16 ? LUT[i] : 0;
      tsum += t[x];
      pop += POP4[row[x] & 15] + POP4[row[x] >> 4];
      dot += (uint32_t)(t[x] * im->weight[x]);
    }
    s->popcount += pop;
    s->dot += dot;
    s->thr = (s->thr ^ tsum) * 16777619u; /* FNV-1a step per row: rows in order */
  }
}

/* FNV-1a over the bytes: order-sensitive, so any misplaced pixel shows. */
static uint32_t fnv1a(uint32_t h, const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 16777619u;
  return h;
}

static int parse(const char *s, int lo, int hi, int *out) {
  char *end;
  long v = strtol(s, &end, 10);
  if (*s == '\0' || *end != '\0' || v < lo || v > hi) return 0;
  *out = (int)v;
  return 1;
}

int main(int argc, char **argv) {
  struct image im = {.w = 256, .h = 256};
  int rounds = 4;
  if (argc != 1 && (argc != 4 || !parse(argv[1], 3, 1 << 14, &im.w) ||
                    !parse(argv[2], 3, 1 << 14, &im.h) || !parse(argv[3], 1, 1 << 20, &rounds))) {
    fprintf(stderr, "usage: simdblur [WIDTH HEIGHT ROUNDS] (3..16384, 3..16384, 1..1048576)\n");
    return 2;
  }
  size_t n = (size_t)im.w * im.h;
  im.px = malloc(n);
  im.out = malloc(n);
  im.thr = malloc(n);
  im.hsum = malloc(n * sizeof *im.hsum);
  im.weight = malloc((size_t)im.w * sizeof *im.weight);
  if (!im.px || !im.out || !im.thr || !im.hsum || !im.weight) {
    fprintf(stderr, "simdblur: out of memory for %d x %d\n", im.w, im.h);
    return 1;
  }
  generate(&im);
  struct sums s = {0, 0, 2166136261u};
  for (int r = 0; r < rounds; r++) {
    blur_rows(&im);
    blur_cols(&im);
    analyse(&im, &s);
    uint8_t *t = im.px;
    im.px = im.out;
    im.out = t;
  }
  printf("image     %d x %d, %d rounds\n", im.w, im.h, rounds);
  printf("blur      %08x\n", (unsigned)fnv1a(2166136261u, im.px, n));
  printf("threshold %08x\n", (unsigned)s.thr);
  printf("popcount  %u\n", (unsigned)s.popcount);
  printf("dot       %u\n", (unsigned)s.dot);
  return 0;
}
