/* OpenBLAS peer for bench/gemm.bench.ts: compiled there with `gcc -O2 ... -lopenblas`.
 * argv[1]: threads; then one or more "M,K,N,trans_b,reps" shapes. Prints one JSON line:
 * {"gflops":[median GFLOP/s per shape]}. C = A[M,K] @ op(B), row-major, as vlv's matmul. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static int cmp(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char** argv) {
  if (argc < 3) return 2;
  openblas_set_num_threads(atoi(argv[1]));
  printf("{\"gflops\":[");
  for (int s = 2; s < argc; ++s) {
    int M, K, N, tb, reps;
    if (sscanf(argv[s], "%d,%d,%d,%d,%d", &M, &K, &N, &tb, &reps) != 5 || reps < 1) return 2;
    float *A = malloc(sizeof(float) * M * K), *B = malloc(sizeof(float) * K * N), *C = malloc(sizeof(float) * M * N);
    double* t = malloc(sizeof(double) * reps);
    for (long i = 0; i < (long)M * K; ++i) A[i] = (float)((i * 7919) % 1000) / 1000.f - 0.5f;
    for (long i = 0; i < (long)K * N; ++i) B[i] = (float)((i * 104729) % 1000) / 1000.f - 0.5f;
    for (int r = -1; r < reps; ++r) {
      double t0 = now();
      cblas_sgemm(CblasRowMajor, CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K, 1.f, A, K, B, tb ? K : N, 0.f,
                  C, N);
      if (r >= 0) t[r] = now() - t0;
    }
    qsort(t, reps, sizeof(double), cmp);
    printf("%s%.3f", s > 2 ? "," : "", 2.0 * M * N * K / t[reps / 2] / 1e9);
    free(A), free(B), free(C), free(t);
  }
  printf("]}\n");
  return 0;
}
