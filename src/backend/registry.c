/*
 * registry.c - the backends this build of hodu has.  Adding one: a folder
 * under src/backend/ that defines a `const backend`, and one line below.
 */
#include <stdlib.h>
#include <string.h>

#include "backend.h"

extern const backend hd_backend_native;

static const backend *const backends[] = {
    &hd_backend_native,
};

const backend *backend_at(size_t i) { return i < HD_ARRAY_LEN(backends) ? backends[i] : NULL; }

const backend *backend_find(const char *name)
{
    for (size_t i = 0; i < HD_ARRAY_LEN(backends); i++)
        if (strcmp(backends[i]->name, name) == 0)
            return backends[i];
    return NULL;
}

bool backend_check_graph(const backend *b, const ir_graph *g, hd_diag *d)
{
    bool ok = true;
    for (size_t i = 0; i < g->n_nodes; i++) {
        if (g->nodes[i].dead)
            continue;
        char *why = NULL;
        if (!b->supports(g, (int)i, &why)) {
            ir_node_error(d, g, (int)i, "the %s backend cannot lower this node: %s", b->name,
                          why ? why : "unsupported");
            ok = false;
        }
        free(why);
    }
    return ok;
}
