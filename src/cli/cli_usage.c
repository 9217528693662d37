/* Every subcommand with its texts: the one-line summary of `coopnets_cl --help`, the usage lines a
 * usage error shows, and the help page of `coopnets_cl COMMAND --help`. One table, so that the
 * usage shown on an error and the help page cannot drift apart. The defaults written here are the
 * ones the cmd_*.c parsers start from. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

const cn_cli_command cn_cli_commands[] = {
    {"devices", cn_cmd_devices, "list OpenCL platforms and devices with their global index",
     "usage: coopnets_cl devices\n",
     "Lists every OpenCL platform and device with the global index that --device takes; * marks the\n"
     "default device ($COOPNETS_DEVICE, else the first GPU, else device 0).\n",
     NULL, 0},
    {"kernels", cn_cmd_kernels, "build every kernel on the device; report build times and cache use; export binaries",
     "usage: coopnets_cl kernels [--no-cache] [--export DIR]\n",
     "Builds every kernel program on the device and reports each build's time and whether it came from\n"
     "the program cache: the check that a device compiles everything (a failure prints the compiler's\n"
     "log), and the cold and warm start-up cost. With --export, writes every program as a device binary\n"
     "for devices without an online compiler (global option --binaries DIR).\n",
     "  --no-cache          compile every program afresh (default: use the program cache)\n"
     "  --export DIR        write each program's device binary and DIR/manifest.json (device, driver,\n"
     "                      build options, source hashes) into DIR, created when missing (default: none)\n", 0},
    {"train", cn_cmd_train, "train CoopNets from a JSON config (see configs/)",
     "usage: coopnets_cl train CONFIG [--out DIR] [--iters N] [--resume RUN] [--set key.path=value]...\n"
     "       coopnets_cl train --resume RUN [--out DIR] [--iters N] [--set key.path=value]...\n",
     "Trains CoopNets (or one net alone: config key \"mode\") and writes a run folder: config.json,\n"
     "metrics.jsonl, sample grids and checkpoints. SIGINT or SIGTERM stops it after a checkpoint\n"
     "(exit 130).\n",
     "  CONFIG              a JSON config, e.g. configs/tiny.json (its keys: README, Config reference)\n"
     "  --out DIR           the run folder (default: the config's training.output; with --resume of a\n"
     "                      run folder, that folder)\n"
     "  --iters N           train until N iterations in total; a resumed run continues up to N\n"
     "                      (default: training.epochs worth of iterations, else training.iterations)\n"
     "  --resume RUN        continue from a checkpoint file or a run folder's newest checkpoint; without\n"
     "                      CONFIG the config is the checkpoint's own (default: start afresh)\n"
     "  --set key.path=value\n"
     "                      override a config key, e.g. training.chains=64; repeatable (default: none)\n",
     .several_ranks = 1},
    {"sample", cn_cmd_sample, "draw samples from a checkpoint into a PNG grid",
     "usage: coopnets_cl sample CKPT [--count N] [--langevin STEPS] [--seed S] [--out FILE.png]\n",
     "Draws images from a checkpoint's generator and, when the model has a descriptor too, revises them\n"
     "with the descriptor's Langevin dynamics; writes them as PNG grids.\n",
     "  CKPT                a checkpoint file, or a run folder (its newest checkpoint)\n"
     "  --count N           images to draw, N >= 1 (default 64)\n"
     "  --langevin STEPS    descriptor Langevin steps revising the samples, 0: none (default: the\n"
     "                      config's descriptor.langevin.steps; 0 for a model without a descriptor)\n"
     "  --seed S            seed of the latent vectors and the Langevin noise (default 1)\n"
     "  --out FILE.png      the grid (default samples.png); with revision FILE.png holds the revised\n"
     "                      images and FILE-generated.png the generator's\n", 0},
    {"interpolate", cn_cmd_interpolate, "a PNG grid of latent-space interpolations from a checkpoint",
     "usage: coopnets_cl interpolate CKPT [--rows R] [--cols C] [--spherical] [--seed S] [--out FILE.png]\n",
     "Writes a PNG grid whose rows each walk the generator's latent space from one N(0, I) draw to\n"
     "another.\n",
     "  CKPT                a checkpoint file, or a run folder (its newest checkpoint)\n"
     "  --rows R            rows, each its own pair of end points, R >= 1 (default 8)\n"
     "  --cols C            images per row, end points included, C >= 2 (default 10)\n"
     "  --spherical         walk the great circle between the ends (slerp), at the norm where the prior\n"
     "                      has its mass (default: the straight line)\n"
     "  --seed S            seed of the end points (default 1)\n"
     "  --out FILE.png      the grid (default interpolation.png)\n", 0},
    {"complete", cn_cmd_complete, "pattern completion: recover hidden parts of test images, with error and PSNR",
     "usage: coopnets_cl complete CKPT [--mask square:K | random:P] [--images FILE_OR_FOLDER] [--count N]\n"
     "                                 [--steps L] [--seed S] [--out DIR]\n",
     "Pattern completion: hides part of each test image, infers the latent vector from the visible\n"
     "pixels by generator Langevin inference, and scores the recovered hidden pixels (error and PSNR).\n",
     "  CKPT                a checkpoint file, or a run folder (its newest checkpoint); needs a generator\n"
     "  --mask square:K     hide a KxK square at a random place (default: K = 3/7 of the image side,\n"
     "                      12 on 28x28)\n"
     "  --mask random:P     or hide each pixel with probability P\n"
     "  --images FILE_OR_FOLDER\n"
     "                      a folder of PNGs, one PNG or an IDX file (default: the model's own data, its\n"
     "                      test split when known: an IDX train-* file's t10k-* sibling; fresh shapes\n"
     "                      for generated data)\n"
     "  --count N           complete the first N images, N >= 1 (default: the model's chain count)\n"
     "  --steps L           Langevin inference steps, L >= 0 (default 100)\n"
     "  --seed S            seed of the masks and the Langevin noise (default 1)\n"
     "  --out DIR           where completion.png and completion.json go (default completion)\n", 0},
    {"prepare", cn_cmd_prepare, "centre-crop and resize a folder of PNGs (or of category folders) for training",
     "usage: coopnets_cl prepare SRC DST [--size N] [--channels 1|3] [--crop N]\n",
     "Centre-crops and resizes every PNG of SRC (and of each sub-folder: categories) into DST under the\n"
     "same name, so that data.kind \"folder\" or \"categories\" reads DST as it is.\n",
     "  SRC                 a folder of PNGs, or of category folders of PNGs (convert JPEGs first)\n"
     "  DST                 the output folder, created when missing; must differ from SRC\n"
     "  --size N            output side in pixels, 4 <= N <= 4096 (default 64)\n"
     "  --channels 1|3      gray or RGB output (default 3)\n"
     "  --crop N            crop the centred NxN square before resizing (default: the largest one)\n", 0},
    {"tune", cn_cmd_tune, "measure the kernel variants on a config's shapes; remember the fastest for this device",
     "usage: coopnets_cl tune CONFIG [--max-candidates N]\n",
     "Measures every kernel variant of each family (gemm: CLBlast, register tiles, local-memory tiles;\n"
     "batchnorm and reduce: a work-item or a work-group per channel or row) on the shapes of CONFIG's\n"
     "nets on the device, two training iterations per round (the second timed by OpenCL events), and\n"
     "writes the fastest of each into the tuning database in the program cache folder. Later runs on\n"
     "this device (train, bench, sample, ...) use them; a family without an entry uses its heuristic.\n",
     "  CONFIG              a JSON config in mode \"coop\", e.g. benchmarks/mnist28.json\n"
     "  --max-candidates N  measure at most N variants per family, the heuristic first, N >= 1\n"
     "                      (default: all that the device can run, up to 16)\n", 0},
    {"train-classifier", cn_cmd_train_classifier, "train the fixed classifier whose features evaluate scores in",
     "usage: coopnets_cl train-classifier [--data TRAIN_IMAGES_IDX] [--out FILE] [--epochs E] [--size S]\n"
     "                                    [--limit N] [--seed S] [--force]\n",
     "Trains the small fixed classifier whose feature space `evaluate` scores in, prints its test\n"
     "accuracy after each epoch, and saves it only when that reaches 90%.\n",
     "  --data TRAIN_IMAGES_IDX\n"
     "                      IDX training images; their labels and t10k- test split are found by name\n"
     "                      (default /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz)\n"
     "  --out FILE          where to save it (default <program cache>/classifier-<data folder>.cncl)\n"
     "  --epochs E          passes over the training images, E >= 1 (default 4)\n"
     "  --size S            image side the classifier takes, S >= 4 (default 28)\n"
     "  --limit N           train on the first N training images only (default: all)\n"
     "  --seed S            seed of the weights and the batch order (default 1)\n"
     "  --force             save even below 90% test accuracy (default: refuse)\n", 0},
    {"evaluate", cn_cmd_evaluate, "descriptor f, Frechet distance and Inception-style score of a checkpoint's samples",
     "usage: coopnets_cl evaluate CKPT [--data TRAIN_IMAGES_IDX] [--classifier FILE] [--count N]\n"
     "                                 [--seed S] [--revision-steps R] [--save-samples PREFIX]\n"
     "                                 [--out FILE.json]\n"
     "       coopnets_cl evaluate --generated IDX [--revised IDX] [--data TRAIN_IMAGES_IDX] [--classifier FILE]\n"
     "                                 [--count N] [--out FILE.json]\n",
     "Scores a checkpoint's samples: the descriptor's mean f, and a Frechet distance and Inception-style\n"
     "score in the features of train-classifier's classifier (not Inception-v3), each next to the\n"
     "real-data floor. A texture model instead gets three numbers against its observed image: not a\n"
     "copy (tile distance, next to the photograph's halves), same statistics (a Gram distance, next to\n"
     "its floor and ceilings) and diversity (tile distance between samples).\n"
     "With --generated it scores images made elsewhere (another implementation's samples) by the same\n"
     "code and against the same floor; --save-samples writes a checkpoint's samples in that form.\n",
     "  CKPT                a checkpoint file, or a run folder (its newest checkpoint)\n"
     "  --data TRAIN_IMAGES_IDX\n"
     "                      IDX training images; their labels and t10k- test split are found by name\n"
     "                      (default: the model's own data, when it is such a file; with --generated\n"
     "                      /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz)\n"
     "  --classifier FILE   the classifier (default <program cache>/classifier-<data folder>.cncl)\n"
     "  --count N           samples, and real images of each split, N >= 2 (default 1000; texture: 16;\n"
     "                      --generated: all the file holds)\n"
     "  --seed S            seed of the samples (default 1)\n"
     "  --revision-steps R  descriptor Langevin steps that revise the samples, R >= 1 (default: the\n"
     "                      model's descriptor.langevin.steps)\n"
     "  --save-samples PREFIX\n"
     "                      also write the scored samples to PREFIX-generated.idx and PREFIX-revised.idx\n"
     "                      (float32 IDX, as --generated and --revised read them) (default: not written)\n"
     "  --generated IDX     score this IDX file's images instead of a checkpoint's: float32 in [-1, 1]\n"
     "                      (the model's values), or unsigned bytes scaled as the real images; at the\n"
     "                      classifier's size; real images scaled as the classifier was trained\n"
     "  --revised IDX       with --generated: a second set, scored as the revised samples\n"
     "  --out FILE.json     the scores as JSON (default evaluation.json)\n", 0},
    {"bench", cn_cmd_bench, "time training iterations, steps and kernels on one device or all",
     "usage: coopnets_cl bench CONFIG [--device N|all] [--iters K] [--warmup W] [--sgemm N] [--json FILE]\n"
     "                         [--launches FILE]\n",
     "Times training iterations of CONFIG (mode \"coop\"): seconds per iteration, cold start with and\n"
     "without the program cache, and device time per step and kernel family.\n",
     "  CONFIG              a JSON config, e.g. benchmarks/mnist28.json\n"
     "  --device N|all      one device, or each in turn (default: the default device)\n"
     "  --iters K           timed iterations, K >= 1 (default 5)\n"
     "  --warmup W          untimed iterations before them, W >= 0 (default 1)\n"
     "  --sgemm N           also time one NxNxN SGEMM with each backend, 0: no (default 0)\n"
     "  --json FILE         also write every number as JSON (default: none)\n"
     "  --launches FILE     also write the profiled iteration launch by launch as CSV: device, step,\n"
     "                      kernel, family, seconds, GFLOP, MB, GFLOP/s, GB/s (default: none)\n",
     .several_ranks = 1},
};
const size_t cn_cli_command_count = sizeof cn_cli_commands / sizeof *cn_cli_commands;

const cn_cli_command *cn_cli_command_find(const char *name) {
    for (size_t i = 0; i < cn_cli_command_count; i++)
        if (strcmp(name, cn_cli_commands[i].name) == 0) return &cn_cli_commands[i];
    return NULL;
}

void cn_cli_help(const cn_cli_command *c, FILE *out) {
    fprintf(out, "%s\n%s\n", c->usage, c->about);
    if (c->options) fprintf(out, "arguments and options:\n%s\n", c->options);
    fprintf(out, "global options (--device N, --binaries DIR, --quiet): see coopnets_cl --help\n");
}

int cn_cli_usage_error(const char *cmd, const char *fmt, const char *arg) {
    fprintf(stderr, "coopnets_cl %s: ", cmd);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n%s", cn_cli_command_find(cmd)->usage);
    return CN_EXIT_USAGE;
}
