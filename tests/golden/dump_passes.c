/*
 * dump_passes.c - prints the IR after each graph pass, for the golden tests.
 *
 *   dump_passes MODEL.onnx [--input-shape NAME=DIMS]...
 *
 * Runs the passes one at a time in the order of front_and_passes in
 * src/driver/driver.c (bind, resolve, infer_fold, dce, fuse), verifying the
 * graph after each as a debug build of the driver does, and prints ir_dump
 * under a "== after <pass>" line.  The driver only shows the final graph;
 * this shows what each pass changed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/ir.h"
#include "loader/loader.h"
#include "passes/passes.h"
#include "util/util.h"

static void dump(const ir_graph *g, const char *after)
{
    hd_buf b;
    hd_buf_init(&b);
    ir_dump(g, &b);
    printf("== after %s\n%s", after, b.data ? b.data : "");
    hd_buf_free(&b);
}

/* "NAME=2x3x4" (the name is everything before the last '='). */
static bool parse_shape(const char *arg, pass_shape_binding *s)
{
    const char *eq = strrchr(arg, '=');
    if (!eq || eq == arg)
        return false;
    s->input = hd_xstrndup(arg, (size_t)(eq - arg));
    s->rank = 0;
    for (const char *p = eq + 1; *p;) {
        char *end;
        long long v = strtoll(p, &end, 10);
        if (end == p || v < 0 || s->rank >= HODU_MAX_RANK || (*end && *end != 'x'))
            return false;
        s->dims[s->rank++] = v;
        p = *end ? end + 1 : end;
    }
    return true;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: dump_passes MODEL.onnx [--input-shape NAME=DIMS]...\n");
        return 2;
    }
    pass_shape_binding shapes[16];
    size_t ns = 0;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--input-shape") != 0 || i + 1 >= argc || ns == 16 ||
            !parse_shape(argv[i + 1], &shapes[ns])) {
            fprintf(stderr, "dump_passes: bad argument '%s'\n", argv[i]);
            return 2;
        }
        ns++;
        i++;
    }

    hd_diag d;
    hd_diag_init(&d, argv[1]);
    ir_graph *g = hodu_load_onnx(argv[1], NULL, &d);
    bool ok = g && ir_verify(g, false, &d);
    if (ok)
        dump(g, "load");
    /* Each step: run the pass, verify, dump.  Shapes are required to be
     * static from inference on, as in the driver. */
    if (ok && (ok = pass_bind_inputs(g, shapes, ns, NULL, 0, NULL, 0, &d) && ir_verify(g, false, &d)))
        dump(g, "bind");
    if (ok && (ok = pass_resolve_ops(g, &d) && ir_verify(g, false, &d)))
        dump(g, "resolve");
    if (ok && (ok = pass_infer_fold(g, &d) && ir_verify(g, true, &d)))
        dump(g, "infer_fold");
    if (ok) {
        pass_dce(g);
        if ((ok = ir_verify(g, true, &d)))
            dump(g, "dce");
    }
    if (ok) { /* only where it rewrote something: most cases have no Gemm */
        size_t unflattened = pass_unflatten_gemm(g);
        if ((ok = ir_verify(g, true, &d)) && unflattened) {
            dump(g, "unflatten_gemm");
            printf("# %zu Gemm nodes rewritten\n", unflattened);
        }
    }
    if (ok) {
        size_t fused = pass_fuse_elementwise(g);
        if ((ok = ir_verify(g, true, &d))) {
            dump(g, "fuse");
            printf("# %zu nodes fused\n", fused);
        }
    }
    hd_diag_print(&d, stderr);
    hd_diag_free(&d);
    ir_graph_free(g);
    for (size_t i = 0; i < ns; i++)
        free((char *)shapes[i].input);
    return ok ? 0 : 1;
}
