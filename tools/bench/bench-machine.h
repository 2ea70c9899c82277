/* SPDX-License-Identifier: MIT */
/*
 * bench-machine.h - machine facts every pvio benchmark prints with its results.
 */
#ifndef PVIO_TOOLS_BENCH_MACHINE_H
#define PVIO_TOOLS_BENCH_MACHINE_H

#include <stddef.h>

/* The CPU's name as /proc/cpuinfo gives it, or "unknown". */
void bench_cpu_model(char *buf, size_t len);
/* The header of every results file: prog and version, date, kernel, CPU model, CPUs. */
void bench_print_machine(const char *prog);

#endif
