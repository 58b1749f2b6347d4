/*
 * An FMA peak probe written independently of maxsim, to check the figure `maxsim bench`
 * divides by.
 *
 * Each thread runs CHAINS independent chains of packed single-precision fused multiply-adds
 * (c = c * scale + step), in registers: AVX-512 (16 lanes, vfmadd on zmm) or AVX2+FMA (8 lanes,
 * vfmadd on ymm). The threads are started behind a spinning barrier (a thread asleep in
 * pthread_barrier_wait can take milliseconds to wake on a virtual machine) and each times its
 * own run; a repetition's rate is every thread's flops over the span from the first start to
 * the last end (so a late thread costs the figure, it cannot inflate it). The peak is the
 * best repetition: noise on a shared host only ever slows a run down.
 *
 * usage: peak ISA THREADS [MILLISECONDS] [REPETITIONS]
 *   ISA: avx512 or avx2; MILLISECONDS: the length of each thread's run (default 50);
 *   REPETITIONS: default 9.
 * prints: peak-check ISA THREADS thread(s): best B GFLOP/s, median M, min L (R runs of T ms,
 *   C chains per thread)
 */
#define _GNU_SOURCE
#include <immintrin.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHAINS 12
#define MAX_THREADS 256
#define MAX_REPETITIONS 100

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* The chains are written in assembly so that no compiler decides where they live: twelve
 * accumulators and the two constants stay in registers, and the loop body is exactly twelve
 * FMAs (c = scale * c + step), each depending only on its own chain's previous value. */
#define FMA12(op)                                                                            \
    op " %[s], %[m], %[c0]\n\t" op " %[s], %[m], %[c1]\n\t" op " %[s], %[m], %[c2]\n\t"      \
    op " %[s], %[m], %[c3]\n\t" op " %[s], %[m], %[c4]\n\t" op " %[s], %[m], %[c5]\n\t"      \
    op " %[s], %[m], %[c6]\n\t" op " %[s], %[m], %[c7]\n\t" op " %[s], %[m], %[c8]\n\t"      \
    op " %[s], %[m], %[c9]\n\t" op " %[s], %[m], %[c10]\n\t" op " %[s], %[m], %[c11]\n\t"
#define CHAIN_OPERANDS                                                                       \
    [c0] "+v"(c0), [c1] "+v"(c1), [c2] "+v"(c2), [c3] "+v"(c3), [c4] "+v"(c4),              \
        [c5] "+v"(c5), [c6] "+v"(c6), [c7] "+v"(c7), [c8] "+v"(c8), [c9] "+v"(c9),          \
        [c10] "+v"(c10), [c11] "+v"(c11)

__attribute__((target("avx512f"), noinline)) static float chains_avx512(long iterations) {
    const __m512 scale = _mm512_set1_ps(0.9999999f), step = _mm512_set1_ps(1e-7f);
    __m512 c0 = _mm512_setzero_ps(), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0,
           c7 = c0, c8 = c0, c9 = c0, c10 = c0, c11 = c0;
    for (long i = 0; i < iterations; i++) {
        __asm__(FMA12("vfmadd213ps") : CHAIN_OPERANDS : [m] "v"(scale), [s] "v"(step));
    }
    __m512 total = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(c0, c1), _mm512_add_ps(c2, c3)),
                                 _mm512_add_ps(_mm512_add_ps(c4, c5), _mm512_add_ps(c6, c7)));
    total = _mm512_add_ps(total, _mm512_add_ps(_mm512_add_ps(c8, c9), _mm512_add_ps(c10, c11)));
    return _mm512_reduce_add_ps(total);
}

__attribute__((target("avx2,fma"), noinline)) static float chains_avx2(long iterations) {
    const __m256 scale = _mm256_set1_ps(0.9999999f), step = _mm256_set1_ps(1e-7f);
    __m256 c0 = _mm256_setzero_ps(), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0,
           c7 = c0, c8 = c0, c9 = c0, c10 = c0, c11 = c0;
    for (long i = 0; i < iterations; i++) {
        __asm__(FMA12("vfmadd213ps") : CHAIN_OPERANDS : [m] "v"(scale), [s] "v"(step));
    }
    __m256 total = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(c0, c1), _mm256_add_ps(c2, c3)),
                                 _mm256_add_ps(_mm256_add_ps(c4, c5), _mm256_add_ps(c6, c7)));
    total = _mm256_add_ps(total, _mm256_add_ps(_mm256_add_ps(c8, c9), _mm256_add_ps(c10, c11)));
    float lanes[8];
    _mm256_storeu_ps(lanes, total);
    float sum = 0;
    for (int k = 0; k < 8; k++) sum += lanes[k];
    return sum;
}

static float (*chains)(long);
static int lanes, threads, repetitions;
static volatile long iterations; /* volatile: the compiler must not see the trip count */
static atomic_int arrived, generation;

/* Every thread returns once all have called it; they wait spinning. */
static void spin_barrier(void) {
    int seen = atomic_load(&generation);
    if (atomic_fetch_add(&arrived, 1) == threads - 1) {
        atomic_store(&arrived, 0);
        atomic_fetch_add(&generation, 1);
        return;
    }
    for (unsigned spins = 1; atomic_load(&generation) == seen; spins++) {
        if (spins % 4096 == 0) sched_yield(); /* more threads than cores */
        else _mm_pause();
    }
}
static double starts[MAX_REPETITIONS][MAX_THREADS], ends[MAX_REPETITIONS][MAX_THREADS];
static volatile float sink;

static void *worker(void *arg) {
    int index = (int)(long)arg;
    for (int r = 0; r < repetitions; r++) {
        spin_barrier();
        starts[r][index] = now();
        sink = chains(iterations);
        ends[r][index] = now();
    }
    return NULL;
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s avx512|avx2 THREADS [MILLISECONDS] [REPETITIONS]\n", argv[0]);
        return 2;
    }
    __builtin_cpu_init();
    if (strcmp(argv[1], "avx512") == 0) {
        if (!__builtin_cpu_supports("avx512f")) {
            fprintf(stderr, "this CPU lacks AVX-512F\n");
            return 1;
        }
        chains = chains_avx512;
        lanes = 16;
    } else if (strcmp(argv[1], "avx2") == 0) {
        if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) {
            fprintf(stderr, "this CPU lacks AVX2 or FMA\n");
            return 1;
        }
        chains = chains_avx2;
        lanes = 8;
    } else {
        fprintf(stderr, "unknown ISA %s (avx512 or avx2)\n", argv[1]);
        return 2;
    }
    threads = atoi(argv[2]);
    double milliseconds = argc > 3 ? atof(argv[3]) : 50.0;
    repetitions = argc > 4 ? atoi(argv[4]) : 9;
    if (threads < 1 || threads > MAX_THREADS || milliseconds <= 0 || repetitions < 1
        || repetitions > MAX_REPETITIONS) {
        fprintf(stderr, "THREADS 1 to %d, MILLISECONDS above 0, REPETITIONS 1 to %d\n",
                MAX_THREADS, MAX_REPETITIONS);
        return 2;
    }
    /* Calibrate the trip count on one thread: double until a run takes 5 ms, then scale. */
    long trial = 1 << 12;
    double took;
    for (;;) {
        iterations = trial;
        double start = now();
        sink = chains(iterations);
        took = now() - start;
        if (took >= 0.005) break;
        trial *= 2;
    }
    iterations = (long)((double)trial * milliseconds * 1e-3 / took);
    double flops = (double)iterations * CHAINS * lanes * 2 * threads;

    pthread_t ids[MAX_THREADS];
    for (long t = 0; t < threads; t++) {
        if (pthread_create(&ids[t], NULL, worker, (void *)t) != 0) {
            perror("pthread_create");
            return 1;
        }
    }
    for (int t = 0; t < threads; t++) pthread_join(ids[t], NULL);

    double rates[MAX_REPETITIONS];
    for (int r = 0; r < repetitions; r++) {
        double first = starts[r][0], last = ends[r][0];
        for (int t = 1; t < threads; t++) {
            if (starts[r][t] < first) first = starts[r][t];
            if (ends[r][t] > last) last = ends[r][t];
        }
        rates[r] = flops / (last - first) / 1e9;
    }
    qsort(rates, (size_t)repetitions, sizeof rates[0], by_value);
    printf("peak-check %s %d thread(s): best %.1f GFLOP/s, median %.1f, min %.1f "
           "(%d runs of %.0f ms, %d chains per thread)\n",
           argv[1], threads, rates[repetitions - 1], rates[repetitions / 2], rates[0],
           repetitions, milliseconds, CHAINS);
    return 0;
}
