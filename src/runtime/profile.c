/* Per-command OpenCL event profiles: a growable list of (name, tag, events, work counts) filled by
 * the enqueue sites while a profile is attached, summed per (name, tag) once the queue is idle. */
#include <stdlib.h>
#include <string.h>

#include "coopnets/cn_runtime.h"

typedef struct profile_record {
    char name[64];
    int tag;
    cl_event start; /* NULL, or a marker enqueued just before a command made of several kernels */
    cl_event end;
    double flops, bytes;
} profile_record;

struct cn_profile {
    profile_record *records;
    size_t count, capacity;
    int tag;
};

cn_status cn_profile_create(cn_profile **out, cn_error *e) {
    *out = calloc(1, sizeof **out);
    if (!*out) return cn_error_set(e, CN_ERR_NOMEM, "out of memory for a profile");
    return CN_OK;
}

static void release_records(cn_profile *p) {
    for (size_t i = 0; i < p->count; i++) {
        if (p->records[i].start) clReleaseEvent(p->records[i].start);
        clReleaseEvent(p->records[i].end);
    }
    p->count = 0;
}

void cn_profile_free(cn_profile *p) {
    if (!p) return;
    release_records(p);
    free(p->records);
    free(p);
}

cn_status cn_profile_attach(cn_runtime *rt, cn_profile *p, cn_error *e) {
    if (p && !rt->profiling)
        return cn_error_set(e, CN_ERR_ARG,
                            "a profile needs a runtime opened with profiling = 1 (device %d, %s has no profiling queue)",
                            rt->device.index, rt->device.name);
    rt->profile = p;
    return CN_OK;
}

void cn_profile_set_tag(cn_profile *p, int tag) { p->tag = tag; }

cn_status cn_profile_record(cn_runtime *rt, const char *name, cl_event start, cl_event end, double flops, double bytes,
                            cn_error *e) {
    cn_profile *p = rt->profile;
    if (p->count == p->capacity) {
        size_t capacity = p->capacity ? p->capacity * 2 : 1024;
        profile_record *grown = realloc(p->records, capacity * sizeof *grown);
        if (!grown) {
            if (start) clReleaseEvent(start);
            clReleaseEvent(end);
            return cn_error_set(e, CN_ERR_NOMEM, "out of memory recording the profile of %s", name);
        }
        p->records = grown;
        p->capacity = capacity;
    }
    profile_record *r = &p->records[p->count++];
    memset(r->name, 0, sizeof r->name);
    strncpy(r->name, name, sizeof r->name - 1);
    r->tag = p->tag;
    r->start = start;
    r->end = end;
    r->flops = flops;
    r->bytes = bytes;
    return CN_OK;
}

static cn_status event_time(cl_event ev, cl_profiling_info which, cl_ulong *ns, const char *name, cn_error *e) {
    cl_int err = clGetEventProfilingInfo(ev, which, sizeof *ns, ns, NULL);
    if (err != CL_SUCCESS) return cn_cl_fail(e, err, "reading the profiling times of %s", name);
    return CN_OK;
}

/* The seconds a record took: from its own start, or from the end of its start marker (all the
 * earlier commands of the in-order queue done) when it has one. */
static cn_status record_seconds(const profile_record *r, double *seconds, cn_error *e) {
    cl_ulong begin, end;
    CN_TRY(event_time(r->end, CL_PROFILING_COMMAND_END, &end, r->name, e));
    if (r->start) CN_TRY(event_time(r->start, CL_PROFILING_COMMAND_END, &begin, r->name, e));
    else CN_TRY(event_time(r->end, CL_PROFILING_COMMAND_START, &begin, r->name, e));
    *seconds = end > begin ? (double)(end - begin) * 1e-9 : 0.0;
    return CN_OK;
}

cn_status cn_profile_resolve_launches(cn_runtime *rt, cn_profile *p, cn_profile_total **out, size_t *out_count,
                                      cn_error *e) {
    *out = NULL;
    *out_count = 0;
    CN_TRY(cn_finish(rt, e));
    cn_profile_total *launches = calloc(p->count ? p->count : 1, sizeof *launches);
    if (!launches) return cn_error_set(e, CN_ERR_NOMEM, "out of memory reading a profile of %zu commands", p->count);
    const size_t n = p->count;
    cn_status s = CN_OK;
    for (size_t i = 0; i < n && s == CN_OK; i++) {
        const profile_record *r = &p->records[i];
        cn_profile_total *l = &launches[i];
        s = record_seconds(r, &l->seconds, e);
        memcpy(l->name, r->name, sizeof l->name);
        l->tag = r->tag;
        l->calls = 1;
        l->flops = r->flops;
        l->bytes = r->bytes;
    }
    release_records(p);
    if (s != CN_OK) {
        free(launches);
        return s;
    }
    *out = launches;
    *out_count = n;
    return CN_OK;
}

cn_status cn_profile_sum(const cn_profile_total *launches, size_t count, cn_profile_total **out, size_t *out_count,
                         cn_error *e) {
    *out = NULL;
    *out_count = 0;
    /* At most one total per launch; first-seen order keeps the enqueue order readable. */
    cn_profile_total *totals = calloc(count ? count : 1, sizeof *totals);
    if (!totals) return cn_error_set(e, CN_ERR_NOMEM, "out of memory summing a profile of %zu commands", count);
    size_t n = 0;
    for (size_t i = 0; i < count; i++) {
        const cn_profile_total *l = &launches[i];
        size_t t = 0;
        while (t < n && !(totals[t].tag == l->tag && strcmp(totals[t].name, l->name) == 0)) t++;
        if (t == n) {
            memcpy(totals[n].name, l->name, sizeof totals[n].name);
            totals[n++].tag = l->tag;
        }
        totals[t].calls += l->calls;
        totals[t].seconds += l->seconds;
        totals[t].flops += l->flops;
        totals[t].bytes += l->bytes;
    }
    *out = totals;
    *out_count = n;
    return CN_OK;
}

cn_status cn_profile_resolve(cn_runtime *rt, cn_profile *p, cn_profile_total **out, size_t *out_count, cn_error *e) {
    cn_profile_total *launches;
    size_t count;
    CN_TRY(cn_profile_resolve_launches(rt, p, &launches, &count, e));
    const cn_status s = cn_profile_sum(launches, count, out, out_count, e);
    free(launches);
    return s;
}
