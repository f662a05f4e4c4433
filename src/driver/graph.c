/*
 * driver/graph.c - compiling a graph made with the builder (include/hodu.h,
 * "building graphs from code"): the builder's copy of its graph goes
 * through the same pipeline as a loaded model file (driver_build).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builder/builder.h"
#include "driver/driver_impl.h"
#include "hodu.h"
#include "hodu_rt.h"

/* Collects the pipeline's diagnostic lines for hodu_graph_error, passing
 * them on to the caller's own callback when there is one. */
typedef struct collect {
    hd_buf text;
    const hodu_build_options *caller;
} collect;

static void collect_line(void *user, const char *line)
{
    collect *c = user;
    hd_buf_printf(&c->text, "%s%s", c->text.len ? "\n" : "", line);
    if (c->caller->message)
        c->caller->message(c->caller->user, line);
}

/* The build of `o` (output_path set by the caller) for the graph. */
static hodu_status compile(hodu_graph *g, const hodu_build_options *o, const char *fn)
{
    hd_diag d;
    hd_diag_init(&d, builder_name(g));
    ir_graph *ir = builder_ir(g, &d);
    if (!ir) {
        builder_set_error(g, &d);
        hd_diag_free(&d);
        return HODU_ERR_INVALID_ARG;
    }
    hd_diag_free(&d);
    collect c = {.caller = o};
    hd_buf_init(&c.text);
    hodu_build_options run = *o;
    run.input_path = NULL; /* the graph stands for the model file */
    run.weights = NULL;
    run.message = collect_line;
    run.user = &c;
    int rc = driver_build(&run, ir);
    if (rc == 0) {
        hd_buf_free(&c.text);
        builder_take_error(g, NULL);
        return HODU_OK;
    }
    char *text = c.text.data ? hd_buf_take(&c.text) : hd_xasprintf("hodu: error: %s: the build failed", fn);
    builder_take_error(g, text);
    return HODU_ERR_INVALID_ARG;
}

static hodu_status misuse(hodu_graph *g, const char *text)
{
    builder_take_error(g, hd_xasprintf("hodu: error: %s: %s", builder_name(g), text));
    return HODU_ERR_INVALID_ARG;
}

hodu_status hodu_graph_compile(hodu_graph *g, const hodu_build_options *o)
{
    if (!g)
        return HODU_ERR_INVALID_ARG;
    if (!o)
        return misuse(g, "hodu_graph_compile: the options are NULL");
    if (!o->output_path && !o->emit_c_dir)
        return misuse(g, "hodu_graph_compile: output_path is NULL (the library to write)");
    if (o->weights)
        return misuse(g, "hodu_graph_compile: weights binds a HoduScript model's parameters; a graph has its own");
    return compile(g, o, "hodu_graph_compile");
}

hodu_status hodu_graph_load(hodu_graph *g, const hodu_build_options *o, hodu_model **out)
{
    if (!g)
        return HODU_ERR_INVALID_ARG;
    if (!out)
        return misuse(g, "hodu_graph_load: out is NULL");
    *out = NULL;
    hodu_build_options defaults;
    if (!o) {
        hodu_build_options_init(&defaults);
        o = &defaults;
    }
    if (o->weights)
        return misuse(g, "hodu_graph_load: weights binds a HoduScript model's parameters; a graph has its own");
    hd_diag d;
    hd_diag_init(&d, builder_name(g));
    char *dir = hd_make_temp_dir("hodu-graph-", &d);
    if (!dir) {
        builder_set_error(g, &d);
        hd_diag_free(&d);
        return HODU_ERR_IO;
    }
    hd_diag_free(&d);
    /* A private folder holds the library only until it is open: the
     * loaded model does not need its file. */
    char *path = hd_xasprintf("%s/model.so", dir);
    hodu_build_options run = *o;
    run.output_path = path;
    hodu_status s = compile(g, &run, "hodu_graph_load");
    if (s == HODU_OK) {
        hodu_error err;
        s = hodu_model_open(path, out, &err);
        if (s != HODU_OK)
            builder_take_error(g, hd_xasprintf("hodu: error: %s: hodu_graph_load: %s", builder_name(g), err.message));
    }
    unlink(path);
    rmdir(dir);
    hd_cleanup_forget(dir);
    free(path);
    free(dir);
    return s;
}
