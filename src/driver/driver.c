/*
 * driver/driver.c - the pipeline, as a plain list of calls (hodu_build), and
 * model inspection.  Front ends are chosen by file extension.
 */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/backend.h"
#include "driver/driver_impl.h"
#include "hodu.h"
#include "hodu_rt.h"
#include "loader/loader.h"
#include "ops/ops.h"
#include "ops/random.h"
#include "passes/passes.h"
#include "script/script.h"
#include "backend/targets.h"
#include "util/hash.h"

#ifndef HODU_VERSION
#define HODU_VERSION "dev"
#endif

const char *hodu_version(void) { return HODU_VERSION; }

void hodu_build_options_init(hodu_build_options *o)
{
    memset(o, 0, sizeof(*o));
    o->opt_level = 3;
    o->graph_opt = true;
    o->march = "native";
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t ls = strlen(s), lx = strlen(suffix);
    return ls >= lx && strcmp(s + ls - lx, suffix) == 0;
}

/* The training flag a build was given, if any: a HoduScript program that
 * declares its training refuses them. */
static const char *train_flag(const hodu_build_options *o)
{
    if (!o->train && !o->train_loss && !o->train_eval)
        return NULL;
    return o->train_loss        ? "--loss"
           : o->train_optimizer ? "--optimizer"
           : o->train_clip_norm ? "--clip-norm"
           : o->n_train_params  ? "--train-param"
                                : NULL;
}

/* `expect` (may be NULL) receives a HoduScript program's checked types,
 * which debug builds compare with the IR's inference; `st` (may be NULL)
 * its train declaration. */
static ir_graph *load_front_end(const hodu_build_options *o, hs_expect **expect, hodu_script_train *st, hd_diag *d)
{
    const char *path = o->input_path;
    for (size_t i = 0; ends_with(path, ".hodu") && i < o->n_input_shapes; i++)
        if (loader_is_value_binding(o->input_shapes[i])) {
            hd_error(d, "--input-shape %s: a HoduScript model has no sequence or optional inputs", o->input_shapes[i]);
            return NULL;
        }
    if (ends_with(path, ".hodu")) {
        hodu_script_options so = {.weights = o->weights,
                                  .seed = o->seed,
                                  .expect = expect,
                                  .train = o->train && !o->train_loss,
                                  .train_flag = train_flag(o),
                                  .train_out = st};
        return hodu_load_script(path, &so, d);
    }
    if (o->weights) {
        hd_error(d, "--weights goes with HoduScript (.hodu) models");
        return NULL;
    }
    hodu_load_options lo = {.input_shapes = o->input_shapes, .n_input_shapes = o->n_input_shapes};
    return hodu_load_onnx(path, &lo, d);
}

static void flush_diag(const hodu_build_options *o, hd_diag *d);

int hodu_check_model(const hodu_build_options *o)
{
    hd_diag d;
    hd_diag_init(&d, o->input_path);
    if (ends_with(o->input_path, ".hodu")) {
        hodu_script_options so = {.weights = o->weights, .seed = o->seed, .check_only = true};
        hodu_load_script(o->input_path, &so, &d);
    } else {
        ir_graph *g = load_front_end(o, NULL, NULL, &d);
        if (g)
            ir_verify(g, false, &d);
        ir_graph_free(g);
    }
    bool ok = !hd_failed(&d);
    flush_diag(o, &d);
    hd_diag_free(&d);
    return ok ? 0 : 1;
}

int hodu_export_model(const hodu_build_options *o)
{
    hd_diag d;
    hd_diag_init(&d, o->input_path);
    if (ends_with(o->input_path, ".hodu"))
        hd_error(&d, "--export-onnx writes ONNX models back: give the .onnx file the weights were trained from");
    else if (!o->weights || !o->output_path)
        hd_error(&d, "--export-onnx needs --weights CHECKPOINT.safetensors and -o OUT.onnx");
    else
        hodu_export_onnx(o->input_path, o->weights, o->output_path, &d);
    bool ok = !hd_failed(&d);
    flush_diag(o, &d);
    hd_diag_free(&d);
    return ok ? 0 : 1;
}

int hodu_format_model(const hodu_build_options *o, bool in_place)
{
    hd_diag d;
    hd_diag_init(&d, o->input_path);
    if (!ends_with(o->input_path, ".hodu"))
        hd_error(&d, "--fmt formats HoduScript (.hodu) files");
    else
        hodu_format_script(o->input_path, in_place, stdout, &d);
    bool ok = !hd_failed(&d);
    flush_diag(o, &d);
    hd_diag_free(&d);
    return ok ? 0 : 1;
}

/* "name=1x3x224x224" -> binding.  The name is everything before the last '='. */
static bool parse_shape_arg(const char *arg, pass_shape_binding *b, char **name, hd_diag *d)
{
    const char *eq = strrchr(arg, '=');
    if (!eq || eq == arg) {
        hd_error(d, "--input-shape '%s': expected NAME=DIMS, e.g. x=1x3x224x224", arg);
        return false;
    }
    *name = hd_xstrndup(arg, (size_t)(eq - arg));
    b->input = *name;
    b->rank = 0;
    const char *p = eq + 1;
    if (*p == '\0' || strcmp(p, "scalar") == 0)
        return true;
    while (*p) {
        char *end;
        long long v = strtoll(p, &end, 10);
        if (end == p || v < 0 || b->rank >= HODU_MAX_RANK || (*end && *end != 'x' && *end != ',')) {
            hd_error(d, "--input-shape '%s': dims must be non-negative integers separated by 'x' (at most %d)", arg,
                     HODU_MAX_RANK);
            return false;
        }
        b->dims[b->rank++] = v;
        p = *end ? end + 1 : end;
    }
    return true;
}

/* "batch=8" or "batch=1..64" -> binding.  The name is everything before
 * the last '='. */
static bool parse_dim_arg(const char *arg, pass_dim_binding *b, char **name, hd_diag *d)
{
    const char *eq = strrchr(arg, '=');
    char *end = NULL;
    long long lo = -1, hi = -1;
    b->expr = NULL;
    if (eq && eq != arg && strpbrk(eq + 1, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")) {
        *name = hd_xstrndup(arg, (size_t)(eq - arg)); /* SYM=EXPR: checked when bound */
        b->sym = *name;
        b->expr = eq + 1;
        return true;
    }
    if (eq && eq != arg) {
        lo = hi = strtoll(eq + 1, &end, 10);
        if (end != eq + 1 && strncmp(end, "..", 2) == 0) {
            const char *p = end + 2;
            hi = strtoll(p, &end, 10);
            if (end == p)
                end = NULL;
        } else if (end == eq + 1) {
            end = NULL;
        }
    }
    if (!eq || eq == arg || !end || *end || lo < 0 || hi < lo) {
        hd_error(d,
                 "--dim '%s': expected SYM=N, SYM=LO..HI with 0 <= LO <= HI, or SYM=EXPR over other run-time dims, "
                 "e.g. batch=8, batch=1..64 or total=past+seq",
                 arg);
        return false;
    }
    *name = hd_xstrndup(arg, (size_t)(eq - arg));
    b->sym = *name;
    b->lo = lo;
    b->hi = hi;
    return true;
}

static bool parse_const_arg(const char *arg, pass_value_binding *b, hodu_tensor *t, char **name, hd_diag *d)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg || !eq[1]) {
        hd_error(d, "--const-input '%s': expected NAME=FILE.npy", arg);
        return false;
    }
    *name = hd_xstrndup(arg, (size_t)(eq - arg));
    hodu_error err;
    if (hodu_npy_read(eq + 1, t, &err) != HODU_OK) {
        hd_error(d, "--const-input %s: %s", *name, err.message);
        return false;
    }
    b->input = *name;
    b->dtype = t->dtype;
    b->rank = t->rank;
    memcpy(b->dims, t->dims, sizeof(b->dims));
    b->data = t->data;
    b->nbytes = t->nbytes;
    return true;
}

static void flush_diag(const hodu_build_options *o, hd_diag *d)
{
    if (!o->message) {
        hd_diag_print(d, stderr);
        return;
    }
    /* The same escaped line hd_diag_print writes: a host may show it on a
     * terminal too. */
    for (size_t i = 0; i < d->len; i++) {
        char *line = hd_diag_line(d, i);
        o->message(o->user, line);
        free(line);
        /* then the source snippet under it, a line per call (already
         * escaped when it was made) */
        for (const char *p = d->msgs[i].detail; p && *p;) {
            const char *nl = strchr(p, '\n');
            size_t n = nl ? (size_t)(nl - p) : strlen(p);
            char *part = hd_xstrndup(p, n);
            o->message(o->user, part);
            free(part);
            p += n + (nl != NULL);
        }
    }
}

static bool debug_verify(const ir_graph *g, bool shapes, hd_diag *d)
{
#ifdef NDEBUG
    (void)g;
    (void)shapes;
    (void)d;
    return true;
#else
    return ir_verify(g, shapes, d);
#endif
}

/* `--loss` and `--optimizer KIND[:key=value,...]` into t. */
static bool parse_train(const hodu_build_options *o, pass_train *t, hd_diag *d)
{
    static const char *const losses[] = {"mse", "l1", "cross_entropy", "soft_cross_entropy", "bce_logits"};
    static const pass_loss loss_ids[] = {PASS_LOSS_MSE, PASS_LOSS_L1, PASS_LOSS_CROSS_ENTROPY,
                                         PASS_LOSS_SOFT_CROSS_ENTROPY, PASS_LOSS_BCE_LOGITS};
    memset(t, 0, sizeof(*t));
    t->params = o->train_params;
    t->n_params = o->n_train_params;
    t->clip_norm = o->train_clip_norm;
    size_t k = 0;
    while (k < 5 && strcmp(o->train_loss, losses[k]) != 0)
        k++;
    if (k == 5) {
        hd_error(d, "--loss %s: unknown loss (mse, l1, cross_entropy, soft_cross_entropy, bce_logits)", o->train_loss);
        return false;
    }
    t->loss = loss_ids[k];
    const char *spec = o->train_optimizer ? o->train_optimizer : "sgd";
    size_t kind_len = strcspn(spec, ":");
    pass_optimizer *opt = &t->opt;
    opt->beta1 = 0.9;
    opt->beta2 = 0.999;
    opt->eps = 1e-8;
    if (kind_len == 3 && strncmp(spec, "sgd", 3) == 0) {
        opt->kind = PASS_OPT_SGD;
    } else if (kind_len == 4 && strncmp(spec, "adam", 4) == 0) {
        opt->kind = PASS_OPT_ADAM;
    } else if (kind_len == 5 && strncmp(spec, "adamw", 5) == 0) {
        opt->kind = PASS_OPT_ADAMW;
        opt->weight_decay = 0.01; /* PyTorch's default */
    } else {
        hd_error(d, "--optimizer %s: unknown optimizer (sgd, adam or adamw, then :key=value,...)", spec);
        return false;
    }
    const char *p = spec[kind_len] ? spec + kind_len + 1 : spec + kind_len;
    while (*p) {
        size_t len = strcspn(p, ",");
        char *item = hd_xstrndup(p, len);
        char *eq = strchr(item, '=');
        char *end = NULL;
        double v = eq ? strtod(eq + 1, &end) : 0;
        bool ok = eq && end && end != eq + 1 && *end == '\0' && isfinite(v);
        if (eq)
            *eq = '\0';
        double *slot = NULL;
        if (ok && strcmp(item, "momentum") == 0 && opt->kind == PASS_OPT_SGD)
            slot = &opt->momentum;
        else if (ok && strcmp(item, "weight_decay") == 0)
            slot = &opt->weight_decay;
        else if (ok && strcmp(item, "beta1") == 0 && opt->kind != PASS_OPT_SGD)
            slot = &opt->beta1;
        else if (ok && strcmp(item, "beta2") == 0 && opt->kind != PASS_OPT_SGD)
            slot = &opt->beta2;
        else if (ok && strcmp(item, "eps") == 0 && opt->kind != PASS_OPT_SGD)
            slot = &opt->eps;
        if (ok && strcmp(item, "lr") == 0)
            hd_error(d, "--optimizer %s: the learning rate is not built in; each step takes it as its input 'lr'",
                     spec);
        else if (!slot)
            hd_error(d, "--optimizer %s: '%s' is not a setting of %.*s with a number (%s)", spec, item, (int)kind_len,
                     spec, opt->kind == PASS_OPT_SGD ? "momentum, weight_decay" : "weight_decay, beta1, beta2, eps");
        else if (v < 0 || ((slot == &opt->beta1 || slot == &opt->beta2) && v >= 1))
            hd_error(d, "--optimizer %s: %s must be %s", spec, item,
                     slot == &opt->beta1 || slot == &opt->beta2 ? "in [0, 1)" : "at least 0");
        else
            *slot = v;
        free(item);
        if (!slot || d->n_errors)
            return false;
        p += len + (p[len] == ',');
    }
    return true;
}

/* A HoduScript train declaration into t: its loss is the graph's output. */
static void train_from_script(const hodu_script_train *st, pass_train *t)
{
    memset(t, 0, sizeof(*t));
    t->loss = PASS_LOSS_GRAPH;
    t->opt.kind = strcmp(st->optimizer, "sgd") == 0    ? PASS_OPT_SGD
                  : strcmp(st->optimizer, "adam") == 0 ? PASS_OPT_ADAM
                                                       : PASS_OPT_ADAMW;
    t->opt.momentum = st->momentum;
    t->opt.weight_decay = st->weight_decay;
    t->opt.beta1 = st->beta1;
    t->opt.beta2 = st->beta2;
    t->opt.eps = st->eps;
    t->clip_norm = st->clip_norm;
    t->frozen = (const char *const *)st->frozen;
    t->n_frozen = st->n_frozen;
}

/* Front end plus the graph passes; returns the graph ready for codegen.
 * `given`: a graph made in memory (the builder's), used in place of
 * loading o->input_path; consumed. */
static ir_graph *front_and_passes(const hodu_build_options *o, ir_graph *given, hd_diag *d, bool need_static)
{
    hs_expect *expect = NULL;
    hodu_script_train st = {0};
#ifndef NDEBUG
    ir_graph *g = given ? given : load_front_end(o, &expect, &st, d);
#else
    ir_graph *g = given ? given : load_front_end(o, NULL, &st, d);
#endif
    if (!g) {
        hodu_script_train_free(&st);
        return NULL;
    }
    size_t ns = o->n_input_shapes, nc = o->n_const_inputs, ny = o->n_dims;
    pass_shape_binding *shapes = hd_xcalloc(ns ? ns : 1, sizeof(*shapes));
    pass_dim_binding *syms = hd_xcalloc(ny ? ny : 1, sizeof(*syms));
    pass_value_binding *values = hd_xcalloc(nc ? nc : 1, sizeof(*values));
    hodu_tensor *tensors = hd_xcalloc(nc ? nc : 1, sizeof(*tensors));
    char **names = hd_xcalloc(ns + nc + ny + 1, sizeof(char *));
    bool ok = true;
    size_t n_tensor_shapes = 0; /* sequence and absence bindings went to the loader */
    for (size_t i = 0; i < ns; i++)
        if (!loader_is_value_binding(o->input_shapes[i])) {
            ok = parse_shape_arg(o->input_shapes[i], &shapes[n_tensor_shapes], &names[i], d) && ok;
            n_tensor_shapes++;
        }
    for (size_t i = 0; i < nc; i++)
        ok = parse_const_arg(o->const_inputs[i], &values[i], &tensors[i], &names[ns + i], d) && ok;
    for (size_t i = 0; i < ny; i++)
        ok = parse_dim_arg(o->dims[i], &syms[i], &names[ns + nc + i], d) && ok;
    pass_conv_layout layout = PASS_LAYOUT_AUTO;
    if (o->conv_layout && strcmp(o->conv_layout, "blocked") == 0) {
        layout = PASS_LAYOUT_BLOCKED;
    } else if (o->conv_layout && strcmp(o->conv_layout, "nchw") == 0) {
        layout = PASS_LAYOUT_NCHW;
    } else if (o->conv_layout && strcmp(o->conv_layout, "auto") != 0) {
        hd_error(d, "unknown convolution layout '%s' (auto, blocked or nchw)", o->conv_layout);
        ok = false;
    }
    /* The pipeline.  Debug builds verify the IR after every pass; release
     * builds after loading and once the graph is final. */
    ok = ok && ir_verify(g, false, d);
    if (ok && need_static)
        ok = pass_bind_inputs(g, shapes, n_tensor_shapes, syms, ny, values, nc, d) && debug_verify(g, false, d);
    ok = ok && pass_resolve_ops(g, d) && debug_verify(g, false, d);
    pass_train train;
    size_t first_param = 0;
    bool training = o->train_loss != NULL || o->train;
    if (ok && training && !o->train_loss && !st.declared) {
        hd_error(d, "--train needs --loss (mse, l1, cross_entropy, soft_cross_entropy or bce_logits), or a "
                    "HoduScript program that declares its training (train model.loss with adamw(...))");
        ok = false;
    }
    if (ok && o->train_eval && (training || o->gradients)) {
        hd_error(d, "--train-eval builds the forward pass alone: not with --train or --grad");
        ok = false;
    }
    if (ok && o->train_eval) {
        memset(&train, 0, sizeof(train));
        train.params = o->train_params;
        train.n_params = o->n_train_params;
        train.frozen = (const char *const *)st.frozen;
        train.n_frozen = st.n_frozen;
        ok = pass_train_params(g, &train, &first_param, d) && debug_verify(g, false, d);
    }
    if (ok && training) {
        if (o->train_loss)
            ok = parse_train(o, &train, d);
        else
            train_from_script(&st, &train);
        if (ok && o->gradients) {
            hd_error(d, "--grad and --train do not go together (a training step has its gradients inside)");
            ok = false;
        }
        ok = ok && pass_train_params(g, &train, &first_param, d) && debug_verify(g, false, d);
    }
    if (ok && need_static) {
        ok = pass_infer_fold(g, d) && debug_verify(g, true, d);
        /* HoduScript: the checker's types must be the IR's (debug builds) */
        ok = ok && (!expect || hs_expect_check(expect, g, d));
        if (ok) {
            pass_dce(g);
            ok = debug_verify(g, true, d);
        }
        if (ok && o->gradients) {
            ok = pass_autodiff(g, o->wrt, o->n_wrt, d) && debug_verify(g, true, d);
            if (ok)
                pass_dce(g);
        }
        if (ok && training) {
            ok = pass_train_step(g, &train, first_param, d) && debug_verify(g, true, d);
            if (ok)
                pass_dce(g);
        }
        /* The graph optimizations: passes a correct build can do without.
         * This is the one switch for all of them (`-O0` turns it off); the
         * backend sees it as backend_target.graph_opt. */
        if (ok && o->graph_opt) {
            pass_unflatten_gemm(g);
            pass_block_convs(g, layout);
            pass_fuse_elementwise(g);
        }
        ok = ok && ir_verify(g, true, d);
    }
    hs_expect_free(expect);
    hodu_script_train_free(&st);
    for (size_t i = 0; i < nc; i++)
        hodu_tensor_free(&tensors[i]);
    for (size_t i = 0; i < ns + nc + ny; i++)
        free(names[i]);
    free(syms);
    free(names);
    free(tensors);
    free(values);
    free(shapes);
    if (!ok) {
        ir_graph_free(g);
        return NULL;
    }
    return g;
}

/* The backend --backend names (default native); an unknown name is an
 * error listing the ones this build has. */
static const backend *pick_backend(const char *name, hd_diag *d)
{
    if (!name || !*name)
        name = "native";
    const backend *b = backend_find(name);
    if (!b) {
        hd_buf list;
        hd_buf_init(&list);
        for (size_t i = 0; backend_at(i); i++)
            hd_buf_printf(&list, "%s%s", i ? ", " : "", backend_at(i)->name);
        hd_error(d, "unknown backend '%s' (available: %s)", name, list.data ? list.data : "none");
        hd_buf_free(&list);
    }
    return b;
}

/* A training step's recomputation (--recompute), planned with the
 * backend's scratch sizes as the final plan will be. */
static bool recompute(const hodu_build_options *o, ir_graph *g, const backend *b, hd_diag *d)
{
    const char *mode = o->train_recompute ? o->train_recompute : "auto";
    if (strcmp(mode, "auto") != 0 && strcmp(mode, "none") != 0) {
        hd_error(d, "unknown recompute mode '%s' (auto or none)", mode);
        return false;
    }
    if (!(o->train || o->train_loss) || strcmp(mode, "none") == 0)
        return true;
    recompute_stats rs;
    if (!pass_recompute(g, b->scratch, &rs, d))
        return false;
    if (o->verbose)
        fprintf(stderr,
                "hodu: recompute: workspace %" PRIu64 " -> %" PRIu64 " bytes, %zu nodes copied, %zu moved, "
                "%" PRIu64 " FLOPs added to %" PRIu64 " (%zu tries)\n",
                rs.arena_before, rs.arena_after, rs.copies, rs.moved, rs.flops_added, rs.flops_step, rs.tries);
    return true;
}

int hodu_build(const hodu_build_options *o) { return driver_build(o, NULL); }

int driver_build(const hodu_build_options *o, ir_graph *given)
{
    /* a graph made in memory stands where the model file would */
    const char *model = given ? given->source : o->input_path;
    hd_diag d;
    hd_diag_init(&d, model);
    /* an unknown target fails before the model is read */
    const hd_target *tg = o->target && *o->target ? hd_target_find(o->target, &d) : NULL;
    const bool target_ok = !o->target || !*o->target || tg;
    /* a bare-metal header states the workspace size: it waits for the plan */
    const bool bare_header = tg && hd_target_is_bare(tg) && o->header_path;
    ir_graph *g = target_ok ? front_and_passes(o, given, &d, true) : given;
    bool ok = target_ok && g != NULL;
    /* The header comes from the final graph, as the library's descriptor
     * does; it is written once the library is, so that a failure leaves
     * neither behind. */
    char *header = NULL;
    if (ok && o->header_path &&
        (strcmp(o->header_path, model) == 0 || (o->output_path && strcmp(o->header_path, o->output_path) == 0))) {
        hd_error(&d, "--emit-header '%s' names the model or the library; choose another file", o->header_path);
        ok = false;
    }
    if (ok && o->header_path && !bare_header) {
        header_spec hs = {.path = o->header_path, .prefix = o->header_prefix, .model = model};
        header = driver_header_text(g, &hs, &d);
        ok = header != NULL;
    }
    if (ok && o->dump_ir) {
        hd_buf b;
        hd_buf_init(&b);
        ir_dump(g, &b);
        fputs(b.data ? b.data : "", o->dump_ir);
        hd_buf_free(&b);
    }
    if (ok && (o->output_path || o->emit_c_dir || bare_header)) {
        const backend *b = pick_backend(o->backend, &d);
        mem_plan plan;
        ok = b && backend_check_graph(b, g, &d) && recompute(o, g, b, &d) && pass_plan_memory(g, b->scratch, &plan, &d);
        bool planned = ok;
        char *entry = NULL;
        if (ok && bare_header) {
            /* one run, no worker threads: the arena and one worker's part */
            header_spec hs = {.path = o->header_path,
                              .prefix = o->header_prefix,
                              .model = model,
                              .bare_target = tg->triple,
                              .workspace_bytes = plan.arena_bytes + plan.worker_bytes};
            header = driver_header_text(g, &hs, &d);
            ok = header != NULL;
            /* the object's entry point follows the header's prefix, so that
             * several models link into one firmware */
            char *prefix = ok ? driver_header_prefix(&hs, &d) : NULL;
            if (prefix)
                entry = hd_xasprintf("%s_model_get_desc", prefix);
            free(prefix);
        }
        if (ok && (o->output_path || o->emit_c_dir)) {
            backend_artifact *art = b->emit(g, &plan, &d);
            ok = art != NULL;
            if (ok) {
                backend_target t = {.cc = o->cc,
                                    .cflags = o->cflags,
                                    .opt_level = o->opt_level,
                                    .march = o->march,
                                    .src_dir = o->emit_c_dir,
                                    .output = o->output_path,
                                    .verbose = o->verbose != 0,
                                    .graph_opt = o->graph_opt,
                                    .keep_denormals = o->keep_denormals,
                                    .triple = o->target,
                                    .entry_name = entry};
                ok = b->build(art, &t, &d);
                b->free_artifact(art);
            }
        }
        free(entry);
        if (planned)
            mem_plan_free(&plan);
    }
    if (ok && header && !hd_write_file_atomic(o->header_path, header, strlen(header), &d)) {
        ok = false;
        if (o->output_path)
            unlink(o->output_path);
    }
    free(header);
    ir_graph_free(g);
    flush_diag(o, &d);
    hd_diag_free(&d);
    return ok ? 0 : 1;
}

/* --- inspection ---------------------------------------------------------- */

/* Names from the model go to a terminal: escape them like diagnostics. */
static void put_name(FILE *out, const char *width_fmt, const char *name)
{
    hd_buf b;
    hd_buf_init(&b);
    hd_buf_put_escaped(&b, name);
    fprintf(out, width_fmt, b.data ? b.data : "");
    hd_buf_free(&b);
}

static void print_value(FILE *out, const ir_value *v)
{
    put_name(out, "  %-24s", v->name);
    fprintf(out, " %s[", ir_dtype_name(v->dtype));
    for (int i = 0; i < v->rank; i++) {
        fputs(i ? "," : "", out);
        if (v->dims[i].size >= 0 && v->dims[i].data_dep) /* as the compiled library's --inspect shows it */
            fprintf(out, "0..%" PRId64, v->dims[i].size);
        else if (v->dims[i].size >= 0)
            fprintf(out, "%" PRId64, v->dims[i].size);
        else
            put_name(out, "%s", v->dims[i].sym ? v->dims[i].sym : "?");
    }
    fputs("]\n", out);
}

static int cmp_count(const void *a, const void *b)
{
    const size_t *x = a, *y = b; /* {count, op} pairs, by count desc then op */
    if (x[0] != y[0])
        return x[0] < y[0] ? 1 : -1;
    return x[1] < y[1] ? -1 : x[1] > y[1];
}

int hodu_inspect_model(const hodu_build_options *o, FILE *out)
{
    hd_diag d;
    hd_diag_init(&d, o->input_path);
    /* First the model as written (symbolic dims intact). */
    ir_graph *g = load_front_end(o, NULL, NULL, &d);
    if (!g) {
        flush_diag(o, &d);
        hd_diag_free(&d);
        return 1;
    }
    put_name(out, "model %s", o->input_path);
    fprintf(out, " (opset %" PRId64 ")\ninputs:\n", g->opset);
    for (size_t i = 0; i < g->n_inputs; i++)
        print_value(out, &g->values[g->inputs[i]]);
    fputs("outputs:\n", out);
    for (size_t i = 0; i < g->n_outputs; i++)
        print_value(out, &g->values[g->outputs[i]]);

    /* Op histogram over op types as written, with the domain where it is
     * not the default one; an op the loader found no entry for at the
     * model's opset is marked. */
    size_t n_types = 0;
    char **types = hd_xcalloc(g->n_nodes + 1, sizeof(char *));
    bool *unsupported = hd_xcalloc(g->n_nodes + 1, sizeof(bool));
    size_t *pairs = hd_xcalloc(2 * (g->n_nodes + 1), sizeof(size_t));
    hd_strmap type_index = {0}; /* a file may use as many op types as nodes */
    for (size_t i = 0; i < g->n_nodes; i++) {
        const ir_node *n = &g->nodes[i];
        char *key = n->domain[0] ? hd_xasprintf("%s.%s", n->domain, n->op_type) : hd_xstrdup(n->op_type);
        int k = hd_strmap_get(&type_index, key);
        if (k < 0) {
            k = (int)n_types;
            types[n_types] = key;
            unsupported[n_types] = n->op < 0;
            pairs[2 * n_types + 1] = n_types;
            hd_strmap_put(&type_index, key, k);
            n_types++;
        } else {
            free(key);
        }
        pairs[2 * (size_t)k]++;
    }
    hd_strmap_free(&type_index);
    qsort(pairs, n_types, 2 * sizeof(size_t), cmp_count);
    fprintf(out, "ops (%zu nodes):\n", g->n_nodes);
    for (size_t i = 0; i < n_types; i++) {
        size_t k = pairs[2 * i + 1];
        put_name(out, "  %-24s", types[k]);
        fprintf(out, " %zu%s\n", pairs[2 * i], unsupported[k] ? "  (unsupported)" : "");
    }
    for (size_t i = 0; i < n_types; i++)
        free(types[i]);
    free(pairs);
    free(unsupported);
    free(types);

    /* Where each random node's stream comes from (ops/random.h). */
    bool random_head = false;
    for (size_t i = 0; i < g->n_nodes; i++) {
        char *note = g->nodes[i].op >= 0 ? random_note(g, (int)i) : NULL;
        if (!note)
            continue;
        if (!random_head)
            fputs("random:\n", out);
        random_head = true;
        put_name(out, "  %s", g->nodes[i].name);
        put_name(out, " (%s): ", g->nodes[i].op_type);
        fprintf(out, "%s\n", note);
        free(note);
    }

    int64_t params = 0;
    size_t *uses = ir_use_counts(g);
    for (size_t i = 0; i < g->n_values; i++)
        if (g->values[i].kind == IR_VALUE_CONST && g->values[i].producer < 0 && ir_value_numel(&g->values[i]) > 0 &&
            uses[i] > 0)
            params += ir_value_numel(&g->values[i]);
    free(uses);
    fprintf(out, "parameters: %" PRId64 "\n", params);
    ir_graph_free(g);

    /* Then the FLOP estimate, which needs every shape. */
    hd_diag quiet;
    hd_diag_init(&quiet, o->input_path);
    ir_graph *s = front_and_passes(o, NULL, &quiet, true);
    if (s) {
        /* Saturating: per-node estimates saturate too, and a sum of them
         * must not wrap into a small number. */
        uint64_t flops = 0;
        for (size_t i = 0; i < s->n_nodes; i++)
            if (!s->nodes[i].dead)
                flops = op_sat_add_u64(flops, op_node_flops(s, (int)i));
        fprintf(out, "flops: %" PRIu64 " (%.3f GFLOP per run)\n", flops, (double)flops / 1e9);
        ir_graph_free(s);
    } else if (quiet.len) {
        /* The first error as printed (it names the node and where it is),
         * less the "hodu: error: " every line starts with. */
        char *line = hd_diag_line(&quiet, 0);
        const char *lead = "hodu: error: ";
        const char *why = strncmp(line, lead, strlen(lead)) == 0 ? line + strlen(lead) : line;
        fprintf(out, "flops: unknown (%s)\n", why);
        free(line);
    } else {
        fputs("flops: unknown (shapes not static)\n", out);
    }
    hd_diag_free(&quiet);
    hd_diag_free(&d);
    return 0;
}
