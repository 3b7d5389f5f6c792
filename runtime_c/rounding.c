/* floor, ceil, trunc and roundeven (and their float versions) as WebAssembly
 * defines them, for the executables' static link (musl).
 *
 * x86-64 before SSE4.1 (--cpu baseline) has no rounding instruction, so LLVM
 * lowers wasm's `floor`, `ceil`, `trunc` and `nearest` (scalar, and each
 * lane of f32x4/f64x2) to calls of these libm functions.  musl's do not fit:
 * it has no roundeven at all (C23), and its floor/ceil/trunc return a
 * signalling NaN unchanged, where wasm requires a quiet one.  The runtime
 * archive comes before libc in the link, so the module's calls bind here.
 * (The runtime's symbols are hidden: a module loaded into Python through
 * libwasmaot_rt.so binds glibc's, which quiet NaNs and have roundeven.)
 *
 * For |x| < 2^52 (2^23 for float), converting to a 64-bit (32-bit) integer
 * truncates exactly; floor and ceil step from there, roundeven adds and
 * subtracts 2^52 (2^23) so that the default rounding mode (to nearest, ties
 * to even; wasm code cannot change it) rounds.  copysign keeps the sign of a
 * zero result (-0.5 -> -0.0).  Larger magnitudes and infinities are integers
 * already; NaNs come back quiet (x + x).
 */
#include <math.h>
#include <stdint.h>

#define SMALL_D 0x1p52
#define SMALL_F 0x1p23f

static double big_d(double x) { return x != x ? x + x : x; }
static float big_f(float x) { return x != x ? x + x : x; }

double trunc(double x) {
  if (!(fabs(x) < SMALL_D)) return big_d(x);
  return copysign((double)(int64_t)x, x);
}

double floor(double x) {
  if (!(fabs(x) < SMALL_D)) return big_d(x);
  double t = copysign((double)(int64_t)x, x);
  return t > x ? t - 1.0 : t;
}

double ceil(double x) {
  if (!(fabs(x) < SMALL_D)) return big_d(x);
  double t = copysign((double)(int64_t)x, x);
  return t < x ? t + 1.0 : t;
}

double roundeven(double x) {
  if (!(fabs(x) < SMALL_D)) return big_d(x);
  volatile double big = SMALL_D; /* volatile: the two roundings stay */
  return copysign((fabs(x) + big) - big, x);
}

float truncf(float x) {
  if (!(fabsf(x) < SMALL_F)) return big_f(x);
  return copysignf((float)(int32_t)x, x);
}

float floorf(float x) {
  if (!(fabsf(x) < SMALL_F)) return big_f(x);
  float t = copysignf((float)(int32_t)x, x);
  return t > x ? t - 1.0f : t;
}

float ceilf(float x) {
  if (!(fabsf(x) < SMALL_F)) return big_f(x);
  float t = copysignf((float)(int32_t)x, x);
  return t < x ? t + 1.0f : t;
}

float roundevenf(float x) {
  if (!(fabsf(x) < SMALL_F)) return big_f(x);
  volatile float big = SMALL_F;
  return copysignf((fabsf(x) + big) - big, x);
}
