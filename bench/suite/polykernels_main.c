/* Numeric loop kernels in the style of PolyBench/C (written plainly here, not fetched: no
 * registry ships PolyBench): gemm, syrk, 2mm, atax, jacobi-2d, seidel-2d, floyd-warshall.
 * argv[1]: the problem size N (matrices are N x N doubles; default 560). Prints one checksum
 * per kernel (%.10e of the sum of the result, so a few ulps of reassociation cannot show). */
#include <stdio.h>
#include <stdlib.h>

static double *mat(int n) {
    double *m = malloc(sizeof(double) * (size_t)n * (size_t)n);
    if (!m) { fprintf(stderr, "out of memory\n"); exit(1); }
    return m;
}

static void init(double *m, int n, int seed) {
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            m[i * n + j] = (double)((i * (j + seed) + 1) % n) / n;
}

static double sum(const double *m, int count) {
    double s = 0;
    for (int i = 0; i < count; i++) s += m[i];
    return s;
}

#define A(i, j) a[(i) * n + (j)]
#define B(i, j) b[(i) * n + (j)]
#define C(i, j) c[(i) * n + (j)]

static double gemm(int n) {
    double *a = mat(n), *b = mat(n), *c = mat(n);
    init(a, n, 1); init(b, n, 2); init(c, n, 3);
    const double alpha = 1.5, beta = 1.2;
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < n; j++) C(i, j) *= beta;
        for (int k = 0; k < n; k++)
            for (int j = 0; j < n; j++) C(i, j) += alpha * A(i, k) * B(k, j);
    }
    double s = sum(c, n * n);
    free(a); free(b); free(c);
    return s;
}

static double syrk(int n) {
    double *a = mat(n), *c = mat(n);
    init(a, n, 4); init(c, n, 5);
    const double alpha = 1.5, beta = 1.2;
    for (int i = 0; i < n; i++) {
        for (int j = 0; j <= i; j++) C(i, j) *= beta;
        for (int k = 0; k < n; k++)
            for (int j = 0; j <= i; j++) C(i, j) += alpha * A(i, k) * A(j, k);
    }
    double s = sum(c, n * n);
    free(a); free(c);
    return s;
}

static double two_mm(int n) {
    double *a = mat(n), *b = mat(n), *c = mat(n), *d = mat(n), *t = mat(n);
    init(a, n, 6); init(b, n, 7); init(c, n, 8); init(d, n, 9);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double s = 0;
            for (int k = 0; k < n; k++) s += 1.5 * A(i, k) * B(k, j);
            t[i * n + j] = s;
        }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double s = d[i * n + j] * 1.2;
            for (int k = 0; k < n; k++) s += t[i * n + k] * C(k, j);
            d[i * n + j] = s;
        }
    double s = sum(d, n * n);
    free(a); free(b); free(c); free(d); free(t);
    return s;
}

static double atax(int n) {
    double *a = mat(n), *x = malloc(sizeof(double) * n), *y = malloc(sizeof(double) * n),
           *tmp = malloc(sizeof(double) * n);
    init(a, n, 10);
    double s = 0;
    for (int rep = 0; rep < 20; rep++) {
        for (int i = 0; i < n; i++) { x[i] = 1.0 + (double)(i + rep) / n; y[i] = 0; }
        for (int i = 0; i < n; i++) {
            tmp[i] = 0;
            for (int j = 0; j < n; j++) tmp[i] += A(i, j) * x[j];
            for (int j = 0; j < n; j++) y[j] += A(i, j) * tmp[i];
        }
        s += sum(y, n);
    }
    free(a); free(x); free(y); free(tmp);
    return s;
}

static double jacobi_2d(int n) {
    double *a = mat(n), *b = mat(n);
    init(a, n, 11); init(b, n, 12);
    for (int t = 0; t < 100; t++) {
        for (int i = 1; i < n - 1; i++)
            for (int j = 1; j < n - 1; j++)
                B(i, j) = 0.2 * (A(i, j) + A(i, j - 1) + A(i, j + 1) + A(i + 1, j) + A(i - 1, j));
        for (int i = 1; i < n - 1; i++)
            for (int j = 1; j < n - 1; j++)
                A(i, j) = 0.2 * (B(i, j) + B(i, j - 1) + B(i, j + 1) + B(i + 1, j) + B(i - 1, j));
    }
    double s = sum(a, n * n);
    free(a); free(b);
    return s;
}

static double seidel_2d(int n) {
    double *a = mat(n);
    init(a, n, 13);
    for (int t = 0; t < 20; t++)
        for (int i = 1; i < n - 1; i++)
            for (int j = 1; j < n - 1; j++)
                A(i, j) = (A(i - 1, j - 1) + A(i - 1, j) + A(i - 1, j + 1) + A(i, j - 1) + A(i, j)
                           + A(i, j + 1) + A(i + 1, j - 1) + A(i + 1, j) + A(i + 1, j + 1)) / 9.0;
    double s = sum(a, n * n);
    free(a);
    return s;
}

static double floyd_warshall(int n) {
    int *p = malloc(sizeof(int) * (size_t)n * (size_t)n);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            p[i * n + j] = i == j ? 0 : (i * j) % 7 + 1 + ((i + j) % 13 == 0) * 999;
    for (int k = 0; k < n; k++)
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) {
                int via = p[i * n + k] + p[k * n + j];
                if (via < p[i * n + j]) p[i * n + j] = via;
            }
    long long s = 0;
    for (int i = 0; i < n * n; i++) s += p[i];
    free(p);
    return (double)s;
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 560;
    if (n < 4 || n > 4000) { fprintf(stderr, "usage: polykernels N (4..4000)\n"); return 2; }
    printf("gemm %.10e\n", gemm(n));
    printf("syrk %.10e\n", syrk(n));
    printf("2mm %.10e\n", two_mm(n));
    printf("atax %.10e\n", atax(n * 2));
    printf("jacobi-2d %.10e\n", jacobi_2d(n));
    printf("seidel-2d %.10e\n", seidel_2d(n));
    printf("floyd-warshall %.0f\n", floyd_warshall(n / 2 + 2));
    return 0;
}
