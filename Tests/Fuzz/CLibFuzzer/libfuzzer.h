#ifndef PLENUM_CLIBFUZZER_H
#define PLENUM_CLIBFUZZER_H
#include <stddef.h>
#include <stdint.h>

/* libFuzzer's entry points (compiler-rt FuzzerInterface.h / FuzzerDriver.cpp).
 *
 * Each fuzz executable defines LLVMFuzzerTestOneInput (with @_cdecl). LLVMFuzzerRunDriver is
 * provided by the libFuzzer runtime that `-sanitize=fuzzer` links; it is referenced only when
 * PLENUM_FUZZ is defined, so ordinary builds link without it and replay inputs instead. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
