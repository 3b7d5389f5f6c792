/* Float-heavy kernels for bench/deterministic.py: what --deterministic costs where
 * it does the most (a canonical-NaN select after every float operation).
 *   nbody   5 bodies, double: add/sub/mul/div/sqrt in the inner loop
 *   simd    f32x4 over 64 KB arrays: mul, add, div, sqrt, min, relaxed madd
 *   convert f32 <-> f64 promote/demote and floor/nearest in a reduction
 * Prints one checksum per kernel (%.17g), the same with and without the flag
 * (no NaN arises; relaxed madd is unfused on x86-64 baseline either way).
 * argv[1]: the kernel (nbody, simd, convert; default all three), argv[2]: a scale factor. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wasm_simd128.h>

typedef struct { double x, y, z, vx, vy, vz, m; } Body;

static double nbody(int steps) {
    Body b[5] = {
        {0, 0, 0, 0, 0, 0, 39.47841760435743},
        {4.84, -1.16, -0.10, 0.606, 2.81, -0.02, 0.037},
        {8.34, 4.12, -0.40, -1.01, 1.82, 0.008, 0.011},
        {12.89, -15.11, -0.22, 1.08, 0.868, -0.01, 0.0017},
        {15.37, -25.91, 0.179, 0.979, 0.594, -0.034, 0.002},
    };
    const double dt = 0.01;
    for (int s = 0; s < steps; s++) {
        for (int i = 0; i < 5; i++)
            for (int j = i + 1; j < 5; j++) {
                double dx = b[i].x - b[j].x, dy = b[i].y - b[j].y, dz = b[i].z - b[j].z;
                double d2 = dx * dx + dy * dy + dz * dz;
                double mag = dt / (d2 * sqrt(d2));
                b[i].vx -= dx * b[j].m * mag; b[i].vy -= dy * b[j].m * mag; b[i].vz -= dz * b[j].m * mag;
                b[j].vx += dx * b[i].m * mag; b[j].vy += dy * b[i].m * mag; b[j].vz += dz * b[i].m * mag;
            }
        for (int i = 0; i < 5; i++) {
            b[i].x += dt * b[i].vx; b[i].y += dt * b[i].vy; b[i].z += dt * b[i].vz;
        }
    }
    double e = 0;
    for (int i = 0; i < 5; i++)
        e += b[i].x + b[i].y + b[i].z + b[i].vx + b[i].vy + b[i].vz;
    return e;
}

#define N 16384
static float xs[N], ys[N], zs[N];

static double simd(int rounds) {
    for (int i = 0; i < N; i++) {
        xs[i] = 1.0f + (float)(i % 97) / 97.0f;
        ys[i] = 0.5f + (float)(i % 89) / 89.0f;
        zs[i] = 0.0f;
    }
    const v128_t half = wasm_f32x4_splat(0.5f), one = wasm_f32x4_splat(1.0f);
    for (int r = 0; r < rounds; r++)
        for (int i = 0; i < N; i += 4) {
            v128_t x = wasm_v128_load(&xs[i]), y = wasm_v128_load(&ys[i]);
            v128_t z = wasm_v128_load(&zs[i]);
            v128_t t = wasm_f32x4_relaxed_madd(x, y, half);
            v128_t q = wasm_f32x4_div(wasm_f32x4_sqrt(wasm_f32x4_mul(t, t)), wasm_f32x4_add(y, one));
            z = wasm_f32x4_add(z, wasm_f32x4_min(q, wasm_f32x4_splat(4.0f)));
            wasm_v128_store(&zs[i], z);
        }
    double s = 0;
    for (int i = 0; i < N; i++)
        s += zs[i];
    return s;
}

static double convert(int n) {
    double acc = 0;
    float f = 0.25f;
    for (int i = 0; i < n; i++) {
        double d = (double)f * 1.0000001 + (double)(i & 1023);
        f = (float)(d * 0.5);
        acc += floor(d) - nearbyint(d * 0.25);
    }
    return acc + f;
}

int main(int argc, char **argv) {
    const char *which = argc > 1 ? argv[1] : "all";
    int scale = argc > 2 ? atoi(argv[2]) : 1;
    int all = strcmp(which, "all") == 0;
    if (all || strcmp(which, "nbody") == 0)
        printf("nbody   %.17g\n", nbody(1000000 * scale));
    if (all || strcmp(which, "simd") == 0)
        printf("simd    %.17g\n", simd(2000 * scale));
    if (all || strcmp(which, "convert") == 0)
        printf("convert %.17g\n", convert(20000000 * scale));
    return 0;
}
