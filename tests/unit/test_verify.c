/*
 * test_verify.c - ir_verify catches each broken invariant.
 *
 * Every case builds the same small valid graph,
 *
 *   input x : f32[2,3];  const w : f32[2,3]
 *   a = Add(x, w)        node 'add'
 *   y = Relu(a)          node 'relu'
 *   output y
 *
 * breaks exactly one invariant, and expects ir_verify to fail with a message
 * that names the problem (and the value or node involved).  The fused cases
 * run the real fusion pass on it (add and relu become one
 * hodu.FusedElementwise node whose body is Add(#0, #1) -> Relu(@0)) and then
 * break the body.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/ir.h"
#include "passes/passes.h"
#include "util/util.h"

typedef struct fixture {
    ir_graph *g;
    int x, w, a, y; /* values */
    int add, relu;  /* nodes */
} fixture;

static const float w_data[6] = {1, 2, 3, 4, 5, 6};

static void build(fixture *f)
{
    ir_graph *g = ir_graph_new("t", NULL);
    g->opset = 17;
    int64_t dims[2] = {2, 3};
    f->x = ir_value_new(g, "x");
    ir_value *x = ir_val(g, f->x);
    x->kind = IR_VALUE_INPUT;
    x->dtype = HODU_DTYPE_F32;
    ir_value_set_shape(x, 2, dims);
    HD_PUSH(g->inputs, g->n_inputs, g->cap_inputs, f->x);
    f->w = ir_const_new(g, "w", HODU_DTYPE_F32, 2, dims, w_data, sizeof(w_data));
    f->a = ir_value_new(g, "a");
    f->y = ir_value_new(g, "y");
    for (int v = f->a; v <= f->y; v++) {
        ir_val(g, v)->dtype = HODU_DTYPE_F32;
        ir_value_set_shape(ir_val(g, v), 2, dims);
    }
    int in[2] = {f->x, f->w};
    f->add = ir_node_new(g, "Add", "", "add", in, 2, &f->a, 1);
    f->relu = ir_node_new(g, "Relu", "", "relu", &f->a, 1, &f->y, 1);
    g->values[f->y].is_output = true;
    HD_PUSH(g->outputs, g->n_outputs, g->cap_outputs, f->y);
    f->g = g;
}

/* Runs ir_verify and returns true when it failed with a message holding
 * every needle; prints the messages otherwise. */
static bool fails_with(const ir_graph *g, bool shapes, const char *needle, const char *needle2)
{
    hd_diag d;
    hd_diag_init(&d, NULL);
    bool ok = ir_verify(g, shapes, &d);
    bool found = false;
    for (size_t i = 0; i < d.len; i++) {
        char *line = hd_diag_line(&d, i);
        if (strstr(line, needle) && (!needle2 || strstr(line, needle2)))
            found = true;
        free(line);
    }
    if (ok || !found) {
        print_error("ir_verify %s; wanted '%s'%s%s, got:\n", ok ? "passed" : "failed", needle, needle2 ? " with " : "",
                    needle2 ? needle2 : "");
        hd_diag_print(&d, stderr);
    }
    bool counted = d.n_errors > 0; /* reported as errors, not notes */
    hd_diag_free(&d);
    return !ok && found && counted;
}

static bool passes(const ir_graph *g, bool shapes)
{
    hd_diag d;
    hd_diag_init(&d, NULL);
    bool ok = ir_verify(g, shapes, &d);
    if (!ok)
        hd_diag_print(&d, stderr);
    bool clean = d.len == 0;
    hd_diag_free(&d);
    return ok && clean;
}

static void test_valid(void **state)
{
    (void)state;
    fixture f;
    build(&f);
    assert_true(passes(f.g, false));
    assert_true(passes(f.g, true));
    ir_graph_free(f.g);
}

/* Property: a data-dependent value (its size known only when the model
 * runs) may be a graph output, but no node may read it, and only a node
 * result may have such a dim. */
static void test_data_dependent_reader(void **state)
{
    (void)state;
    fixture f;
    build(&f);
    ir_value_set_data_dep(ir_val(f.g, f.y), 1);
    assert_true(ir_value_has_data_dep(ir_val(f.g, f.y)));
    assert_true(passes(f.g, true)); /* y is only an output */
    ir_value_set_data_dep(ir_val(f.g, f.a), 0);
    assert_true(fails_with(f.g, true, "reads 'a', whose size is only known when the model runs", "'relu'"));
    ir_graph_free(f.g);

    build(&f);
    ir_value_set_data_dep(ir_val(f.g, f.w), 0);
    assert_true(fails_with(f.g, true, "value 'w' has a data-dependent dim", NULL));
    ir_graph_free(f.g);
}

static void test_defined_twice(void **state)
{
    (void)state;
    fixture f;
    build(&f);
    ir_node_new(f.g, "Neg", "", "neg", &f.x, 1, &f.a, 1); /* a second definition of 'a' */
    assert_true(fails_with(f.g, false, "value 'a' is defined more than once", NULL));
    ir_graph_free(f.g);
}

static void test_wrong_producer(void **state)
{
    (void)state;
    fixture f;
    build(&f);
    f.g->values[f.a].producer = f.relu;
    assert_true(fails_with(f.g, false, "output 'a' names the wrong producer", "'add'"));
    ir_graph_free(f.g);
}

static void test_output_is_graph_input(void **state)
{
    (void)state;
    fixture f;
    build(&f);
    ir_node_new(f.g, "Neg", "", "neg", &f.a, 1, &f.x, 1);
    assert_true(fails_with(f.g, false, "output 'x' is also a graph input or constant", "'neg'"));
    ir_graph_free(f.g);
}

static void test_output_is_constant(void **state)
{
    (void)state;
    fixture f;
    build(&f);
    ir_node_new(f.g, "Neg", "", "neg", &f.a, 1, &f.w, 1);
    assert_true(fails_with(f.g, false, "output 'w' is also a graph input or constant", "'neg'"));
    ir_graph_free(f.g);
}

static void test_input_index_out_of_range(void **state)
{
    (void)state;
    static const int bad[] = {99, 6, -2};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        fixture f;
        build(&f);
        f.g->nodes[f.add].inputs[1] = bad[i];
        assert_true(fails_with(f.g, false, "input 1 has an invalid value index", "'add'"));
        ir_graph_free(f.g);
    }
}

static void test_output_index_out_of_range(void **state)
{
    (void)state;
    static const int bad[] = {99, 4, -7};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        fixture f;
        build(&f);
        f.g->nodes[f.relu].outputs[0] = bad[i];
        assert_true(fails_with(f.g, false, "output 0 has an invalid value index", "'relu'"));
        ir_graph_free(f.g);
    }
}

static void test_read_never_defined(void **state)
{
    (void)state;
    fixture f;
    build(&f);
    int ghost = ir_value_new(f.g, "ghost"); /* a node value nothing produces */
    f.g->nodes[f.relu].inputs[0] = ghost;
    assert_true(fails_with(f.g, false, "input 'ghost' is never defined", "'relu'"));
    ir_graph_free(f.g);
}

static void test_read_of_dead_producer(void **state)
{
    (void)state;
    fixture f;
    build(&f);
    f.g->nodes[f.add].dead = true; /* 'relu' still reads its result */
    assert_true(fails_with(f.g, false, "input 'a' is never defined", "'relu'"));
    ir_graph_free(f.g);
}

static void test_cycle(void **state)
{
    (void)state;
    fixture f;
    build(&f);
    f.g->nodes[f.add].inputs[1] = f.y; /* a = Add(x, y), y = Relu(a) */
    assert_true(fails_with(f.g, false, "the graph has a cycle", NULL));
    ir_graph_free(f.g);
}

static void test_self_loop(void **state)
{
    (void)state;
    fixture f;
    build(&f);
    f.g->nodes[f.relu].inputs[0] = f.y; /* y = Relu(y) */
    assert_true(fails_with(f.g, false, "the graph has a cycle through this node", "'relu'"));
    ir_graph_free(f.g);
}

static void test_const_size_mismatch(void **state)
{
    (void)state;
    fixture f;
    build(&f);
    f.g->values[f.w].nbytes = 20;
    assert_true(fails_with(f.g, false, "constant 'w' holds 20 bytes but its shape needs 24", NULL));
    ir_graph_free(f.g);

    build(&f);
    f.g->values[f.w].dims[0].size = 3; /* the shape grew, the bytes did not */
    assert_true(fails_with(f.g, false, "constant 'w' holds 24 bytes but its shape needs 36", NULL));
    ir_graph_free(f.g);
}

static void test_rank_too_large(void **state)
{
    (void)state;
    fixture f;
    build(&f);
    /* On the graph input: the verifier does not read its dims (see the
     * report on node outputs and constants of such rank). */
    f.g->values[f.x].rank = HODU_MAX_RANK + 1;
    char want[64];
    snprintf(want, sizeof(want), "value 'x' has rank %d (at most %d supported)", HODU_MAX_RANK + 1, HODU_MAX_RANK);
    assert_true(fails_with(f.g, false, want, NULL));
    ir_graph_free(f.g);
}

static void test_no_static_shape(void **state)
{
    (void)state;
    fixture f;
    build(&f);
    ir_value *a = ir_val(f.g, f.a);
    a->dims[0].size = -1;
    a->dims[0].sym = ir_graph_symbol(f.g, "batch");
    assert_true(passes(f.g, false)); /* symbols are fine before binding */
    assert_true(fails_with(f.g, true, "output 'a' has no static shape", "'add'"));
    ir_graph_free(f.g);

    build(&f);
    ir_val(f.g, f.y)->rank = -1; /* never inferred */
    assert_true(passes(f.g, false));
    assert_true(fails_with(f.g, true, "output 'y' has no static shape", "'relu'"));
    ir_graph_free(f.g);
}

/* A dead node is skipped everywhere: breaking it breaks nothing. */
static void test_dead_node_ignored(void **state)
{
    (void)state;
    fixture f;
    build(&f);
    int out = ir_value_new(f.g, "unused");
    int n = ir_node_new(f.g, "Neg", "", "gone", &f.a, 1, &out, 1);
    f.g->nodes[n].inputs[0] = 1234;
    f.g->nodes[n].dead = true;
    assert_true(passes(f.g, true)); /* its bad index and unshaped output are skipped */
    ir_graph_free(f.g);
}

/* --- fused nodes: the body (ir.h, "Node bodies") ---------------------------- */

/* The fixture with add and relu fused; returns the fused node. */
static int build_fused(fixture *f)
{
    build(f);
    hd_diag d;
    hd_diag_init(&d, NULL);
    assert_true(pass_resolve_ops(f->g, &d));
    hd_diag_free(&d);
    assert_int_equal(pass_fuse_elementwise(f->g), 2);
    int fused = -1;
    for (size_t i = 0; i < f->g->n_nodes; i++)
        if (!f->g->nodes[i].dead && f->g->nodes[i].body)
            fused = (int)i;
    assert_true(fused >= 0);
    return fused;
}

static void test_fused_valid(void **state)
{
    (void)state;
    fixture f;
    int fn = build_fused(&f);
    assert_true(passes(f.g, true));
    const ir_graph *b = ir_nd(f.g, fn)->body;
    assert_int_equal(b->n_nodes, 2);
    assert_int_equal(b->n_inputs, 2);
    assert_string_equal(b->nodes[0].op_type, "Add");
    assert_string_equal(b->nodes[1].op_type, "Relu");
    assert_true(f.g->nodes[f.add].dead && f.g->nodes[f.relu].dead);
    hd_buf out;
    hd_buf_init(&out);
    ir_dump(f.g, &out);
    assert_non_null(strstr(out.data, "= hodu.FusedElementwise(%x, %w) {Add(#0, #1) -> Relu(@0)}  # relu+1"));
    hd_buf_free(&out);
    ir_graph_free(f.g);
}

/* A later pass that points the fused node back at a removed member. */
static void test_fused_reads_dead_member(void **state)
{
    (void)state;
    fixture f;
    int fn = build_fused(&f);
    f.g->nodes[fn].inputs[0] = f.a; /* same type as x, but 'add' is dead */
    assert_true(fails_with(f.g, true, "input 'a' is never defined", "'relu+1'"));
    ir_graph_free(f.g);
}

static void test_fused_forward_reference(void **state)
{
    (void)state;
    fixture f;
    int fn = build_fused(&f);
    ir_graph *b = f.g->nodes[fn].body;
    b->nodes[0].inputs[1] = b->nodes[1].outputs[0]; /* Add reads Relu's result */
    assert_true(fails_with(f.g, true, "member 0 (Add) operand 1 refers to neither", "'relu+1'"));
    ir_graph_free(f.g);
}

static void test_fused_operand_out_of_range(void **state)
{
    (void)state;
    fixture f;
    int fn = build_fused(&f);
    f.g->nodes[fn].body->nodes[1].inputs[0] = 99;
    assert_true(fails_with(f.g, true, "member 1 (Relu) operand 0 refers to neither", NULL));
    ir_graph_free(f.g);
}

static void test_fused_self_reference(void **state)
{
    (void)state;
    fixture f;
    int fn = build_fused(&f);
    ir_graph *b = f.g->nodes[fn].body;
    b->nodes[1].inputs[0] = b->nodes[1].outputs[0];
    assert_true(fails_with(f.g, true, "member 1 (Relu) operand 0 refers to neither", NULL));
    ir_graph_free(f.g);
}

static void test_fused_result_type(void **state)
{
    (void)state;
    fixture f;
    int fn = build_fused(&f);
    ir_graph *b = f.g->nodes[fn].body;
    ir_val(b, b->nodes[1].outputs[0])->dims[1].size = 4;
    assert_true(fails_with(f.g, true, "member 1 (Relu) result does not have the type of output 'y'", NULL));
    ir_graph_free(f.g);
}

static void test_fused_input_type(void **state)
{
    (void)state;
    fixture f;
    int fn = build_fused(&f);
    ir_graph *b = f.g->nodes[fn].body;
    ir_val(b, b->inputs[1])->dtype = HODU_DTYPE_F64;
    assert_true(fails_with(f.g, true, "body input 1 does not have the type of input 'w'", NULL));
    ir_graph_free(f.g);
}

static void test_fused_input_count(void **state)
{
    (void)state;
    fixture f;
    int fn = build_fused(&f);
    f.g->nodes[fn].n_inputs = 1;
    assert_true(fails_with(f.g, true, "body has 2 inputs but the node has 1", NULL));
    ir_graph_free(f.g);
}

static void test_fused_result_not_last(void **state)
{
    (void)state;
    fixture f;
    int fn = build_fused(&f);
    ir_graph *b = f.g->nodes[fn].body;
    b->outputs[0] = b->nodes[0].outputs[0];
    assert_true(fails_with(f.g, true, "body result is not the last member's", NULL));
    ir_graph_free(f.g);
}

static void test_fused_unused_member(void **state)
{
    (void)state;
    fixture f;
    int fn = build_fused(&f);
    ir_graph *b = f.g->nodes[fn].body;
    b->nodes[1].inputs[0] = b->inputs[0]; /* Relu(#0): Add's result is never read */
    assert_true(fails_with(f.g, true, "member 0 (Add) result is never read", NULL));
    ir_graph_free(f.g);
}

static void test_fused_unresolved_member(void **state)
{
    (void)state;
    fixture f;
    int fn = build_fused(&f);
    f.g->nodes[fn].body->nodes[0].op = -1;
    assert_true(fails_with(f.g, true, "member 0 (Add) is an unresolved op", NULL));
    ir_graph_free(f.g);
}

static void test_fused_tensor_attribute(void **state)
{
    (void)state;
    fixture f;
    int fn = build_fused(&f);
    ir_graph *b = f.g->nodes[fn].body;
    ir_node_add_attr(b, 1, "value", IR_ATTR_TENSOR)->tensor = f.w; /* an outer value */
    assert_true(fails_with(f.g, true, "member 1 (Relu) has attribute 'value' of a kind a body cannot hold", NULL));
    ir_graph_free(f.g);
}

static void test_fused_empty_body(void **state)
{
    (void)state;
    fixture f;
    int fn = build_fused(&f);
    f.g->nodes[fn].body->n_nodes = 0; /* the members stay allocated: freed by count below */
    assert_true(fails_with(f.g, true, "body has no members", NULL));
    f.g->nodes[fn].body->n_nodes = 2;
    ir_graph_free(f.g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_defined_twice),
        cmocka_unit_test(test_data_dependent_reader),
        cmocka_unit_test(test_wrong_producer),
        cmocka_unit_test(test_output_is_graph_input),
        cmocka_unit_test(test_output_is_constant),
        cmocka_unit_test(test_input_index_out_of_range),
        cmocka_unit_test(test_output_index_out_of_range),
        cmocka_unit_test(test_read_never_defined),
        cmocka_unit_test(test_read_of_dead_producer),
        cmocka_unit_test(test_cycle),
        cmocka_unit_test(test_self_loop),
        cmocka_unit_test(test_const_size_mismatch),
        cmocka_unit_test(test_rank_too_large),
        cmocka_unit_test(test_no_static_shape),
        cmocka_unit_test(test_dead_node_ignored),
        cmocka_unit_test(test_fused_valid),
        cmocka_unit_test(test_fused_reads_dead_member),
        cmocka_unit_test(test_fused_forward_reference),
        cmocka_unit_test(test_fused_operand_out_of_range),
        cmocka_unit_test(test_fused_self_reference),
        cmocka_unit_test(test_fused_result_type),
        cmocka_unit_test(test_fused_input_type),
        cmocka_unit_test(test_fused_input_count),
        cmocka_unit_test(test_fused_result_not_last),
        cmocka_unit_test(test_fused_unused_member),
        cmocka_unit_test(test_fused_unresolved_member),
        cmocka_unit_test(test_fused_tensor_attribute),
        cmocka_unit_test(test_fused_empty_body),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
