/* Output files the commands share. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "coopnets/cn_config.h"

/* JSON through a temporary file and a rename, like every output of the program. */
int cn_cli_write_json(const cn_cli *cli, const char *path, const cJSON *o) {
    char *text = cJSON_Print(o), tmp[CN_PATH_MAX + 64];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = text ? fopen(tmp, "w") : NULL;
    int ok = f && fputs(text, f) >= 0 && fputc('\n', f) != EOF;
    if (f) ok = fclose(f) == 0 && ok;
    ok = ok && rename(tmp, path) == 0;
    int err = errno;
    free(text);
    if (!ok) {
        remove(tmp);
        fprintf(stderr, "coopnets_cl: cannot write %s: %s\n", path, strerror(err ? err : EIO));
        return CN_EXIT_FAILURE;
    }
    if (!cli->quiet) printf("wrote %s\n", path);
    return CN_EXIT_OK;
}

