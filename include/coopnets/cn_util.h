/* cn_util: the few helpers every module needs — a monotonic clock, checksums, folder creation. */
#ifndef CN_UTIL_H
#define CN_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "coopnets/cn_error.h"

/* Seconds on a monotonic clock (for durations only). */
double cn_seconds_now(void);

/* 64-bit FNV-1a over data, continuing from h (start with CN_FNV1A_START). Checksums of cache
 * entries and checkpoints: catches corruption, not an adversary. */
#define CN_FNV1A_START 0xcbf29ce484222325ULL
uint64_t cn_fnv1a(uint64_t h, const void *data, size_t n);

/* CRC-32C (Castagnoli, the reflected polynomial 0x82F63B78) over data, continuing from crc (start
 * with 0): the checksum of TensorFlow's record files. cn_crc32c(0, "123456789", 9) = 0xE3069283. */
uint32_t cn_crc32c(uint32_t crc, const void *data, size_t n);

/* mkdir -p: creates path and its missing parents; CN_ERR_IO naming the folder on failure. */
cn_status cn_make_dirs(const char *path, cn_error *e);

#endif
