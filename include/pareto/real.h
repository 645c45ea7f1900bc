/*
 * real.h - the floating-point type of the network and its BLAS entry points.
 *
 * The program computes in float32, as the reference does. The network code is also compiled
 * once in float64 (with PARETO_REAL_DOUBLE defined) so that the tests can compare its
 * derivatives against finite differences without float32 rounding swamping the comparison.
 */
#ifndef PARETO_REAL_H
#define PARETO_REAL_H

#include <cblas.h>

#ifdef PARETO_REAL_DOUBLE
typedef double real;
#define REAL_GEMM cblas_dgemm
#define REAL_GEMV cblas_dgemv
#define REAL_AXPY cblas_daxpy
#define REAL_SCAL cblas_dscal
#else
typedef float real;
#define REAL_GEMM cblas_sgemm
#define REAL_GEMV cblas_sgemv
#define REAL_AXPY cblas_saxpy
#define REAL_SCAL cblas_sscal
#endif

#endif
