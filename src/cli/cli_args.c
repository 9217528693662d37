/* A command's arguments, read against its table (cn_cli_arg), so that every command takes its
 * options the same way and answers a bad one with the same words and its usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

/* An option's integer value >= lo into *out; 0 (after saying why) when it is missing or not one. */
static int parse_count(const char *cmd, const char *opt, const char *v, long lo, long *out) {
    char *end;
    long n = v ? strtol(v, &end, 10) : 0;
    if (!v || *end || n < lo) {
        fprintf(stderr, "coopnets_cl %s: %s needs an integer >= %ld, got '%s'\n", cmd, opt, lo, v ? v : "");
        return 0;
    }
    *out = n;
    return 1;
}

int cn_cli_parse(const char *cmd, int argc, char **argv, const cn_cli_arg *args) {
    const cn_cli_arg *positional = args; /* the next positional argument's entry */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (a[0] != '-') {
            while (positional->name && positional->name[0] == '-') positional++;
            if (!positional->name) return cn_cli_usage_error(cmd, "unexpected argument '%s'", a);
            *(positional++)->text = a;
            continue;
        }
        const cn_cli_arg *o = args;
        while (o->name && strcmp(a, o->name) != 0) o++;
        if (o->flag) {
            *o->flag = 1;
            continue;
        }
        if (o->count) {
            if (!parse_count(cmd, a, v, o->min, o->count)) return CN_EXIT_USAGE;
        } else if (!o->text || !v) {
            return cn_cli_usage_error(cmd, "unknown or incomplete option '%s'", a);
        } else if (o->repeats) {
            o->text[(*o->repeats)++] = v;
        } else {
            *o->text = v;
        }
        i++;
    }
    return CN_EXIT_OK;
}
