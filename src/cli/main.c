/*
 * cli/main.c - the `hodu` command.
 *
 *   hodu --build MODEL -o OUT.so [options]   compile a model
 *   hodu --run OUT.so --input NAME=FILE.npy  run a compiled model
 *   hodu --inspect MODEL|OUT.so              describe a model
 *   hodu --package MODEL -o OUT.hodupkg      build for several targets into one file
 *   hodu --keygen KEY.pem                    an Ed25519 key pair for --sign
 *   hodu --dump-ir MODEL                     print the IR after the passes
 *   hodu --check MODEL                       load and type-check only
 *   hodu --fmt MODEL.hodu [-i]               print (or rewrite) it formatted
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hodu.h"
#include "hodu_rt.h"
#include "backend/targets.h"
#include "package/package.h"
#include "util/util.h"

static const char usage[] =
    "usage: hodu --build MODEL.onnx|MODEL.hodu -o OUT.so [options]\n"
    "       hodu --run OUT.so|OUT.hodupkg --input NAME=FILE.npy ... [--output-dir DIR]\n"
    "       hodu --package MODEL.onnx|MODEL.hodu --target T1,T2,... -o OUT.hodupkg [--sign KEY.pem]\n"
    "                             [--name NAME] [--pkg-version V] [--license L] (and the build options)\n"
    "       hodu --keygen KEY.pem     an Ed25519 key pair: KEY.pem (private, for --sign) and KEY.pub.pem\n"
    "       hodu --inspect MODEL.onnx|OUT.so [--input-shape NAME=DIMS ...] [--dim SYM=N|LO..HI ...]\n"
    "       hodu --dump-ir MODEL.onnx|MODEL.hodu [--input-shape NAME=DIMS ...] [--dim SYM=N|LO..HI ...]\n"
    "       hodu --check MODEL.hodu|MODEL.onnx [--weights FILE]   parse and type-check only (silent when fine)\n"
    "       hodu --fmt MODEL.hodu [-i]   print the canonical formatting (-i: rewrite the file in place)\n"
    "       hodu --export-onnx MODEL.onnx --weights CKPT.safetensors -o OUT.onnx   the model with trained weights\n"
    "\n"
    "build options:\n"
    "  -o, --output FILE          shared library to write\n"
    "  --input-shape NAME=DIMS    bind an input's dims, e.g. x=1x3x224x224 (repeatable); a sequence\n"
    "                             input's length and dims: xs=[2x3,4x3]; an absent optional: o=none\n"
    "  --dim SYM=N                bind every dim named SYM in the model's inputs to N (repeatable)\n"
    "  --dim SYM=LO..HI           leave SYM a run-time dim: each run chooses its size in LO..HI\n"
    "  --const-input NAME=FILE    bake an input's value (a .npy file) into the build (repeatable)\n"
    "  --backend NAME             code generator (default native; an unknown name lists them)\n"
    "  --emit-c DIR               keep the generated C sources in DIR\n"
    "  --emit-header FILE.h       also write a C header with a typed run function for hodu_rt.h hosts\n"
    "                             (a wrong shape or dtype is an incompatible pointer type)\n"
    "  --header-prefix NAME       prefix of the header's names (default: from FILE.h); bare metal: the\n"
    "                             object's entry point is NAME_model_get_desc\n"
    "  --cc CC                    C compiler command (default: $CC, else cc)\n"
    "  --cflags FLAGS             extra flags for the C compiler, e.g. \"-march=native\"\n"
    "  -O LEVEL                   optimisation level 0-3 (default 3); 0 also turns the graph optimizations\n"
    "                             off. The C compiler gets -OLEVEL unless --cflags has a later -O\n"
    "  --march CPU                CPU the generated code targets: native (default), generic, or a -march value\n"
    "  --target TRIPLE            build for another machine: x86_64-linux-gnu (default), aarch64-linux-gnu,\n"
    "                             riscv64-linux-gnu, x86_64-w64-mingw32 (a Windows DLL), x86_64-apple-darwin,\n"
    "                             aarch64-apple-darwin (macOS dylibs, zig cc), arm-none-eabi (Cortex-M4F;\n"
    "                             --march cortex-m7), riscv64-unknown-elf, riscv32-unknown-elf (bare metal:\n"
    "                             a relocatable object; --emit-header gives its typed entry point), with its\n"
    "                             cross compiler (docs/targets.md). --march then names the target's CPU\n"
    "  --keep-denormals           keep subnormal floats while the model runs (default: flushed to zero, faster)\n"
    "  --conv-layout MODE         float32 convolutions on channel-blocked tensors: auto (default: where the\n"
    "                             cost model expects a gain), blocked (wherever they can), nchw (never)\n"
    "  --grad                     also compute gradients: an input Y.grad per float output, an output\n"
    "                             X.grad per differentiated input (the gradient of sum(Y.grad * Y))\n"
    "  --wrt NAME                 with --grad: differentiate with respect to input NAME (repeatable;\n"
    "                             default: every f32 and f64 input)\n"
    "  --train                    build one training step instead (docs/training.md): as a HoduScript\n"
    "                             program's train declaration says, or with\n"
    "    --loss NAME              mse, l1, cross_entropy, soft_cross_entropy or bce_logits\n"
    "    --optimizer SPEC         sgd, adam or adamw, then :key=value,... (momentum, weight_decay, beta1,\n"
    "                             beta2, eps); default sgd.  The learning rate is each step's input 'lr'\n"
    "    --clip-norm X            scale the gradients to a global L2 norm of at most X\n"
    "    --train-param NAME       train this initializer (repeatable; default every f32 initializer)\n"
    "    --recompute MODE         auto (default): recompute cheap forward values next to their backward\n"
    "                             readers where that lowers the workspace; none: keep them all\n"
    "  --train-eval               build the forward pass reading those parameters as inputs, to evaluate\n"
    "                             a trainer's current parameters (hodu_trainer_attach_eval)\n"
    "  --dump-ir                  also print the IR after the passes\n"
    "  --weights FILE             HoduScript: bind parameters by name to a .safetensors file\n"
    "  --seed N                   HoduScript: seed of the declared initializers when no --weights (default 0)\n"
    "  -v, --verbose              print the C compiler command\n"
    "package options (docs/packages.md):\n"
    "  --target T1,T2,...         the targets to build for (default: this machine's); each one's baseline\n"
    "                             CPU unless --march names one\n"
    "  --sign KEY.pem             sign the manifest with this Ed25519 private key (hodu --keygen, or\n"
    "                             openssl genpkey -algorithm ed25519 -out KEY.pem)\n"
    "  --name NAME, --pkg-version V, --license L   the manifest's name (default: the model's), version,\n"
    "                             license\n"
    "  --verify-key PUB.pem       with --run or --inspect of a package: require a signature that verifies\n"
    "                             with this public key (openssl pkey -in KEY.pem -pubout -out PUB.pem)\n"
    "run options:\n"
    "  --input NAME=FILE.npy      an input tensor (repeatable; one per model input); a sequence\n"
    "                             input: NAME=F0.npy,F1.npy (one file per tensor)\n"
    "  --output-dir DIR           write each output as DIR/<name>.npy\n"
    "  --repeat N                 run N more times (after 0.2 s of warm-up) and print the median and best time\n"
    "  --threads N                threads to run on (default: $HODU_NUM_THREADS, else 1)\n"
    "  --profile                  time every step (node) of the runs (the --repeat ones, if given) and print\n"
    "                             where the time goes, by step and by op\n"
    "other:\n"
    "  -h, --help                 this text\n"
    "  --version                  print the version\n";

enum mode {
    MODE_NONE,
    MODE_BUILD,
    MODE_RUN,
    MODE_INSPECT,
    MODE_DUMP,
    MODE_CHECK,
    MODE_FMT,
    MODE_EXPORT,
    MODE_PACKAGE,
    MODE_KEYGEN
};

typedef struct args {
    enum mode mode;
    const char *file;
    const char *output;
    const char *emit_c;
    const char *emit_header;
    const char *header_prefix;
    const char *cc;
    const char *cflags;
    const char *output_dir;
    const char *march;
    const char *target;
    const char *conv_layout;
    const char *backend;
    const char *weights;
    const char *sign_key, *verify_key, *pkg_name, *pkg_version, *pkg_license;
    unsigned long long seed;
    int opt_level;
    long repeat;
    long threads; /* 0: libhodu_rt's default */
    bool dump_ir, verbose, keep_denormals, in_place, profile, grad, train, train_eval;
    const char *loss, *optimizer, *recompute;
    double clip_norm;
    const char **shapes, **consts, **inputs, **dims, **wrt, **train_params;
    size_t n_shapes, cap_shapes, n_consts, cap_consts, n_inputs, cap_inputs, n_dims, cap_dims, n_wrt, cap_wrt;
    size_t n_train_params, cap_train_params;
} args;

static const char *const known_flags[] = {
    "--build",       "--run",         "--inspect",     "--dump-ir",        "--output",      "--input-shape",
    "--const-input", "--dim",         "--backend",     "--emit-c",         "--cc",          "--cflags",
    "--march",       "--target",      "--input",       "--output-dir",     "--repeat",      "--threads",
    "--verbose",     "--help",        "--version",     "--keep-denormals", "--check",       "--weights",
    "--seed",        "--fmt",         "--conv-layout", "--profile",        "--emit-header", "--header-prefix",
    "--grad",        "--wrt",         "--train",       "--loss",           "--optimizer",   "--clip-norm",
    "--train-param", "--train-eval",  "--export-onnx", "--package",        "--sign",        "--verify-key",
    "--name",        "--pkg-version", "--license",     "--keygen",         "--recompute"};

static int fail(const char *fmt, ...) HD_PRINTF(1, 2);
static int fail(const char *fmt, ...)
{
    /* Messages quote names from models and files: escaped, so they stay on
     * one line and cannot drive the terminal. */
    va_list ap;
    va_start(ap, fmt);
    hd_buf raw, line;
    hd_buf_init(&raw);
    hd_buf_init(&line);
    hd_buf_vprintf(&raw, fmt, ap);
    va_end(ap);
    hd_buf_put_escaped(&line, raw.data ? raw.data : "");
    fprintf(stderr, "hodu: error: %s\n", line.data ? line.data : "");
    hd_buf_free(&raw);
    hd_buf_free(&line);
    return 1;
}

static int unknown_flag(const char *flag)
{
    const char *best = NULL;
    size_t best_d = (size_t)-1;
    for (size_t i = 0; i < HD_ARRAY_LEN(known_flags); i++) {
        size_t dist = hd_edit_distance(flag, known_flags[i]);
        if (dist < best_d) {
            best_d = dist;
            best = known_flags[i];
        }
    }
    if (best && best_d <= 3)
        return fail("unknown option '%s'; did you mean '%s'? (see hodu --help)", flag, best);
    return fail("unknown option '%s' (see hodu --help)", flag);
}

static int set_mode(args *a, enum mode m, const char *file)
{
    if (a->mode != MODE_NONE && !(a->mode == MODE_BUILD && m == MODE_DUMP))
        return fail("choose one of --build, --package, --run, --inspect, --dump-ir, --check, --fmt");
    if (a->mode == MODE_BUILD && m == MODE_DUMP) {
        a->dump_ir = true;
        return 0;
    }
    a->mode = m;
    a->file = file;
    return 0;
}

static int parse_args(int argc, char **argv, args *a)
{
    a->opt_level = 3;
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i];
        /* Flags that take a value. */
        const char *value = (i + 1 < argc) ? argv[i + 1] : NULL;
#define NEED_VALUE()                                                                                                   \
    do {                                                                                                               \
        if (!value)                                                                                                    \
            return fail("option '%s' needs a value", f);                                                               \
        i++;                                                                                                           \
    } while (0)
        if (strcmp(f, "-h") == 0 || strcmp(f, "--help") == 0) {
            fputs(usage, stdout);
            exit(0);
        } else if (strcmp(f, "--version") == 0) {
            printf("hodu %s (ABI %u)\n", hodu_version(), HODU_ABI_VERSION);
            exit(0);
        } else if (strcmp(f, "--build") == 0 || strcmp(f, "--run") == 0 || strcmp(f, "--inspect") == 0) {
            NEED_VALUE();
            enum mode m = f[2] == 'b' ? MODE_BUILD : f[2] == 'r' ? MODE_RUN : MODE_INSPECT;
            if (set_mode(a, m, value))
                return 1;
        } else if (strcmp(f, "--package") == 0) {
            NEED_VALUE();
            if (set_mode(a, MODE_PACKAGE, value))
                return 1;
        } else if (strcmp(f, "--keygen") == 0) {
            NEED_VALUE();
            if (set_mode(a, MODE_KEYGEN, value))
                return 1;
        } else if (strcmp(f, "--sign") == 0) {
            NEED_VALUE();
            a->sign_key = value;
        } else if (strcmp(f, "--verify-key") == 0) {
            NEED_VALUE();
            a->verify_key = value;
        } else if (strcmp(f, "--name") == 0) {
            NEED_VALUE();
            a->pkg_name = value;
        } else if (strcmp(f, "--pkg-version") == 0) {
            NEED_VALUE();
            a->pkg_version = value;
        } else if (strcmp(f, "--license") == 0) {
            NEED_VALUE();
            a->pkg_license = value;
        } else if (strcmp(f, "--check") == 0) {
            NEED_VALUE();
            if (set_mode(a, MODE_CHECK, value))
                return 1;
        } else if (strcmp(f, "--fmt") == 0) {
            NEED_VALUE();
            if (set_mode(a, MODE_FMT, value))
                return 1;
        } else if (strcmp(f, "--export-onnx") == 0) {
            NEED_VALUE();
            if (set_mode(a, MODE_EXPORT, value))
                return 1;
        } else if (strcmp(f, "-i") == 0) {
            a->in_place = true;
        } else if (strcmp(f, "--weights") == 0) {
            NEED_VALUE();
            a->weights = value;
        } else if (strcmp(f, "--seed") == 0) {
            NEED_VALUE();
            char *end;
            errno = 0;
            a->seed = strtoull(value, &end, 10);
            if (*end || value[0] == '\0' || value[0] == '-' || errno)
                return fail("--seed takes a number from 0 to 2^64-1");
        } else if (strcmp(f, "--dump-ir") == 0) {
            if (a->mode == MODE_BUILD) {
                a->dump_ir = true;
            } else {
                NEED_VALUE();
                if (set_mode(a, MODE_DUMP, value))
                    return 1;
            }
        } else if (strcmp(f, "-o") == 0 || strcmp(f, "--output") == 0) {
            NEED_VALUE();
            a->output = value;
        } else if (strcmp(f, "--input-shape") == 0) {
            NEED_VALUE();
            HD_PUSH(a->shapes, a->n_shapes, a->cap_shapes, value);
        } else if (strcmp(f, "--dim") == 0) {
            NEED_VALUE();
            HD_PUSH(a->dims, a->n_dims, a->cap_dims, value);
        } else if (strcmp(f, "--wrt") == 0) {
            NEED_VALUE();
            HD_PUSH(a->wrt, a->n_wrt, a->cap_wrt, value);
        } else if (strcmp(f, "--grad") == 0) {
            a->grad = true;
        } else if (strcmp(f, "--train") == 0) {
            a->train = true;
        } else if (strcmp(f, "--train-eval") == 0) {
            a->train_eval = true;
        } else if (strcmp(f, "--loss") == 0) {
            NEED_VALUE();
            a->loss = value;
        } else if (strcmp(f, "--optimizer") == 0) {
            NEED_VALUE();
            a->optimizer = value;
        } else if (strcmp(f, "--train-param") == 0) {
            NEED_VALUE();
            HD_PUSH(a->train_params, a->n_train_params, a->cap_train_params, value);
        } else if (strcmp(f, "--recompute") == 0) {
            NEED_VALUE();
            if (strcmp(value, "auto") != 0 && strcmp(value, "none") != 0)
                return fail("--recompute takes auto or none");
            a->recompute = value;
        } else if (strcmp(f, "--clip-norm") == 0) {
            NEED_VALUE();
            char *end;
            errno = 0;
            a->clip_norm = strtod(value, &end);
            if (*end || value[0] == '\0' || errno || !(a->clip_norm > 0) || !isfinite(a->clip_norm))
                return fail("--clip-norm takes a positive number");
        } else if (strcmp(f, "--const-input") == 0) {
            NEED_VALUE();
            HD_PUSH(a->consts, a->n_consts, a->cap_consts, value);
        } else if (strcmp(f, "--input") == 0) {
            NEED_VALUE();
            HD_PUSH(a->inputs, a->n_inputs, a->cap_inputs, value);
        } else if (strcmp(f, "--emit-c") == 0) {
            NEED_VALUE();
            a->emit_c = value;
        } else if (strcmp(f, "--emit-header") == 0) {
            NEED_VALUE();
            a->emit_header = value;
        } else if (strcmp(f, "--header-prefix") == 0) {
            NEED_VALUE();
            a->header_prefix = value;
        } else if (strcmp(f, "--cc") == 0) {
            NEED_VALUE();
            a->cc = value;
        } else if (strcmp(f, "--march") == 0) {
            NEED_VALUE();
            a->march = value;
        } else if (strcmp(f, "--target") == 0) {
            NEED_VALUE();
            a->target = value;
        } else if (strcmp(f, "--conv-layout") == 0) {
            NEED_VALUE();
            if (strcmp(value, "auto") != 0 && strcmp(value, "blocked") != 0 && strcmp(value, "nchw") != 0)
                return fail("--conv-layout takes auto, blocked or nchw (got '%s')", value);
            a->conv_layout = value;
        } else if (strcmp(f, "--backend") == 0) {
            NEED_VALUE();
            a->backend = value;
        } else if (strcmp(f, "--cflags") == 0) {
            NEED_VALUE();
            a->cflags = value;
        } else if (strcmp(f, "--output-dir") == 0) {
            NEED_VALUE();
            a->output_dir = value;
        } else if (strcmp(f, "--repeat") == 0) {
            NEED_VALUE();
            char *end;
            a->repeat = strtol(value, &end, 10);
            if (*end || a->repeat < 1 || a->repeat > 1000000)
                return fail("--repeat takes a count from 1 to 1000000");
        } else if (strcmp(f, "--threads") == 0) {
            NEED_VALUE();
            char *end;
            a->threads = strtol(value, &end, 10);
            if (*end || value[0] == '\0' || a->threads < 1 || a->threads > 1024)
                return fail("--threads takes a count from 1 to 1024");
        } else if (strncmp(f, "-O", 2) == 0) {
            const char *lvl = f[2] ? f + 2 : value;
            if (!f[2])
                NEED_VALUE();
            if (!lvl || strlen(lvl) != 1 || lvl[0] < '0' || lvl[0] > '3')
                return fail("-O takes a level from 0 to 3");
            a->opt_level = lvl[0] - '0';
        } else if (strcmp(f, "-v") == 0 || strcmp(f, "--verbose") == 0) {
            a->verbose = true;
        } else if (strcmp(f, "--keep-denormals") == 0) {
            a->keep_denormals = true;
        } else if (strcmp(f, "--profile") == 0) {
            a->profile = true;
        } else if (f[0] == '-') {
            return unknown_flag(f);
        } else {
            return fail("unexpected argument '%s' (see hodu --help)", f);
        }
#undef NEED_VALUE
    }
    if (a->mode == MODE_NONE) {
        fputs(usage, stderr);
        return 1;
    }
    if (a->in_place && a->mode != MODE_FMT)
        return fail("-i goes with --fmt");
    if (a->mode == MODE_EXPORT && (!a->output || !a->weights))
        return fail("--export-onnx needs --weights CHECKPOINT.safetensors and -o OUT.onnx");
    if (a->mode == MODE_BUILD && !a->output && !a->emit_c && !a->dump_ir && !a->emit_header)
        return fail("--build needs -o OUT.so (or --emit-c DIR, --emit-header FILE.h)");
    if (a->mode != MODE_BUILD && (a->emit_header || a->header_prefix))
        return fail("--emit-header and --header-prefix go with --build");
    if (a->mode != MODE_BUILD && a->mode != MODE_DUMP && (a->grad || a->n_wrt))
        return fail("--grad and --wrt go with --build and --dump-ir");
    if (a->n_wrt && !a->grad)
        return fail("--wrt goes with --grad");
    if (a->mode != MODE_BUILD && a->mode != MODE_DUMP && a->train)
        return fail("--train goes with --build and --dump-ir");
    if (a->mode != MODE_BUILD && a->mode != MODE_DUMP && a->train_eval)
        return fail("--train-eval goes with --build and --dump-ir");
    if (!a->train && (a->loss || a->optimizer || a->clip_norm > 0 || a->recompute))
        return fail("--loss, --optimizer, --clip-norm and --recompute go with --train");
    if (!a->train && !a->train_eval && a->n_train_params)
        return fail("--train-param goes with --train or --train-eval");
    if (a->target && a->mode != MODE_BUILD && a->mode != MODE_PACKAGE)
        return fail("--target goes with --build and --package");
    if (a->target && a->mode == MODE_BUILD && strchr(a->target, ','))
        return fail("--build makes one library: give one --target (--package builds for several)");
    if (a->mode == MODE_KEYGEN && (a->output || a->target || a->march || a->n_shapes || a->n_dims || a->weights))
        return fail("--keygen takes only the private key's file name");
    if (a->mode == MODE_PACKAGE && !a->output)
        return fail("--package needs -o OUT.hodupkg");
    if (a->mode == MODE_PACKAGE && (a->emit_c || a->emit_header || a->dump_ir))
        return fail("--emit-c, --emit-header and --dump-ir go with --build");
    if (a->mode != MODE_PACKAGE && (a->sign_key || a->pkg_name || a->pkg_version || a->pkg_license))
        return fail("--sign, --name, --pkg-version and --license go with --package");
    if (a->verify_key && a->mode != MODE_RUN && a->mode != MODE_INSPECT)
        return fail("--verify-key goes with --run and --inspect (of a package)");
    if (a->mode == MODE_PACKAGE && a->march && strcmp(a->march, "native") == 0)
        return fail("--march native names this machine's CPU, and a package runs on others: name a CPU or "
                    "leave it out (each target's baseline)");
    /* the build machine's CPU says nothing about another machine's */
    if (a->target && a->mode == MODE_BUILD && a->march && strcmp(a->march, "native") == 0 &&
        strcmp(a->target, hd_target_host()) != 0)
        return fail("--march native names this machine's CPU; with --target %s give the target's (or leave it out)",
                    a->target);
    if (a->header_prefix && !a->emit_header)
        return fail("--header-prefix goes with --emit-header");
    if (a->mode != MODE_RUN && (a->n_inputs || a->output_dir || a->repeat || a->threads || a->profile))
        return fail("--input, --output-dir, --repeat, --threads and --profile go with --run");
    if (a->mode == MODE_RUN && (a->n_shapes || a->n_consts || a->n_dims || a->weights))
        return fail("--input-shape, --dim, --const-input and --weights go with --build");
    return 0;
}

/* --- run ------------------------------------------------------------------ */

/* The file name --output-dir uses for an output: [A-Za-z0-9._-] only (so no
 * '/' and never "." or ".."), at most 200 characters, plus ".npy". */
static char *output_file_name(const char *name)
{
    hd_buf b;
    hd_buf_init(&b);
    for (const char *p = name; *p && b.len < 200; p++) {
        char c = *p;
        bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == '-';
        hd_buf_putc(&b, keep ? c : '_');
    }
    if (b.len == 0 || strcmp(b.data, ".") == 0 || strcmp(b.data, "..") == 0)
        hd_buf_puts(&b, "_");
    hd_buf_puts(&b, ".npy");
    return hd_buf_take(&b);
}

/* Case-insensitive file systems are the default on macOS and Windows. */
static bool same_file_name(const char *a, const char *b)
{
#if defined(__APPLE__) || defined(_WIN32)
    for (; *a && tolower((unsigned char)*a) == tolower((unsigned char)*b); a++, b++)
        ;
    return tolower((unsigned char)*a) == tolower((unsigned char)*b);
#else
    return strcmp(a, b) == 0;
#endif
}

/* Model text for the terminal: control bytes become \xNN, so a hostile name
 * cannot send escape sequences. */
static char *printable(const char *s)
{
    hd_buf b;
    hd_buf_init(&b);
    hd_buf_put_escaped(&b, s ? s : "");
    return hd_buf_take(&b);
}

static double element_as_double(const hodu_tensor *t, int64_t i)
{
    const void *p = t->data;
    switch (t->dtype) {
    case HODU_DTYPE_F32: return ((const float *)p)[i];
    case HODU_DTYPE_F64: return ((const double *)p)[i];
    case HODU_DTYPE_I8: return ((const int8_t *)p)[i];
    case HODU_DTYPE_U8:
    case HODU_DTYPE_BOOL: return ((const uint8_t *)p)[i];
    case HODU_DTYPE_I16: return ((const int16_t *)p)[i];
    case HODU_DTYPE_U16: return ((const uint16_t *)p)[i];
    case HODU_DTYPE_I32: return ((const int32_t *)p)[i];
    case HODU_DTYPE_U32: return ((const uint32_t *)p)[i];
    case HODU_DTYPE_I64: return (double)((const int64_t *)p)[i];
    case HODU_DTYPE_U64: return (double)((const uint64_t *)p)[i];
    default: return NAN;
    }
}

static void print_summary(const char *name, const hodu_tensor *t)
{
    printf("%s: %s[", name, hodu_dtype_name(t->dtype));
    for (int i = 0; i < t->rank; i++)
        printf("%s%" PRId64, i ? "," : "", t->dims[i]);
    printf("]");
    int64_t n = hodu_shape_numel(t->rank, t->dims);
    bool numeric = t->dtype != HODU_DTYPE_F16 && t->dtype != HODU_DTYPE_BF16 && t->dtype != HODU_DTYPE_STRING &&
                   hodu_dtype_size(t->dtype) > 0 && t->dtype < HODU_DTYPE_F8E4M3FN;
    if (n > 0 && numeric) {
        double lo = INFINITY, hi = -INFINITY, sum = 0;
        for (int64_t i = 0; i < n; i++) {
            double v = element_as_double(t, i);
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
            sum += v;
        }
        printf(" min %.6g max %.6g mean %.6g", lo, hi, sum / (double)n);
        if (n <= 16) {
            printf(" = [");
            for (int64_t i = 0; i < n; i++)
                printf("%s%.6g", i ? " " : "", element_as_double(t, i));
            printf("]");
        }
    }
    printf("\n");
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

/* Keeps running for at least this long before timing: a short model's
 * first milliseconds meet cold caches and a CPU still raising its clock. */
#define WARMUP_MS 200.0

/* Times `repeat` further runs of a warmed-up instance, profiling them when
 * asked. */
static bool time_runs(hodu_instance *inst, const hodu_tensor *ins, size_t ni, hodu_tensor *outs, size_t no, long repeat,
                      bool profile, hodu_error *err)
{
    for (double start = now_ms(); now_ms() - start < WARMUP_MS;)
        if (hodu_instance_run(inst, ins, ni, outs, no, err) != HODU_OK)
            return false;
    if (profile && hodu_instance_set_profiling(inst, 1, err) != HODU_OK)
        return false;
    double *ms = hd_xmalloc((size_t)repeat * sizeof(double));
    for (long r = 0; r < repeat; r++) {
        double t0 = now_ms();
        if (hodu_instance_run(inst, ins, ni, outs, no, err) != HODU_OK) {
            free(ms);
            return false;
        }
        ms[r] = now_ms() - t0;
    }
    qsort(ms, (size_t)repeat, sizeof(double), cmp_double);
    printf("time: median %.4f ms, best %.4f ms over %ld runs\n", ms[repeat / 2], ms[0], repeat);
    free(ms);
    return true;
}

static int cmp_entry_time(const void *x, const void *y)
{
    const hodu_profile_entry *a = *(const hodu_profile_entry *const *)x, *b = *(const hodu_profile_entry *const *)y;
    return a->total_ns < b->total_ns ? 1 : a->total_ns > b->total_ns ? -1 : 0;
}

static int cmp_entry_op(const void *x, const void *y)
{
    return strcmp((*(const hodu_profile_entry *const *)x)->op, (*(const hodu_profile_entry *const *)y)->op);
}

#define PROFILE_TOP_STEPS 25

/* Where the profiled runs' time went: the costliest steps, then the time
 * of each op summed over its steps. */
static void print_profile(const hodu_instance *inst)
{
    size_t n = 0;
    const hodu_profile_entry *e = hodu_instance_profile(inst, &n);
    uint64_t runs = 0, total = 0;
    for (size_t k = 0; k < n; k++) {
        runs = e[k].runs > runs ? e[k].runs : runs;
        total += e[k].total_ns;
    }
    if (runs == 0 || total == 0) {
        printf("profile: no step timed\n");
        return;
    }
    const double per_run = 1e-6 / (double)runs; /* ns summed over runs -> ms per run */
    printf("profile: %.4f ms per run in %zu steps, over %" PRIu64 " run%s\n", (double)total * per_run, n, runs,
           runs == 1 ? "" : "s");
    const hodu_profile_entry **order = hd_xmalloc(n * sizeof *order);
    for (size_t k = 0; k < n; k++)
        order[k] = &e[k];
    qsort(order, n, sizeof *order, cmp_entry_time);
    printf("  %6s %10s %8s  %-28s %s\n", "share", "ms/run", "GFLOP/s", "op", "node");
    size_t shown = n < PROFILE_TOP_STEPS ? n : PROFILE_TOP_STEPS;
    uint64_t rest = total;
    for (size_t k = 0; k < shown; k++) {
        char *op = printable(order[k]->op), *node = printable(order[k]->node);
        char rate[32] = "";
        /* flop per ns = GFLOP/s; not for steps too short to time (a view's) */
        if (order[k]->flops && order[k]->total_ns >= 1000 * order[k]->runs)
            snprintf(rate, sizeof rate, "%.1f",
                     (double)order[k]->flops * (double)order[k]->runs / (double)order[k]->total_ns);
        printf("  %5.1f%% %10.4f %8s  %-28s %s\n", 100.0 * (double)order[k]->total_ns / (double)total,
               (double)order[k]->total_ns * per_run, rate, op, node);
        free(op);
        free(node);
        rest -= order[k]->total_ns;
    }
    if (shown < n)
        printf("  %5.1f%% %10.4f %8s  (%zu more steps)\n", 100.0 * (double)rest / (double)total, (double)rest * per_run,
               "", n - shown);
    /* by op: the steps sorted by op name and summed per name (n log n: a
     * model may have half a million steps), costliest op first */
    qsort(order, n, sizeof *order, cmp_entry_op);
    hodu_profile_entry *ops = hd_xcalloc(n, sizeof *ops); /* runs: the op's steps */
    size_t n_ops = 0;
    for (size_t k = 0; k < n; k++) {
        if (n_ops == 0 || strcmp(ops[n_ops - 1].op, order[k]->op) != 0)
            ops[n_ops++].op = order[k]->op;
        ops[n_ops - 1].total_ns += order[k]->total_ns;
        ops[n_ops - 1].runs++;
    }
    const hodu_profile_entry **by_time = hd_xmalloc(n_ops * sizeof *by_time);
    for (size_t j = 0; j < n_ops; j++)
        by_time[j] = &ops[j];
    qsort(by_time, n_ops, sizeof *by_time, cmp_entry_time);
    printf("by op:\n");
    for (size_t j = 0; j < n_ops; j++) {
        char *op = printable(by_time[j]->op);
        printf("  %5.1f%% %10.4f %8s  %-28s %" PRIu64 " step%s\n", 100.0 * (double)by_time[j]->total_ns / (double)total,
               (double)by_time[j]->total_ns * per_run, "", op, by_time[j]->runs, by_time[j]->runs == 1 ? "" : "s");
        free(op);
    }
    free(by_time);
    free(ops);
    free(order);
}

/* The first 4 bytes of the file at path (zeros when it has fewer or
 * cannot be read). */
static void file_magic(const char *path, unsigned char magic[4])
{
    memset(magic, 0, 4);
    FILE *f = fopen(path, "rb");
    if (f) {
        if (fread(magic, 1, 4, f) != 4)
            memset(magic, 0, 4);
        fclose(f);
    }
}

/* A zip archive's first bytes: a package (docs/packages.md). */
static bool is_package(const char *path)
{
    unsigned char magic[4];
    file_magic(path, magic);
    return memcmp(magic, "PK\3\4", 4) == 0;
}

/* Opens the package at path, requiring a signature that verifies with
 * --verify-key's public key when one is given. */
static int open_package(const char *path, const char *verify_key, hodu_package **pkg)
{
    uint8_t key[HODU_PACKAGE_PUBLIC_KEY_BYTES];
    hodu_package_options po = {0, NULL};
    if (verify_key) {
        hd_diag d;
        hd_diag_init(&d, NULL);
        bool ok = hd_package_read_public_key(verify_key, key, &d);
        hd_diag_print(&d, stderr);
        hd_diag_free(&d);
        if (!ok)
            return 1;
        po.flags = HODU_PACKAGE_REQUIRE_SIGNATURE;
        po.public_key = key;
    }
    hodu_error err;
    if (hodu_package_open(path, &po, pkg, &err) != HODU_OK)
        return fail("%s", err.message);
    return 0;
}

/* The sequence or optional input (output) entry named `name`, or NULL. */
static const hodu_value_desc *find_value(const hodu_model_desc *d, bool output, const char *name)
{
    const hodu_value_desc *v = output ? d->output_values : d->input_values;
    uint32_t n = output ? d->n_output_values : d->n_input_values;
    for (uint32_t k = 0; name && k < n; k++)
        if (strcmp(v[k].name, name) == 0)
            return &v[k];
    return NULL;
}

static const char *const value_kinds[] = {"tensor", "sequence", "optional tensor", "optional sequence"};

/* --input NAME=FILE,FILE,... for a sequence (or optional) input: each
 * file to its tensor, the count checked against the build.  false after
 * reporting. */
static bool read_value_input(const args *a, const hodu_model *m, const hodu_value_desc *v, const char *paths,
                             hodu_tensor *ins, bool *given)
{
    char *name = printable(v->name);
    bool ok = false;
    if (!v->present) {
        fail("%s: input '%s' is an optional this library was built without (--input-shape %s=none); give no "
             "--input for it",
             a->file, name, name);
        goto out;
    }
    size_t n = *paths ? 1 : 0;
    for (const char *p = paths; *p; p++)
        n += *p == ',';
    if (n != v->count) {
        fail("%s: input '%s' is a %s of %u tensors in this library (fixed by --input-shape when built), but %zu "
             "file%s given",
             a->file, name, value_kinds[v->kind], (unsigned)v->count, n, n == 1 ? " is" : "s are");
        goto out;
    }
    const char *p = paths;
    for (uint32_t k = 0; k < v->count; k++) {
        const char *comma = strchr(p, ',');
        char *path = comma ? hd_xstrndup(p, (size_t)(comma - p)) : hd_xstrdup(p);
        uint32_t idx = v->first + k;
        hodu_error err;
        hodu_status st = given[idx]
                             ? HODU_ERR_INVALID_ARG
                             : hodu_npy_read_as(path, (hodu_dtype)hodu_model_input(m, idx)->dtype, &ins[idx], &err);
        free(path);
        if (given[idx]) {
            fail("%s: input '%s' is given twice", a->file, hodu_model_input(m, idx)->name);
            goto out;
        }
        if (st != HODU_OK) {
            fail("%s", err.message);
            goto out;
        }
        given[idx] = true;
        p = comma ? comma + 1 : p + strlen(p);
    }
    ok = true;
out:
    free(name);
    return ok;
}

/* The lines --run prints for the sequences and optionals among the
 * outputs: each one's kind and tensor count, or that it is absent. */
static void print_value_summaries(const hodu_model_desc *d)
{
    for (uint32_t k = 0; k < d->n_output_values; k++) {
        const hodu_value_desc *v = &d->output_values[k];
        char *name = printable(v->name);
        if (v->present)
            printf("%s: %s of %u tensors\n", name, value_kinds[v->kind], (unsigned)v->count);
        else
            printf("%s: absent (%s)\n", name, value_kinds[v->kind]);
        free(name);
    }
}

/* A model file, or a package's library for this machine. */
static int open_model(const args *a, hodu_model **m)
{
    hodu_error err;
    if (is_package(a->file)) {
        hodu_package *pkg = NULL;
        if (open_package(a->file, a->verify_key, &pkg))
            return 1;
        hodu_status st = hodu_package_load(pkg, m, &err);
        hodu_package_close(pkg);
        return st == HODU_OK ? 0 : fail("%s", err.message);
    }
    if (a->verify_key)
        return fail("--verify-key: '%s' is not a package", a->file);
    if (hodu_model_open(a->file, m, &err) != HODU_OK)
        return fail("%s", err.message);
    return 0;
}

static int run_model(const args *a)
{
    hodu_error err;
    hodu_model *m = NULL;
    if (open_model(a, &m))
        return 1;
    size_t ni = hodu_model_num_inputs(m), no = hodu_model_num_outputs(m);
    hodu_tensor *ins = hd_xcalloc(ni + 1, sizeof(hodu_tensor));
    hodu_tensor *outs = hd_xcalloc(no + 1, sizeof(hodu_tensor));
    bool *given = hd_xcalloc(ni + 1, sizeof(bool));
    bool *borrowed = hd_xcalloc(no + 1, sizeof(bool)); /* outputs whose data the instance owns */
    hodu_instance *inst = NULL;
    char **files = NULL;
    int rc = 1;
    for (size_t k = 0; k < a->n_inputs; k++) {
        const char *arg = a->inputs[k];
        const char *eq = strchr(arg, '=');
        char *name = eq ? hd_xstrndup(arg, (size_t)(eq - arg)) : NULL;
        const char *path = eq ? eq + 1 : arg;
        long idx = -1;
        const hodu_value_desc *value = find_value(hodu_model_desc_of(m), false, name);
        if (value && !(value->kind == HODU_VALUE_OPTIONAL && value->present)) {
            bool read = read_value_input(a, m, value, path, ins, given);
            free(name);
            if (!read)
                goto done;
            continue;
        }
        if (name)
            idx = hodu_model_find_input(m, name);
        else if (ni == 1)
            idx = 0;
        if (idx < 0) {
            hd_buf names;
            hd_buf_init(&names);
            for (size_t i = 0; i < ni; i++)
                hd_buf_printf(&names, "%s'%s'", i ? ", " : "", hodu_model_input(m, i)->name);
            fail("%s: --input '%s': the model has no input %s%s%s (inputs: %s)", a->file, arg, name ? "'" : "",
                 name ? name : "without a name", name ? "'" : "", ni ? names.data : "none");
            hd_buf_free(&names);
            free(name);
            goto done;
        }
        free(name);
        if (given[idx]) {
            fail("%s: input '%s' is given twice", a->file, hodu_model_input(m, (size_t)idx)->name);
            goto done;
        }
        if (hodu_npy_read_as(path, (hodu_dtype)hodu_model_input(m, (size_t)idx)->dtype, &ins[idx], &err) != HODU_OK) {
            fail("%s", err.message);
            goto done;
        }
        given[idx] = true;
    }
    for (size_t i = 0; i < ni; i++)
        if (!given[i]) {
            fail("%s: missing --input %s=FILE.npy", a->file, hodu_model_input(m, i)->name);
            goto done;
        }
    for (size_t i = 0; i < no; i++) {
        const hodu_tensor_desc *o = hodu_model_output(m, i);
        bool unbounded = false;
        for (int d = 0; d < o->rank; d++)
            unbounded |= o->dims[d] == -1;
        if (unbounded) { /* the run hands back the instance's own buffer (hodu_abi.h) */
            outs[i].dtype = (hodu_dtype)o->dtype;
            outs[i].rank = o->rank;
            borrowed[i] = true;
            continue;
        }
        if (hodu_tensor_alloc(&outs[i], (hodu_dtype)o->dtype, o->rank, o->dims, &err) != HODU_OK) {
            fail("%s", err.message);
            goto done;
        }
    }
    hodu_instance_options opts = {.n_threads = (uint32_t)a->threads};
    if (hodu_instance_create_with(m, &opts, &inst, &err) != HODU_OK ||
        (a->profile && !a->repeat && hodu_instance_set_profiling(inst, 1, &err) != HODU_OK) ||
        hodu_instance_run(inst, ins, ni, outs, no, &err) != HODU_OK) {
        fail("%s: %s", a->file, err.message);
        goto done;
    }
    if (a->repeat && !time_runs(inst, ins, ni, outs, no, a->repeat, a->profile, &err)) {
        fail("%s: %s", a->file, err.message);
        goto done;
    }
    if (a->profile)
        print_profile(inst);
    if (a->output_dir) {
        /* Every file name first: two outputs must never share one file. */
        files = hd_xcalloc(no + 1, sizeof(char *));
        for (size_t i = 0; i < no; i++) {
            files[i] = output_file_name(hodu_model_output(m, i)->name);
            for (size_t j = 0; j < i; j++)
                if (same_file_name(files[i], files[j])) {
                    char *x = printable(hodu_model_output(m, j)->name), *y = printable(hodu_model_output(m, i)->name);
                    fail("%s: outputs '%s' and '%s' would both be written to '%s/%s'; rename one in the model", a->file,
                         x, y, a->output_dir, files[i]);
                    free(x);
                    free(y);
                    goto done;
                }
        }
        if (mkdir(a->output_dir, 0777) != 0 && errno != EEXIST) {
            fail("cannot create '%s': %s", a->output_dir, strerror(errno));
            goto done;
        }
    }
    print_value_summaries(hodu_model_desc_of(m));
    for (size_t i = 0; i < no; i++) {
        char *name = printable(hodu_model_output(m, i)->name);
        print_summary(name, &outs[i]);
        free(name);
        if (!a->output_dir)
            continue;
        char *path = hd_xasprintf("%s/%s", a->output_dir, files[i]);
        hodu_status st = hodu_npy_write(path, &outs[i], &err);
        free(path);
        if (st != HODU_OK) {
            fail("%s", err.message);
            goto done;
        }
    }
    rc = 0;
done:
    for (size_t i = 0; files && i < no; i++)
        free(files[i]);
    free(files);
    hodu_instance_destroy(inst);
    for (size_t i = 0; i < ni; i++)
        hodu_tensor_free(&ins[i]);
    for (size_t i = 0; i < no; i++)
        if (!borrowed[i])
            hodu_tensor_free(&outs[i]);
    free(ins);
    free(outs);
    free(given);
    free(borrowed);
    hodu_model_close(m);
    return rc;
}

/* --- inspect a compiled library ------------------------------------------- */

static void print_desc(const hodu_tensor_desc *t)
{
    char *name = printable(t->name);
    printf("  %-24s %s[", name, hodu_dtype_name((hodu_dtype)t->dtype));
    free(name);
    /* a dim chosen at run time, or whose size the run reports (it depends
     * on data), shows its range, and a run-time dim its name */
    for (int i = 0; i < t->rank; i++) {
        printf("%s", i ? "," : "");
        if (t->dim_names && t->dim_names[i]) {
            char *dim = printable(t->dim_names[i]);
            printf("%s=", dim);
            free(dim);
        }
        if (t->dims[i] == -1) /* unbounded (hodu_abi.h) */
            printf("%" PRId64 "..?", t->min_dims ? t->min_dims[i] : 0);
        else if (t->min_dims && t->min_dims[i] != t->dims[i])
            printf("%" PRId64 "..%" PRId64, t->min_dims[i], t->dims[i]);
        else
            printf("%" PRId64, t->dims[i]);
    }
    printf("]\n");
}

static int inspect_library(const char *path)
{
    hodu_error err;
    hodu_model *m = NULL;
    if (hodu_model_open(path, &m, &err) != HODU_OK)
        return fail("%s", err.message);
    const hodu_model_desc *d = hodu_model_desc_of(m);
    char *name = printable(d->model_name), *producer = printable(d->producer);
    printf("compiled model %s\n  name: %s\n  built by: %s (ABI %u)\n  workspace: %" PRIu64 " bytes + %" PRIu64
           " per thread\ninputs:\n",
           path, name, producer, d->abi_version, d->workspace_bytes, d->worker_bytes);
    free(name);
    free(producer);
    for (size_t i = 0; i < hodu_model_num_inputs(m); i++)
        print_desc(hodu_model_input(m, i));
    printf("outputs:\n");
    for (size_t i = 0; i < hodu_model_num_outputs(m); i++)
        print_desc(hodu_model_output(m, i));
    if (d->n_input_values + d->n_output_values)
        printf("sequences and optionals:\n");
    for (uint32_t k = 0; k < d->n_input_values + d->n_output_values; k++) {
        bool in = k < d->n_input_values;
        const hodu_value_desc *v = in ? &d->input_values[k] : &d->output_values[k - d->n_input_values];
        char *vname = printable(v->name);
        if (v->present && v->count > 0)
            printf("  %-24s %s %s of %u tensors (%s %u..%u)\n", vname, in ? "input" : "output", value_kinds[v->kind],
                   (unsigned)v->count, in ? "inputs" : "outputs", (unsigned)v->first,
                   (unsigned)(v->first + v->count - 1));
        else if (v->present)
            printf("  %-24s %s %s of 0 tensors\n", vname, in ? "input" : "output", value_kinds[v->kind]);
        else
            printf("  %-24s %s %s, absent in this build\n", vname, in ? "input" : "output", value_kinds[v->kind]);
        free(vname);
    }
    hodu_model_close(m);
    return 0;
}

/* KEY.pem and KEY.pub.pem (KEY and KEY.pub.pem for a name without .pem). */
static int keygen(const char *path)
{
    size_t n = strlen(path);
    bool pem = n > 4 && strcmp(path + n - 4, ".pem") == 0;
    char *pub = hd_xasprintf("%.*s.pub.pem", (int)(pem ? n - 4 : n), path);
    hd_diag d;
    hd_diag_init(&d, NULL);
    bool ok = hd_package_keygen(path, pub, &d);
    hd_diag_print(&d, stderr);
    hd_diag_free(&d);
    if (ok)
        printf("wrote %s (private: keep it so) and %s (public: give it to --verify-key)\n", path, pub);
    free(pub);
    return ok ? 0 : 1;
}

static int inspect_package(const args *a)
{
    hodu_package *pkg = NULL;
    if (open_package(a->file, a->verify_key, &pkg))
        return 1;
    static const char *const states[] = {"unsigned", "signed (not verified: no --verify-key)",
                                         "signed, verified with the given key"};
    long host = hodu_package_host_library(pkg);
    printf("package %s\n  signature: %s\n  every entry's SHA-256 matches the manifest\n  for this machine: %s\n"
           "manifest.json:\n",
           a->file, states[hodu_package_signature_state(pkg)],
           host >= 0 ? hodu_package_library_name(pkg, (size_t)host) : "none");
    /* the manifest as stored, line by line (escaped: its text is the
     * package's) */
    char *text = hd_xstrdup(hodu_package_manifest(pkg, NULL));
    for (char *save = NULL, *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *shown = printable(line);
        printf("%s\n", shown);
        free(shown);
    }
    free(text);
    hodu_package_close(pkg);
    return 0;
}

static bool is_shared_library(const char *path)
{
    unsigned char magic[4];
    file_magic(path, magic);
    return ((magic[0] == 0x7f && magic[1] == 'E' && magic[2] == 'L' && magic[3] == 'F') ||
            (magic[0] == 0xcf && magic[1] == 0xfa) || (magic[0] == 'M' && magic[1] == 'Z'));
}

/* A build stopped by a signal stops its compiler and removes its temporary
 * files (see hd_cleanup_on_signal: async-signal-safe work only). */
static void on_fatal_signal(int sig)
{
    hd_cleanup_on_signal();
    _exit(128 + sig);
}

static void install_signal_handlers(void)
{
    for (const int *s = hd_cleanup_signals; *s; s++) {
        struct sigaction old, sa;
        /* A signal the caller ignores (nohup) stays ignored. */
        if (sigaction(*s, NULL, &old) == 0 && old.sa_handler == SIG_IGN)
            continue;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_fatal_signal;
        sigfillset(&sa.sa_mask);
        sigaction(*s, &sa, NULL);
    }
}

int main(int argc, char **argv)
{
    install_signal_handlers();
    args a;
    memset(&a, 0, sizeof(a));
    int rc = parse_args(argc, argv, &a);
    if (rc == 0) {
        hodu_build_options o;
        hodu_build_options_init(&o);
        o.input_path = a.file;
        o.output_path = a.mode == MODE_BUILD || a.mode == MODE_EXPORT || a.mode == MODE_PACKAGE ? a.output : NULL;
        o.emit_c_dir = a.mode == MODE_BUILD ? a.emit_c : NULL;
        o.header_path = a.mode == MODE_BUILD ? a.emit_header : NULL;
        o.header_prefix = a.header_prefix;
        o.cc = a.cc;
        o.cflags = a.cflags;
        o.opt_level = a.opt_level;
        o.graph_opt = a.opt_level > 0;
        o.keep_denormals = a.keep_denormals;
        if (a.march)
            o.march = a.march;
        o.target = a.target;
        o.conv_layout = a.conv_layout;
        o.input_shapes = a.shapes;
        o.n_input_shapes = a.n_shapes;
        o.dims = a.dims;
        o.n_dims = a.n_dims;
        o.gradients = a.grad;
        o.wrt = a.wrt;
        o.n_wrt = a.n_wrt;
        o.train_loss = a.train ? a.loss : NULL;
        o.train = a.train; /* no --loss: the program's own train declaration */
        o.train_optimizer = a.optimizer;
        o.train_clip_norm = a.clip_norm;
        o.train_recompute = a.recompute;
        o.train_params = a.train_params;
        o.n_train_params = a.n_train_params;
        o.train_eval = a.train_eval;
        o.const_inputs = a.consts;
        o.n_const_inputs = a.n_consts;
        o.dump_ir = (a.dump_ir || a.mode == MODE_DUMP) ? stdout : NULL;
        o.verbose = a.verbose;
        o.backend = a.backend;
        o.weights = a.weights;
        o.seed = a.seed;
        switch (a.mode) {
        case MODE_CHECK: rc = hodu_check_model(&o); break;
        case MODE_FMT: rc = hodu_format_model(&o, a.in_place); break;
        case MODE_EXPORT: rc = hodu_export_model(&o); break;
        case MODE_BUILD:
        case MODE_DUMP: rc = hodu_build(&o); break;
        case MODE_RUN: rc = run_model(&a); break;
        case MODE_INSPECT:
            if (is_package(a.file))
                rc = inspect_package(&a);
            else if (a.verify_key)
                rc = fail("--verify-key: '%s' is not a package", a.file);
            else
                rc = is_shared_library(a.file) ? inspect_library(a.file) : hodu_inspect_model(&o, stdout);
            break;
        case MODE_KEYGEN: rc = keygen(a.file); break;
        case MODE_PACKAGE: {
            hd_package_request req = {.targets = a.target,
                                      .name = a.pkg_name,
                                      .version = a.pkg_version,
                                      .license = a.pkg_license,
                                      .sign_key = a.sign_key};
            o.march = a.march; /* NULL: each target's baseline, not this machine's CPU */
            rc = hd_package_build(&o, &req);
            break;
        }
        default: rc = 1;
        }
    }
    free(a.shapes);
    free(a.dims);
    free(a.wrt);
    free(a.train_params);
    free(a.consts);
    free(a.inputs);
    return rc;
}
