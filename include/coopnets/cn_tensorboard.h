/* cn_tensorboard: a run's TensorBoard event file — scalars, PNG images and text.
 *
 * The file is events.out.tfevents.<time>.<host>.<pid>.<n> in the run folder (TensorBoard reads
 * every file whose name holds "tfevents", in name order; the time is chosen later than any file
 * already there, so a resumed run's file sorts after the files it continues). It is TensorFlow's
 * record format: each record is
 *   u64 length | u32 masked CRC32C of those 8 bytes | length bytes of an Event | u32 masked CRC32C
 * (little-endian), and each Event is a protocol buffer of src/data/tensorboard.proto (TensorBoard's
 * own field numbers, encoded with protobuf-c). The first record is the file version
 * "brain.Event:2".
 *
 * Crashes: every record goes out in one write() on a file opened for appending, so a SIGKILL leaves
 * whole records; cn_tb_sync (fsync) at log points makes them survive a power loss too. A record
 * cut short by a power loss is dropped, with everything after it, when the file is next rewound.
 *
 * Resume: TensorBoard shows a step written twice as a zig-zag (or drops data when it sees a step
 * go backwards), so a resumed run first rewinds the event files already there to the records of
 * steps <= the checkpoint's iteration, each file rewritten atomically, exactly as metrics.jsonl is
 * rewound; the new file then continues from the next step. */
#ifndef CN_TENSORBOARD_H
#define CN_TENSORBOARD_H

#include <stddef.h>
#include <stdint.h>

#include "coopnets/cn_error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The tag of the run's resolved config: a text summary holding the JSON in a Markdown code block
 * ("```\n" JSON "\n```"), written at every start and rollback. */
#define CN_TB_CONFIG_TAG "config"

typedef struct cn_tb_writer {
    int fd; /* -1 when closed */
    char dir[1024];
    char path[1400];
} cn_tb_writer;

/* A writer that is not open (cn_tb_close and cn_tb_is_open work on it). */
cn_tb_writer cn_tb_closed(void);
int cn_tb_is_open(const cn_tb_writer *w);

/* Starts a new event file in run_dir. With `resume` the event files already there are first
 * rewound to `step` (cn_tb_rewind); without it they are removed (a fresh run starts its history
 * again, as metrics.jsonl does). Then writes the file version and `config_json` as the text
 * summary CN_TB_CONFIG_TAG at `step`. */
cn_status cn_tb_open(cn_tb_writer *w, const char *run_dir, int resume, uint64_t step, const char *config_json,
                     cn_error *e);

/* Cuts every event file of dir back to its records of steps <= step (and the file version), drops
 * the config text at `step` itself (the caller writes the one that holds from there on), and stops
 * at a record that is cut short or fails its CRC. Each file is rewritten atomically. */
cn_status cn_tb_rewind_dir(const char *dir, uint64_t step, cn_error *e);
/* The same for an open writer's folder, then the config text at `step` (a rollback). */
cn_status cn_tb_rewind(cn_tb_writer *w, uint64_t step, const char *config_json, cn_error *e);

/* One scalar of a log point. A value that is not finite (the net a mode does not train) is left
 * out. */
typedef struct cn_tb_scalar {
    const char *tag;
    double value;
} cn_tb_scalar;
/* The scalars of one step, in one record. */
cn_status cn_tb_scalars(cn_tb_writer *w, uint64_t step, const cn_tb_scalar *scalars, size_t count, cn_error *e);

/* An image summary holding the PNG file at png_path as it is (width, height and colour from its
 * header: gray or RGB, 8 bits). */
cn_status cn_tb_png_file(cn_tb_writer *w, const char *tag, uint64_t step, const char *png_path, cn_error *e);

/* A text summary (TensorBoard's text plugin renders it as Markdown). */
cn_status cn_tb_text(cn_tb_writer *w, const char *tag, uint64_t step, const char *text, cn_error *e);

/* fsync: what was written survives a power loss. */
cn_status cn_tb_sync(cn_tb_writer *w, cn_error *e);
void cn_tb_close(cn_tb_writer *w);

#ifdef __cplusplus
}
#endif
#endif
