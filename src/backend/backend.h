/*
 * backend.h - the interface between the middle end and a code generator.
 *
 * The middle end hands a backend a graph whose shapes are known and whose
 * ops are resolved (src/ops gives their semantics); the backend says which
 * nodes it can lower, how much scratch memory each needs while it runs
 * (the memory planner places that scratch in the arena), emits the whole
 * planned graph, and builds the artifact for a target.  One backend per
 * folder under src/backend/; registry.c lists them.
 *
 *     const backend *b = backend_find("native");
 *     for each node: b->supports(g, node, &why)
 *     pass_plan_memory(g, b->scratch, plan, d)
 *     backend_artifact *a = b->emit(g, plan, d)
 *     b->build(a, &target, d); b->free_artifact(a)
 */
#ifndef HODU_BACKEND_H
#define HODU_BACKEND_H

#include <stdbool.h>
#include <stdint.h>

#include "ir/ir.h"
#include "passes/passes.h"

/* Where and how to build: the compiler-facing knobs of `hodu --build`. */
typedef struct backend_target {
    const char *cc;      /* C compiler command; NULL: $CC, else "cc" */
    const char *cflags;  /* extra flags, space separated; may be NULL */
    int opt_level;       /* -O level */
    const char *march;   /* -march value; NULL or "generic": none */
    const char *src_dir; /* keep the generated sources here; NULL: don't */
    const char *output;  /* the artifact to produce; NULL: none */
    bool verbose;        /* print the tool commands */
    /* Graph optimizations on (hodu_build_options.graph_opt; off at -O0):
     * the backend's own optimizations key off this too. */
    bool graph_opt;
    bool keep_denormals; /* hodu_build_options.keep_denormals */
    const char *triple;  /* --target (backend/targets.h); NULL: the build machine */
    /* Bare metal: the object's one global symbol, the descriptor's entry
     * point (NULL: hodu_model_get_desc). */
    const char *entry_name;
} backend_target;

/* What emit produced (sources, blobs); owned by the backend. */
typedef struct backend_artifact backend_artifact;

typedef struct backend {
    const char *name;    /* --backend NAME */
    const char *summary; /* one line for listings */
    /* True when the backend can lower the node; otherwise *reason receives a
     * malloc'd sentence saying why (the caller frees it). */
    bool (*supports)(const ir_graph *g, int node, char **reason);
    /* Scratch the node's lowering needs while it runs, shared and per
     * worker (passes.h); 0: none, UINT64_MAX: more than can be given (the
     * planner refuses it). */
    scratch_need (*scratch)(const ir_graph *g, int node);
    /* Lowers the planned graph; NULL after reporting errors. */
    backend_artifact *(*emit)(const ir_graph *g, const mem_plan *plan, hd_diag *d);
    /* Writes the sources and/or builds the output the target names. */
    bool (*build)(const backend_artifact *a, const backend_target *t, hd_diag *d);
    void (*free_artifact)(backend_artifact *a);
} backend;

/* The backend named `name`, or NULL. */
const backend *backend_find(const char *name);
/* The registered backends, in registry order; NULL past the end. */
const backend *backend_at(size_t i);
/* Reports an error on every node the backend cannot lower (naming the node,
 * its op and the reason); returns false if there was any. */
bool backend_check_graph(const backend *b, const ir_graph *g, hd_diag *d);

#endif /* HODU_BACKEND_H */
