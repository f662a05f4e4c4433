/*
 * passes/fuse.c - elementwise fusion.
 *
 * Two fusable nodes join when the first one's only reader is the second and
 * both results have the same shape and dtype.  Every member of a group except
 * its root therefore has exactly one reader inside the group, so a group is a
 * tree whose root is the only member read from outside; it becomes one node
 * at the root's place in the schedule, reading the group's external operands.
 * The members move into the fused node's body (ir.h, "Node bodies"): copies
 * of the nodes, in schedule order, that read the node's inputs by position
 * and earlier members' results, so nothing refers to the dead originals.
 *
 * Epilogues come first.  From each contraction (nn_epilogue_producer: a
 * float32 Conv, Gemm or MatMul) a region grows forward in schedule order
 * over the nodes that read its values and may be epilogue members
 * (ew_epilogue_fusable, the result's shape, other operands broadcasting as
 * nn_epilogue_class_of accepts), so x * sigmoid(x) and GELU's diamonds
 * join too.  The region is cut back from its end until only its last
 * member's result is read outside it; then it becomes a
 * hodu.FusedEpilogue, the contraction its first member.  Nothing outside
 * reads a value inside, so no operand can depend on the region, and the
 * node sits at its last member's place.  Elementwise groups then form
 * among the nodes left.
 */
#include <stdlib.h>
#include <string.h>

#include "ops/elementwise.h"
#include "ops/nn.h"
#include "ops/ops.h"
#include "passes.h"

/* Largest group: one fused node becomes one loop body with a statement per
 * member, and C compilers slow down badly on very long bodies (a 5,000-member
 * chain took gcc -O3 about 12 s).  Past this size a chain splits into several
 * fused nodes, which costs one stored intermediate per split. */
#define FUSE_MAX_MEMBERS 64

/* Most operands of a member: fusable ops are unary, binary or Clip. */
#define FUSE_MAX_OPERANDS 8

static int find_root(int *parent, int x)
{
    while (parent[x] != x) {
        parent[x] = parent[parent[x]];
        x = parent[x];
    }
    return x;
}

static bool fusable(const ir_graph *g, int node)
{
    const ir_node *n = ir_nd(g, node);
    const op_def *def = op_get(n->op);
    if (n->dead || n->body || n->rt_general || n->guard >= 0 || !def || !def->fusable ||
        n->n_inputs > FUSE_MAX_OPERANDS)
        return false;
    /* A member's attributes are copied into the fused node's body, which
     * cannot refer to the graph's values (tensor attributes) or hold
     * subgraphs. */
    for (size_t j = 0; j < n->n_attrs; j++)
        if (n->attrs[j].kind == IR_ATTR_TENSOR || n->attrs[j].kind == IR_ATTR_GRAPH ||
            n->attrs[j].kind == IR_ATTR_OTHER)
            return false;
    return def->fusable(g, node);
}

/* Whether value v is a result of a member of root's group (producers past
 * nn are fused nodes this pass made). */
static bool in_group(const ir_graph *g, int *parent, int v, int root, size_t nn)
{
    int p = g->values[v].producer;
    return g->values[v].kind == IR_VALUE_NODE && p >= 0 && (size_t)p < nn && find_root(parent, p) == root;
}

/* How far past a contraction, in schedule steps, its epilogue may reach. */
#define EPILOGUE_WINDOW 256

/* Readers of every value among the scheduled nodes, one entry per operand
 * (compressed rows: value v's are list[start[v] .. start[v + 1])). */
typedef struct reader_lists {
    int *start, *list;
} reader_lists;

static reader_lists reader_lists_of(const ir_graph *g, const int *order, size_t count)
{
    reader_lists r;
    size_t nv = g->n_values;
    r.start = hd_xcalloc(nv + 1, sizeof(int));
    for (size_t k = 0; k < count; k++) {
        const ir_node *n = &g->nodes[order[k]];
        for (size_t j = 0; j < n->n_inputs; j++)
            if (n->inputs[j] >= 0)
                r.start[n->inputs[j] + 1]++;
        if (n->guard >= 0) /* a guard is read too (ir_node.guard) */
            r.start[n->guard + 1]++;
    }
    for (size_t v = 0; v < nv; v++)
        r.start[v + 1] += r.start[v];
    r.list = hd_xmalloc((r.start[nv] ? (size_t)r.start[nv] : 1) * sizeof(int));
    int *fill = hd_xcalloc(nv ? nv : 1, sizeof(int));
    for (size_t k = 0; k < count; k++) {
        const ir_node *n = &g->nodes[order[k]];
        for (size_t j = 0; j < n->n_inputs; j++)
            if (n->inputs[j] >= 0) {
                int v = n->inputs[j];
                r.list[r.start[v] + fill[v]++] = order[k];
            }
        if (n->guard >= 0)
            r.list[r.start[n->guard] + fill[n->guard]++] = order[k];
    }
    free(fill);
    return r;
}

/* Over run-time dims (rt: a general-path producer) the members are on the
 * general path too; the producer's lowering runs them with its own sizes. */
static bool epilogue_member(const ir_graph *g, int node, bool rt)
{
    const ir_node *n = ir_nd(g, node);
    if (n->dead || n->body || (n->rt_general && !rt) || n->guard >= 0 || n->n_inputs > FUSE_MAX_OPERANDS)
        return false;
    for (size_t j = 0; j < n->n_attrs; j++)
        if (n->attrs[j].kind == IR_ATTR_TENSOR || n->attrs[j].kind == IR_ATTR_GRAPH ||
            n->attrs[j].kind == IR_ATTR_OTHER)
            return false;
    return ew_epilogue_fusable(g, node);
}

/* Whether the first m entries of mem (marked region[x] == stamp) leave
 * exactly one value to be read outside: the last member's. */
static bool region_closed(const ir_graph *g, const reader_lists *rl, const int *mem, size_t m, const int *region,
                          int stamp)
{
    for (size_t i = 0; i < m; i++) {
        int v = g->nodes[mem[i]].outputs[0];
        bool outside = g->values[v].is_output;
        for (int q = rl->start[v]; q < rl->start[v + 1] && !outside; q++)
            outside = region[rl->list[q]] != stamp;
        if (outside != (i + 1 == m))
            return false;
    }
    return true;
}

/* Grows contraction prod's epilogue (see the top of the file) into mem
 * (prod first, then schedule order); returns its size, or 0 for none. */
static size_t grow_epilogue(const ir_graph *g, const int *order, size_t count, const int *pos, const reader_lists *rl,
                            const bool *taken, int *region, int stamp, int prod, int *mem)
{
    int axis;
    /* a general-path Conv or ConvBlocked (run-time height/width) takes its
     * epilogue in its run-time lowering; other general-path contractions not */
    bool rt = g->nodes[prod].rt_general;
    if ((rt && g->nodes[prod].op != OP_CONV && g->nodes[prod].op != OP_CONV_BLOCKED) || g->nodes[prod].guard >= 0 ||
        !nn_epilogue_producer(g, prod, &axis) || g->nodes[prod].n_inputs > NN_EPI_MAX_INPUTS)
        return 0;
    const ir_value *out = &g->values[g->nodes[prod].outputs[0]];
    size_t m = 0, n_in = g->nodes[prod].n_inputs;
    mem[m++] = prod;
    region[prod] = stamp;
    size_t end = (size_t)pos[prod] + 1 + EPILOGUE_WINDOW;
    for (size_t k = (size_t)pos[prod] + 1; k < count && k < end && m < FUSE_MAX_MEMBERS; k++) {
        int id = order[k];
        const ir_node *n = &g->nodes[id];
        bool reads = false,
             fits = !taken[id] && epilogue_member(g, id, rt) && ir_same_type(&g->values[n->outputs[0]], out);
        size_t ext = 0;
        for (size_t j = 0; j < n->n_inputs; j++) {
            int v = n->inputs[j];
            if (v < 0)
                continue;
            int p = g->values[v].producer;
            if (g->values[v].kind == IR_VALUE_NODE && p >= 0 && region[p] == stamp) {
                reads = true;
                continue;
            }
            nn_epi_class cls;
            ext++;
            fits = fits && nn_epilogue_class_of(&g->values[v], out, axis, &cls);
        }
        if (!reads || !fits || n_in + ext > NN_EPI_MAX_INPUTS)
            continue; /* a reader that cannot join leaves its value read outside */
        n_in += ext;
        mem[m++] = id;
        region[id] = stamp;
    }
    /* cut back to a closed region */
    while (m >= 2 && !region_closed(g, rl, mem, m, region, stamp))
        region[mem[--m]] = 0;
    if (m < 2) {
        region[prod] = 0;
        return 0;
    }
    return m;
}

size_t pass_fuse_elementwise(ir_graph *g)
{
    int fused_op = OP_FUSED_ELEMENTWISE;
    if (fused_op < 0)
        return 0;
    /* Control-flow subgraphs are graphs like this one: fused on their own. */
    size_t in_subgraphs = 0;
    for (size_t i = 0; i < g->n_nodes; i++)
        for (size_t a = 0; !g->nodes[i].dead && a < g->nodes[i].n_attrs; a++)
            if (g->nodes[i].attrs[a].graph)
                in_subgraphs += pass_fuse_elementwise(g->nodes[i].attrs[a].graph);
    hd_diag quiet;
    hd_diag_init(&quiet, NULL);
    size_t count = 0;
    int *order = ir_schedule(g, &count, &quiet);
    hd_diag_free(&quiet);
    if (!order)
        return in_subgraphs;
    size_t nn = g->n_nodes;
    int *parent = hd_xmalloc(nn * sizeof(int));
    int *size = hd_xcalloc(nn, sizeof(int));
    /* per group, at least as many as its external operands: a fused node
     * takes at most EW_MAX_OPERANDS (a long chain of sums reading one new
     * operand each, as unrolled gradients make, would pass that) */
    int *ext_bound = hd_xcalloc(nn, sizeof(int));
    for (size_t i = 0; i < nn; i++) {
        parent[i] = (int)i;
        size[i] = 1;
        ext_bound[i] = (int)g->nodes[i].n_inputs;
    }
    /* Readers per value among live nodes (graph outputs count as readers). */
    int *readers = hd_xcalloc(g->n_values ? g->n_values : 1, sizeof(int));
    int *reader = hd_xmalloc((g->n_values ? g->n_values : 1) * sizeof(int));
    for (size_t v = 0; v < g->n_values; v++)
        readers[v] = g->values[v].is_output ? 1 : 0;
    for (size_t k = 0; k < count; k++) {
        const ir_node *n = &g->nodes[order[k]];
        for (size_t j = 0; j < n->n_inputs; j++)
            if (n->inputs[j] >= 0) {
                readers[n->inputs[j]]++;
                reader[n->inputs[j]] = order[k];
            }
    }
    /* Epilogues first: each region becomes a group, rooted at its last
     * member, led by its contraction (producer[root]). */
    int *producer = hd_xmalloc(nn * sizeof(int));
    int *pos = hd_xmalloc(nn * sizeof(int));
    int *region = hd_xcalloc(nn, sizeof(int));
    bool *taken = hd_xcalloc(nn, sizeof(bool));
    int mem_buf[FUSE_MAX_MEMBERS];
    for (size_t i = 0; i < nn; i++) {
        producer[i] = -1;
        pos[i] = -1;
    }
    for (size_t k = 0; k < count; k++)
        pos[order[k]] = (int)k;
    reader_lists rl = reader_lists_of(g, order, count);
    for (size_t k = 0; k < count; k++) {
        int id = order[k];
        if (taken[id])
            continue;
        size_t m = grow_epilogue(g, order, count, pos, &rl, taken, region, (int)k + 1, id, mem_buf);
        if (m == 0)
            continue;
        int root = mem_buf[m - 1];
        for (size_t i = 0; i < m; i++) {
            taken[mem_buf[i]] = true;
            parent[mem_buf[i]] = root;
        }
        size[root] = (int)m;
        producer[root] = id;
    }
    free(rl.start);
    free(rl.list);
    for (size_t k = 0; k < count; k++) {
        int id = order[k];
        if (taken[id] || !fusable(g, id))
            continue;
        int v = g->nodes[id].outputs[0];
        if (readers[v] != 1 || g->values[v].is_output)
            continue;
        int c = reader[v];
        /* One reader, but it may read the value through two operands. */
        const ir_node *cn = &g->nodes[c];
        int uses = 0;
        for (size_t j = 0; j < cn->n_inputs; j++)
            uses += cn->inputs[j] == v;
        if (uses != 1 || taken[c] || !fusable(g, c) || !ir_same_type(&g->values[v], &g->values[cn->outputs[0]]))
            continue;
        int a = find_root(parent, id), b = find_root(parent, c);
        /* the joining value was one of b's operands; now it is inside */
        if (a != b && size[a] + size[b] <= FUSE_MAX_MEMBERS && ext_bound[a] + ext_bound[b] - 1 <= EW_MAX_OPERANDS) {
            parent[a] = b;
            size[b] += size[a];
            ext_bound[b] += ext_bound[a] - 1;
        }
    }
    size_t fused = 0;
    /* Members of every group, bucketed by root in one pass over the schedule
     * (so each bucket is in schedule order): bucket[root] .. + size[root]. */
    int *bucket = hd_xmalloc(nn * sizeof(int));
    int *members = hd_xmalloc((count ? count : 1) * sizeof(int));
    size_t total = 0;
    for (size_t k = 0; k < count; k++) {
        int id = order[k];
        if (find_root(parent, id) == id && size[id] >= 2) {
            bucket[id] = (int)total;
            total += (size_t)size[id];
        }
    }
    int *filled = hd_xcalloc(nn, sizeof(int));
    for (size_t k = 0; k < count; k++) {
        int root = find_root(parent, order[k]);
        if (size[root] >= 2)
            members[bucket[root] + filled[root]++] = order[k];
    }
    /* seen[v] == root + 1: v is already an external operand of root's group.
     * inbody[v]: v's value in the body being built (an external operand's
     * body input, or a member's result). */
    int *seen = hd_xcalloc(g->n_values ? g->n_values : 1, sizeof(int));
    int *inbody = hd_xmalloc((g->n_values ? g->n_values : 1) * sizeof(int));
    int *operands = hd_xmalloc(FUSE_MAX_OPERANDS * sizeof(int));
    for (size_t k = 0; k < count; k++) {
        int root = order[k];
        if (find_root(parent, root) != root || size[root] < 2)
            continue;
        int *mem = members + bucket[root];
        size_t nm = (size_t)size[root];
        int prod = producer[root];
        /* The group's last member in schedule order is the one read outside. */
        int last = mem[nm - 1];
        int *ext = hd_xmalloc(64 * sizeof(int));
        size_t n_ext = 0, cap_ext = 64;
        /* A contraction's operands come first, in its order (even repeated),
         * so its lowering reads them where it always does. */
        if (prod >= 0)
            for (size_t j = 0; j < g->nodes[prod].n_inputs; j++) {
                int v = g->nodes[prod].inputs[j];
                seen[v] = root + 1;
                HD_PUSH(ext, n_ext, cap_ext, v);
            }
        for (size_t q = 0; q < nm; q++) {
            if (mem[q] == prod)
                continue;
            const ir_node *mn = &g->nodes[mem[q]];
            for (size_t j = 0; j < mn->n_inputs; j++) {
                int v = mn->inputs[j];
                if (v < 0)
                    continue;
                if (!in_group(g, parent, v, root, nn) && seen[v] != root + 1) {
                    seen[v] = root + 1;
                    HD_PUSH(ext, n_ext, cap_ext, v);
                }
            }
        }
        int out = g->nodes[last].outputs[0];
        /* Errors about the fused node point at the member whose result it
         * defines (copied now: ir_node_new may move the node array). */
        ir_loc loc = g->nodes[last].loc;
        char *name = hd_xasprintf("%s+%zu", g->nodes[last].name, nm - 1);
        for (size_t q = 0; q < nm; q++)
            g->nodes[mem[q]].dead = true;
        int fn = ir_node_new(g, prod >= 0 ? "FusedEpilogue" : "FusedElementwise", "hodu", name, ext, n_ext, &out, 1);
        g->nodes[fn].op = prod >= 0 ? OP_FUSED_EPILOGUE : fused_op;
        g->nodes[fn].rt_general = prod >= 0 && g->nodes[prod].rt_general;
        ir_node_set_loc(g, fn, loc);
        /* The members move into the node's body, the contraction first, then
         * in schedule order, each reading body inputs (the external
         * operands) or earlier members. */
        ir_graph *body = ir_node_new_body(g, fn);
        for (size_t e = n_ext; e-- > 0;)
            inbody[ext[e]] = body->inputs[e]; /* a repeated operand: its first position */
        int result = -1;
        if (prod >= 0) {
            const ir_node *pn = &g->nodes[prod];
            for (size_t j = 0; j < pn->n_inputs; j++)
                operands[j] = body->inputs[j];
            result = ir_body_add_member(body, g, prod, operands, pn->n_inputs);
            body->nodes[0].rt_general = g->nodes[prod].rt_general; /* its lowering picks the path by it */
            inbody[pn->outputs[0]] = result;
        }
        for (size_t q = 0; q < nm; q++) {
            if (mem[q] == prod)
                continue;
            const ir_node *mn = &g->nodes[mem[q]];
            for (size_t j = 0; j < mn->n_inputs; j++)
                operands[j] = mn->inputs[j] < 0 ? -1 : inbody[mn->inputs[j]];
            result = ir_body_add_member(body, g, mem[q], operands, mn->n_inputs);
            inbody[mn->outputs[0]] = result;
        }
        ir_body_set_result(body, result);
        fused += nm;
        free(name);
        free(ext);
    }
    free(producer);
    free(pos);
    free(region);
    free(taken);
    free(operands);
    free(inbody);
    free(seen);
    free(filled);
    free(members);
    free(bucket);
    free(readers);
    free(reader);
    free(size);
    free(ext_bound);
    free(parent);
    free(order);
    return fused + in_subgraphs;
}
