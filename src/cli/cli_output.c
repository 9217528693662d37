/* Output files the commands share. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "coopnets/cn_atomic_file.h"
#include "coopnets/cn_config.h"

void cn_cli_json_number(cJSON *o, const char *key, double v) {
    if (isfinite(v)) cJSON_AddNumberToObject(o, key, v);
    else cJSON_AddNullToObject(o, key);
}

/* JSON written atomically, like every output of the program. */
int cn_cli_write_json(const cn_cli *cli, const char *path, const cJSON *o) {
    char *text = cJSON_Print(o);
    cn_error e = {0};
    cn_atomic_file f;
    cn_status s = text ? cn_atomic_open(&f, path, NULL, &e) : cn_error_set(&e, CN_ERR_NOMEM, "out of memory writing %s", path);
    if (s == CN_OK) {
        cn_atomic_write(&f, text, strlen(text));
        cn_atomic_write(&f, "\n", 1);
        s = cn_atomic_commit(&f, &e);
    }
    free(text);
    if (s != CN_OK) {
        fprintf(stderr, "coopnets_cl: %s\n", e.message);
        return CN_EXIT_FAILURE;
    }
    if (!cli->quiet) printf("wrote %s\n", path);
    return CN_EXIT_OK;
}

