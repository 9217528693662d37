/* Measuring the kernel variants on a config's shapes (include/coopnets/cn_tune.h). */
#include "coopnets/cn_tune.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coopnets/cn_coop.h"
#include "coopnets/cn_gemm.h"

/* The family a profiled kernel belongs to; CN_TUNED_FAMILY_COUNT: none of the tuned ones. */
static cn_kernel_family family_of(const char *kernel) {
    if (strncmp(kernel, "cn_gemm_", 8) == 0 || strcmp(kernel, "clblast_sgemm") == 0) return CN_TUNED_GEMM;
    if (strncmp(kernel, "cn_batchnorm_", 13) == 0) return CN_TUNED_BATCHNORM;
    if (strncmp(kernel, "cn_reduce_", 10) == 0) return CN_TUNED_REDUCE;
    if (strncmp(kernel, "cn_conv_direct_", 15) == 0 || strncmp(kernel, "cn_im2col", 9) == 0 ||
        strncmp(kernel, "cn_col2im", 9) == 0 || strncmp(kernel, "cn_transpose", 12) == 0)
        return CN_TUNED_CONV;
    return CN_TUNED_FAMILY_COUNT;
}

static cn_status use_variants(cn_runtime *rt, const cn_kernel_variant v[CN_TUNED_FAMILY_COUNT], cn_error *e) {
    CN_TRY(cn_gemm_select(rt, v[CN_TUNED_GEMM].kind == CN_VARIANT_CLBLAST ? CN_GEMM_CLBLAST : CN_GEMM_OWN, e));
    for (int f = 0; f < CN_TUNED_FAMILY_COUNT; f++) CN_TRY(cn_tuning_set(rt, (cn_kernel_family)f, v[f], e));
    return CN_OK;
}

/* Two iterations with variants v, the second profiled: seconds[f] is family f's device time. */
static cn_status measure_round(cn_runtime *rt, cn_coop *coop, cn_profile *profile, const float *batch,
                               const cn_kernel_variant v[CN_TUNED_FAMILY_COUNT], uint64_t *iteration,
                               double seconds[CN_TUNED_FAMILY_COUNT], cn_error *e) {
    CN_TRY(use_variants(rt, v, e));
    for (int f = 0; f < CN_TUNED_FAMILY_COUNT; f++) seconds[f] = 0;
    for (int pass = 0; pass < 2; pass++) {
        CN_TRY(cn_coop_set_observed(rt, coop, batch, e));
        CN_TRY(cn_profile_attach(rt, pass == 1 ? profile : NULL, e));
        /* A log iteration: the metric reductions (the reduce family) run only there. */
        cn_status s = cn_coop_iteration(rt, coop, (*iteration)++, 1, e);
        cn_metrics metrics;
        if (s == CN_OK) s = cn_coop_read_metrics(rt, coop, &metrics, e);
        cn_profile_total *totals = NULL;
        size_t count = 0;
        /* Resolving also empties the profile, so a failed iteration's events cannot count later. */
        if (pass == 1) {
            const cn_status resolved = cn_profile_resolve(rt, profile, &totals, &count, s == CN_OK ? e : NULL);
            if (s == CN_OK) s = resolved;
        }
        cn_profile_attach(rt, NULL, NULL);
        for (size_t i = 0; s == CN_OK && i < count; i++) {
            const cn_kernel_family f = family_of(totals[i].name);
            if (f != CN_TUNED_FAMILY_COUNT) seconds[f] += totals[i].seconds;
        }
        free(totals);
        CN_TRY(s);
    }
    return CN_OK;
}

static void note_failure(cn_tune_report *r, cn_kernel_family f, cn_kernel_variant v, const cn_error *why) {
    if (r->failure[0]) return;
    char name[64];
    cn_kernel_variant_format(v, name, sizeof name);
    snprintf(r->failure, sizeof r->failure, "%s %s failed: %s", cn_kernel_family_name(f), name, why->message);
}

/* Adds one measurement (seconds < 0: failed) to the report and to the round's line. */
static void record(cn_tune_report *r, cn_kernel_family f, cn_kernel_variant v, double seconds, char *line,
                   size_t size, size_t *used) {
    char name[64];
    cn_kernel_variant_format(v, name, sizeof name);
    r->measured[r->count++] = (cn_tuning_measurement){f, v, seconds};
    if (seconds >= 0 && seconds < r->winner_seconds[f]) {
        r->winner_seconds[f] = seconds;
        r->winners[f] = v;
    }
    if (*used < size)
        *used += (size_t)(seconds >= 0 ? snprintf(line + *used, size - *used, " %s %s %.4f s", cn_kernel_family_name(f), name, seconds)
                                       : snprintf(line + *used, size - *used, " %s %s failed", cn_kernel_family_name(f), name));
}

/* The conv variants decide between the lowered path (whose products are GEMMs) and the direct
 * kernels, so each is measured by the conv kernels and every GEMM together, after the other
 * families, which run their winners: a GEMM candidate measured alongside would blur the choice. */
static void tune_conv(cn_runtime *rt, const cn_tune_options *o, cn_coop *coop, cn_profile *profile,
                      const float *batch, const cn_kernel_variant *candidates, size_t count, uint64_t *iteration,
                      cn_tune_report *r) {
    for (size_t i = 0; i < count; i++) {
        cn_kernel_variant v[CN_TUNED_FAMILY_COUNT];
        memcpy(v, r->winners, sizeof v);
        v[CN_TUNED_CONV] = candidates[i];
        double seconds[CN_TUNED_FAMILY_COUNT];
        cn_error why = {0};
        const int ok = measure_round(rt, coop, profile, batch, v, iteration, seconds, &why) == CN_OK;
        if (!ok) note_failure(r, CN_TUNED_CONV, candidates[i], &why);
        cn_error_clear(&why);
        char line[256];
        size_t used = (size_t)snprintf(line, sizeof line, "conv round %zu/%zu:", i + 1, count);
        record(r, CN_TUNED_CONV, candidates[i], ok ? seconds[CN_TUNED_CONV] + seconds[CN_TUNED_GEMM] : -1, line,
               sizeof line, &used);
        if (o->on_round) o->on_round(o->user, line);
    }
}

static cn_status tune_rounds(cn_runtime *rt, const cn_tune_options *o, cn_coop *coop, cn_profile *profile,
                             const float *batch, cn_tune_report *r, cn_error *e) {
    cn_kernel_variant candidates[CN_TUNED_FAMILY_COUNT][CN_TUNE_MAX_CANDIDATES];
    size_t counts[CN_TUNED_FAMILY_COUNT], rounds = 0;
    const size_t most = o->max_candidates && o->max_candidates < CN_TUNE_MAX_CANDIDATES ? o->max_candidates
                                                                                        : CN_TUNE_MAX_CANDIDATES;
    for (int f = 0; f < CN_TUNED_FAMILY_COUNT; f++) {
        counts[f] = cn_tuning_candidates(rt, (cn_kernel_family)f, candidates[f], CN_TUNE_MAX_CANDIDATES);
        if (counts[f] > most) counts[f] = most;
        if (counts[f] > rounds && f != CN_TUNED_CONV) rounds = counts[f];
        r->winner_seconds[f] = INFINITY;
        r->winners[f] = candidates[f][0];
    }
    uint64_t iteration = 0;
    for (size_t round = 0; round < rounds; round++) {
        /* A family out of candidates runs its heuristic (its first) and is not measured again. */
        cn_kernel_variant v[CN_TUNED_FAMILY_COUNT];
        int measured[CN_TUNED_FAMILY_COUNT];
        for (int f = 0; f < CN_TUNED_FAMILY_COUNT; f++) {
            measured[f] = round < counts[f] && f != CN_TUNED_CONV; /* conv: in tune_conv */
            v[f] = candidates[f][measured[f] ? round : 0];
        }
        double seconds[CN_TUNED_FAMILY_COUNT];
        cn_error round_error = {0};
        if (measure_round(rt, coop, profile, batch, v, &iteration, seconds, &round_error) != CN_OK) {
            /* Find the culprit: each family's candidate alone, the others on their heuristics. */
            for (int f = 0; f < CN_TUNED_FAMILY_COUNT; f++) {
                if (!measured[f]) continue;
                cn_kernel_variant alone[CN_TUNED_FAMILY_COUNT];
                double alone_seconds[CN_TUNED_FAMILY_COUNT];
                for (int g = 0; g < CN_TUNED_FAMILY_COUNT; g++) alone[g] = candidates[g][0];
                alone[f] = v[f];
                cn_error_clear(&round_error);
                if (measure_round(rt, coop, profile, batch, alone, &iteration, alone_seconds, &round_error) == CN_OK) {
                    seconds[f] = alone_seconds[f];
                } else {
                    seconds[f] = -1;
                    note_failure(r, (cn_kernel_family)f, v[f], &round_error);
                }
            }
        }
        cn_error_clear(&round_error);
        char line[512];
        size_t used = (size_t)snprintf(line, sizeof line, "round %zu/%zu:", round + 1, rounds);
        for (int f = 0; f < CN_TUNED_FAMILY_COUNT; f++)
            if (measured[f]) record(r, (cn_kernel_family)f, v[f], seconds[f], line, sizeof line, &used);
        if (o->on_round) o->on_round(o->user, line);
    }
    tune_conv(rt, o, coop, profile, batch, candidates[CN_TUNED_CONV], counts[CN_TUNED_CONV], &iteration, r);
    for (int f = 0; f < CN_TUNED_FAMILY_COUNT; f++)
        if (isinf(r->winner_seconds[f]))
            return cn_error_set(e, CN_ERR_CL, "no %s variant ran on device %d (%s): %s", cn_kernel_family_name(f),
                                rt->device.index, rt->device.name, r->failure);
    return CN_OK;
}

cn_status cn_tune_config(cn_runtime *rt, const cn_config *c, const cn_tune_options *o, cn_tune_report *r, cn_error *e) {
    memset(r, 0, sizeof *r);
    if (!rt->profiling)
        return cn_error_set(e, CN_ERR_ARG, "tuning needs a runtime opened with profiling (it times OpenCL events)");
    if (c->mode != CN_MODE_COOP)
        return cn_error_set(e, CN_ERR_CONFIG, "tuning measures mode \"coop\", not \"%s\"", cn_mode_name(c->mode));
    cn_coop coop;
    CN_TRY(cn_coop_create(rt, c, &coop, e));
    cn_profile *profile = NULL;
    /* The batch's values do not change the work: a fixed pattern in [-1, 1]. */
    float *batch = malloc(coop.batch * coop.image_floats * sizeof *batch);
    cn_status s = batch ? cn_profile_create(&profile, e) : cn_error_set(e, CN_ERR_NOMEM, "out of memory for the batch");
    for (size_t i = 0; s == CN_OK && i < coop.batch * coop.image_floats; i++) batch[i] = (float)sin(0.37 * (double)i);
    if (s == CN_OK) s = cn_coop_init_weights(rt, &coop, e);
    if (s == CN_OK) s = tune_rounds(rt, o, &coop, profile, batch, r, e);
    cn_finish(rt, NULL);
    cn_coop_free(rt, &coop);
    cn_profile_free(profile);
    free(batch);
    CN_TRY(s);
    return cn_tuning_save(rt, r->winners, r->measured, r->count, o->source, e);
}
