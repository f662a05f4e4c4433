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
 * A contraction (nn_epilogue_producer: a float32 Conv, Gemm or MatMul)
 * whose only reader is a group's member joins that group as its first
 * member, and the group becomes a hodu.FusedEpilogue: the contraction's
 * result then goes through the elementwise members before it is stored.
 * It joins only when every other operand of the group broadcasts into the
 * result in a way nn_epilogue_class_of accepts.
 */
#include <stdlib.h>
#include <string.h>

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

static bool same_type(const ir_value *a, const ir_value *b)
{
    if (a->dtype != b->dtype || a->rank != b->rank)
        return false;
    for (int i = 0; i < a->rank; i++)
        if (a->dims[i].size != b->dims[i].size)
            return false;
    return true;
}

static bool fusable(const ir_graph *g, int node)
{
    const ir_node *n = ir_nd(g, node);
    const op_def *def = op_get(n->op);
    if (n->dead || n->body || !def || !def->fusable || n->n_inputs > FUSE_MAX_OPERANDS)
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

/* Whether contraction `prod` may lead the group (members mem[0..nm), prod
 * among them): every operand the other members read from outside the
 * group broadcasts into the result as an epilogue allows, and the fused
 * node stays within NN_EPI_MAX_INPUTS inputs. */
static bool group_takes_producer(const ir_graph *g, const int *mem, size_t nm, int prod, int *parent, int root,
                                 size_t nn)
{
    int axis;
    if (!nn_epilogue_producer(g, prod, &axis))
        return false;
    const ir_value *out = &g->values[g->nodes[prod].outputs[0]];
    size_t n_in = g->nodes[prod].n_inputs;
    for (size_t q = 0; q < nm; q++) {
        if (mem[q] == prod)
            continue;
        const ir_node *mn = &g->nodes[mem[q]];
        for (size_t j = 0; j < mn->n_inputs; j++) {
            int v = mn->inputs[j];
            if (v < 0)
                continue;
            if (in_group(g, parent, v, root, nn))
                continue;
            nn_epi_class cls;
            if (!nn_epilogue_class_of(&g->values[v], out, axis, &cls) || ++n_in > NN_EPI_MAX_INPUTS)
                return false;
        }
    }
    return true;
}

size_t pass_fuse_elementwise(ir_graph *g)
{
    int fused_op = OP_FUSED_ELEMENTWISE;
    if (fused_op < 0)
        return 0;
    hd_diag quiet;
    hd_diag_init(&quiet, NULL);
    size_t count = 0;
    int *order = ir_schedule(g, &count, &quiet);
    hd_diag_free(&quiet);
    if (!order)
        return 0;
    size_t nn = g->n_nodes;
    int *parent = hd_xmalloc(nn * sizeof(int));
    int *size = hd_xcalloc(nn, sizeof(int));
    for (size_t i = 0; i < nn; i++) {
        parent[i] = (int)i;
        size[i] = 1;
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
    for (size_t k = 0; k < count; k++) {
        int id = order[k];
        if (!fusable(g, id))
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
        if (uses != 1 || !fusable(g, c) || !same_type(&g->values[v], &g->values[cn->outputs[0]]))
            continue;
        int a = find_root(parent, id), b = find_root(parent, c);
        if (a != b && size[a] + size[b] <= FUSE_MAX_MEMBERS) {
            parent[a] = b;
            size[b] += size[a];
        }
    }
    /* Contractions read only by a group member join that group (one per
     * group), tentatively: the group's operands are checked when it is
     * built.  producer[root] is the contraction, or -1. */
    int *producer = hd_xmalloc(nn * sizeof(int));
    for (size_t i = 0; i < nn; i++)
        producer[i] = -1;
    for (size_t k = 0; k < count; k++) {
        int id = order[k], axis;
        const ir_node *pn = &g->nodes[id];
        if (pn->dead || !nn_epilogue_producer(g, id, &axis) || pn->n_inputs > NN_EPI_MAX_INPUTS)
            continue;
        int v = pn->outputs[0];
        if (readers[v] != 1 || g->values[v].is_output)
            continue;
        int c = reader[v];
        const ir_node *cn = &g->nodes[c];
        int uses = 0;
        for (size_t j = 0; j < cn->n_inputs; j++)
            uses += cn->inputs[j] == v;
        int r = find_root(parent, c);
        if (uses != 1 || !fusable(g, c) || !same_type(&g->values[v], &g->values[cn->outputs[0]]) || producer[r] >= 0 ||
            size[r] + 1 > FUSE_MAX_MEMBERS)
            continue;
        /* none of its operands may come from the group it joins */
        bool from_group = false;
        for (size_t j = 0; j < pn->n_inputs; j++)
            from_group = from_group || in_group(g, parent, pn->inputs[j], r, nn);
        if (from_group)
            continue;
        producer[r] = id;
        parent[id] = r;
        size[r]++;
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
        if (prod >= 0 && !group_takes_producer(g, mem, nm, prod, parent, root, nn)) {
            /* an operand the epilogue cannot broadcast: the contraction stays */
            size_t w = 0;
            for (size_t q = 0; q < nm; q++)
                if (mem[q] != prod)
                    mem[w++] = mem[q];
            nm = w;
            parent[prod] = prod;
            prod = -1;
            if (nm < 2)
                continue;
        }
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
    free(operands);
    free(inbody);
    free(seen);
    free(filled);
    free(members);
    free(bucket);
    free(readers);
    free(reader);
    free(size);
    free(parent);
    free(order);
    return fused;
}
