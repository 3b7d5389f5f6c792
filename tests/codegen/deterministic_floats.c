/* Float results whose bytes depend on the CPU unless built with --deterministic
 * (tests/codegen/test_deterministic.py): NaNs made by arithmetic (0/0, sqrt(-1),
 * inf-inf, NaN operands, conversions, SIMD lanes) and a relaxed multiply-add,
 * which x86-64 baseline computes unfused and aarch64 fused.  Operands come from
 * volatiles so the C compiler cannot fold them. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <wasm_simd128.h>

static volatile double v_zero = 0.0, v_one = 1.0, v_minus_one = -1.0, v_inf = INFINITY;
static volatile float v_fzero = 0.0f, v_fminus_one = -1.0f;
static volatile float v_lo = 0x1.000002p0f, v_hi = 0x1.fffffcp-1f;  /* 1 + 2^-23, 1 - 2^-23 */

static void show_d(const char *what, double x) {
    uint64_t b;
    memcpy(&b, &x, sizeof b);
    printf("%-18s %-24.17g %016llx\n", what, x, (unsigned long long)b);
}

static void show_f(const char *what, float x) {
    uint32_t b;
    memcpy(&b, &x, sizeof b);
    printf("%-18s %-24.9g %08x\n", what, (double)x, (unsigned)b);
}

static void show_f32x4(const char *what, v128_t v) {
    printf("%-18s", what);
    for (int i = 0; i < 4; i++) {
        float x;
        uint32_t b;
        switch (i) {  /* lane indices must be constants */
        case 0: x = wasm_f32x4_extract_lane(v, 0); break;
        case 1: x = wasm_f32x4_extract_lane(v, 1); break;
        case 2: x = wasm_f32x4_extract_lane(v, 2); break;
        default: x = wasm_f32x4_extract_lane(v, 3); break;
        }
        memcpy(&b, &x, sizeof b);
        printf(" %g/%08x", (double)x, (unsigned)b);
    }
    printf("\n");
}

int main(void) {
    double zero = v_zero, one = v_one, minus_one = v_minus_one, inf = v_inf;
    double nan0 = zero / zero;
    show_d("0/0", nan0);
    show_d("sqrt(-1)", sqrt(minus_one));
    show_d("inf-inf", inf - inf);
    show_d("0*inf", zero * inf);
    show_d("(0/0)+1", nan0 + one);
    show_d("(0/0)*2", nan0 * 2.0);
    show_d("-(0/0)", -nan0);            /* neg keeps the bits it is given */
    show_d("floor(0/0)", floor(nan0));
    show_d("rint(0/0)", rint(nan0));
    show_f("(float)(0/0)", (float)nan0);
    show_f("sqrtf(-1)", sqrtf(v_fminus_one));
    show_d("(double)(0f/0f)", (double)(v_fzero / v_fzero));

    double sum = 0.0;  /* a float-heavy loop that meets a NaN half way */
    for (int i = 1; i <= 1000; i++)
        sum += (i == 500 ? nan0 : 1.0 / i) * sqrt((double)i);
    show_d("series", sum);

    v128_t a = wasm_f32x4_make((float)zero, (float)inf, v_lo, -1.0f);
    v128_t b = wasm_f32x4_make((float)zero, (float)-inf, v_hi, (float)minus_one);
    show_f32x4("f32x4.div", wasm_f32x4_div(a, b));
    show_f32x4("f32x4.add", wasm_f32x4_add(a, b));
    show_f32x4("f32x4.sqrt", wasm_f32x4_sqrt(b));
    show_f32x4("relaxed_madd", wasm_f32x4_relaxed_madd(a, b, wasm_f32x4_splat(-1.0f)));
    return 0;
}
