/* autovec [N ROUNDS]: plain C loops that a compiler vectorizes by itself (with
 * -msimd128 for wasm, or the host's vectors natively), over N generated
 * elements (default 65536, 4 rounds). Each round runs:
 *   saxpy   y[i] = 0.5 * x[i] + 0.5 * y[i] on floats (scaling by 0.5 is exact,
 *           so the one rounding is the add's and the result does not depend on
 *           whether the compiler fuses a multiply-add);
 *   mix     d[i] = a[i] + b[i] on int16 samples, saturated to -32768..32767;
 *   text    swap the case of the letters of a byte buffer in place, count its
 *           spaces, and sum the absolute differences to the previous round's;
 *   matmul  C = A * B for int32 matrices of side about sqrt(N) / 4 (wrapping),
 *           i-k-j order so the inner loop runs along rows.
 * It prints one checksum line per kernel, over every round.
 *
 * Build and run (as tests/wasi/test_simd_examples.py does):
 *   python -m ziglang cc -target wasm32-wasi -O2 -msimd128 examples/autovec/autovec.c -o autovec.wasm
 *   wasmaot build autovec.wasm -o autovec && ./autovec
 * and compare with `wasmtime autovec.wasm`: the output is the same bytes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct data {
  int n, side;
  float *x, *y;
  int16_t *a, *b, *d;
  uint8_t *text, *prev;
  int32_t *ma, *mb, *mc;
};

static uint32_t xorshift(uint32_t *s) {
  uint32_t x = *s;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  return *s = x;
}

static void generate(struct data *v) {
  uint32_t seed = 88172645u;
  static const char words[] = "the quick brown fox jumps over a lazy dog, Then Again: 42 ";
  for (int i = 0; i < v->n; i++) {
    uint32_t r = xorshift(&seed);
    v->x[i] = (float)(r & 0xffff) / 65536.0f;
    v->y[i] = (float)(r >> 16) / 65536.0f;
    v->a[i] = (int16_t)(r ^ (r >> 7));
    v->b[i] = (int16_t)((r >> 9) * 3);
    v->text[i] = (uint8_t)words[(r >> 3) % (sizeof words - 1)];
  }
  memcpy(v->prev, v->text, (size_t)v->n);
  for (int i = 0; i < v->side * v->side; i++) {
    v->ma[i] = (int32_t)(xorshift(&seed) % 201) - 100;
    v->mb[i] = (int32_t)(xorshift(&seed) % 201) - 100;
  }
}

static void saxpy(float *restrict y, const float *restrict x, int n) {
  for (int i = 0; i < n; i++) y[i] = 0.5f * x[i] + 0.5f * y[i];
}

static void mix(int16_t *restrict d, const int16_t *restrict a, const int16_t *restrict b, int n) {
  for (int i = 0; i < n; i++) {
    int s = a[i] + b[i];
    d[i] = (int16_t)(s > 32767 ? 32767 : s < -32768 ? -32768 : s);
  }
}

static uint32_t swap_case_count(uint8_t *restrict t, int n) {
  uint32_t spaces = 0;
  for (int i = 0; i < n; i++) {
    uint8_t c = t[i], lower = c | 0x20;
    t[i] = lower >= 'a' && lower <= 'z' ? c ^ 0x20 : c;
    spaces += c == ' ';
  }
  return spaces;
}

static uint32_t sad(const uint8_t *restrict a, const uint8_t *restrict b, int n) {
  uint32_t s = 0;
  for (int i = 0; i < n; i++) s += (uint32_t)abs(a[i] - b[i]);
  return s;
}

static void matmul(int32_t *restrict c, const int32_t *restrict a, const int32_t *restrict b,
                   int side) {
  memset(c, 0, (size_t)side * side * sizeof *c);
  for (int i = 0; i < side; i++)
    for (int k = 0; k < side; k++) {
      uint32_t aik = (uint32_t)a[i * side + k];
      for (int j = 0; j < side; j++)
        c[i * side + j] = (int32_t)((uint32_t)c[i * side + j] + aik * (uint32_t)b[k * side + j]);
    }
}

/* Sum of element * (index + 1), wrapping: position-sensitive and vectorizable. */
static uint32_t weigh_u32(const uint32_t *p, int n) {
  uint32_t h = 0;
  for (int i = 0; i < n; i++) h += p[i] * (uint32_t)(i + 1);
  return h;
}

static uint32_t weigh_i16(const int16_t *p, int n) {
  uint32_t h = 0;
  for (int i = 0; i < n; i++) h += (uint32_t)(p[i] + 32768) * (uint32_t)(i + 1);
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
  struct data v = {.n = 65536};
  int rounds = 4;
  if (argc != 1 && (argc != 3 || !parse(argv[1], 1, 1 << 26, &v.n) ||
                    !parse(argv[2], 1, 1 << 20, &rounds))) {
    fprintf(stderr, "usage: autovec [N ROUNDS] (1..67108864, 1..1048576)\n");
    return 2;
  }
  v.side = 1;
  while ((v.side + 1) * (v.side + 1) * 16 <= v.n) v.side++;
  size_t n = (size_t)v.n, cells = (size_t)v.side * v.side;
  v.x = malloc(n * sizeof *v.x);
  v.y = malloc(n * sizeof *v.y);
  v.a = malloc(n * sizeof *v.a);
  v.b = malloc(n * sizeof *v.b);
  v.d = malloc(n * sizeof *v.d);
  v.text = malloc(n);
  v.prev = malloc(n);
  v.ma = malloc(cells * sizeof *v.ma);
  v.mb = malloc(cells * sizeof *v.mb);
  v.mc = malloc(cells * sizeof *v.mc);
  if (!v.x || !v.y || !v.a || !v.b || !v.d || !v.text || !v.prev || !v.ma || !v.mb || !v.mc) {
    fprintf(stderr, "autovec: out of memory for N = %d\n", v.n);
    return 1;
  }
  generate(&v);
  uint32_t h_saxpy = 0, h_mix = 0, h_text = 0, h_mat = 0;
  for (int r = 0; r < rounds; r++) {
    saxpy(v.y, v.x, v.n);
    h_saxpy = h_saxpy * 31 + weigh_u32((const uint32_t *)(const void *)v.y, v.n);
    mix(v.d, v.a, v.b, v.n);
    h_mix = h_mix * 31 + weigh_i16(v.d, v.n);
    int16_t *t = v.a;  /* next round mixes the result with b again */
    v.a = v.d;
    v.d = t;
    uint32_t spaces = swap_case_count(v.text, v.n);
    h_text = h_text * 31 + spaces + sad(v.text, v.prev, v.n);
    memcpy(v.prev, v.text, n);
    matmul(v.mc, v.ma, v.mb, v.side);
    h_mat = h_mat * 31 + weigh_u32((const uint32_t *)(const void *)v.mc, (int)cells);
    int32_t *m = v.ma;  /* next round multiplies the product by B */
    v.ma = v.mc;
    v.mc = m;
  }
  printf("elements %d, matrix %d x %d, %d rounds\n", v.n, v.side, v.side, rounds);
  printf("saxpy    %08x\n", (unsigned)h_saxpy);
  printf("mix      %08x\n", (unsigned)h_mix);
  printf("text     %08x\n", (unsigned)h_text);
  printf("matmul   %08x\n", (unsigned)h_mat);
  return 0;
}
