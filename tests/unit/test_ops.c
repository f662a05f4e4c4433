/*
 * test_ops.c - the op list and the op table built from it.
 *
 * Every op_id must have a complete op_def whose identity matches its
 * op_list.def line, lookups by name must find exactly the entries that
 * implement the asked opset, and op_check_node must hold nodes to the
 * list's arity.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "ir/ir.h"
#include "loader/loader.h"
#include "backend/native/native.h"
#include "ops/ops.h"
#include "util/util.h"

static bool default_domain(const op_def *d) { return d->domain[0] == '\0'; }

static void test_every_op_is_complete(void **state)
{
    (void)state;
    assert_int_equal(op_count(), OP_COUNT);
    for (int i = 0; i < OP_COUNT; i++) {
        const op_def *d = op_get(i);
        assert_non_null(d);
        assert_int_equal(d->id, i);
        assert_non_null(d->name);
        assert_true(d->name[0] != '\0');
        assert_non_null(d->domain);
        assert_non_null(d->infer);
        /* The native backend lowers every op in the list, but for the
         * sequence ops, which the passes lower to tensor ops at build time
         * (passes/seqlower.c) and no backend ever sees. */
        if (d->family == OP_FAMILY_SEQUENCE) {
            assert_null(native_lowering_of(i));
        } else {
            assert_non_null(native_lowering_of(i));
            assert_non_null(native_lowering_of(i)->emit);
        }
        assert_true(d->since >= 1 && d->since <= d->until);
        assert_true(d->until <= HD_OPSET_NEWEST || !default_domain(d));
        assert_true(d->min_inputs >= 0);
        assert_true(d->max_inputs == -1 || d->max_inputs >= d->min_inputs);
        assert_true(d->min_outputs >= 0);
        assert_true(d->max_outputs == -1 || d->max_outputs >= d->min_outputs);
        assert_true(d->family >= OP_FAMILY_ELEMENTWISE && d->family < OP_FAMILY_COUNT_);
        /* A schema names each attribute once per kind (LabelEncoder's
         * keys_tensor is a tensor or, holding strings, a list of them). */
        for (const op_attr_spec *a = d->attrs; a && a->name; a++)
            for (const op_attr_spec *b = a + 1; b->name; b++)
                assert_true(strcmp(a->name, b->name) != 0 || a->kind != b->kind);
    }
    assert_null(op_get(-1));
    assert_null(op_get(OP_COUNT));
}

/* The enum and the list agree on a few well-known entries. */
static void test_list_columns(void **state)
{
    (void)state;
    const op_def *conv = op_get(OP_CONV);
    assert_string_equal(conv->name, "Conv");
    assert_string_equal(conv->domain, "");
    assert_int_equal(conv->min_inputs, 2);
    assert_int_equal(conv->max_inputs, 3);
    assert_int_equal(conv->family, OP_FAMILY_NN_CONV);
    const op_def *fused = op_get(OP_FUSED_ELEMENTWISE);
    assert_string_equal(fused->name, "FusedElementwise");
    assert_string_equal(fused->domain, "hodu");
    assert_int_equal(fused->max_inputs, -1);
    assert_int_equal(op_get(OP_GELU)->since, 20);
    assert_int_equal(op_get(OP_ARG_MAX)->family, OP_FAMILY_REDUCE);
}

/* No two entries of one domain claim the same name at the same opset. */
static void test_names_unique_per_domain(void **state)
{
    (void)state;
    for (int i = 0; i < OP_COUNT; i++)
        for (int j = i + 1; j < OP_COUNT; j++) {
            const op_def *a = op_get(i), *b = op_get(j);
            if (strcmp(a->name, b->name) != 0 || strcmp(a->domain, b->domain) != 0)
                continue;
            bool overlap = a->since <= b->until && b->since <= a->until;
            if (overlap)
                fail_msg("%s.%s: entries %d and %d overlap", a->domain, a->name, i, j);
        }
}

static void test_find_round_trips(void **state)
{
    (void)state;
    for (int i = 0; i < OP_COUNT; i++) {
        const op_def *d = op_get(i);
        if (!default_domain(d)) {
            /* The IR keeps no version for other domains: any opset finds it. */
            assert_int_equal(op_find(d->domain, d->name, 0), i);
            assert_int_equal(op_find(d->domain, d->name, HODU_ONNX_MIN_OPSET), i);
            continue;
        }
        for (int v = d->since; v <= d->until; v++) {
            assert_int_equal(op_find("", d->name, v), i);
            assert_int_equal(op_find("ai.onnx", d->name, v), i);
            assert_int_equal(op_find(NULL, d->name, v), i);
        }
        /* Opset 0 means "any": some entry of the name (one of several when
         * later versions have lines of their own). */
        int any = op_find("", d->name, 0);
        assert_true(any >= 0 && strcmp(op_get(any)->name, d->name) == 0);
        /* Outside its range the entry is not found (unless another one
         * takes over there). */
        if (d->since > 1) { /* opset 0 would mean "any" */
            int below = op_find("", d->name, d->since - 1);
            assert_true(below == -1 || (below != i && op_get(below)->until == d->since - 1));
        }
        int above = op_find("", d->name, d->until + 1);
        assert_true(above == -1 || (above != i && op_get(above)->since == d->until + 1));
    }
}

static void test_find_misses(void **state)
{
    (void)state;
    assert_int_equal(op_find("", "Gelu", 17), -1);
    assert_int_equal(op_find("", "Gelu", 20), OP_GELU);
    assert_int_equal(op_find("", "Attention", 22), -1);
    assert_int_equal(op_find("", "Add", HODU_ONNX_MAX_OPSET + 1), -1);
    assert_int_equal(op_find("", "NoSuchOp", 17), -1);
    assert_int_equal(op_find("", "conv", 17), -1); /* names are case-sensitive */
    assert_int_equal(op_find("", "", 17), -1);
    assert_int_equal(op_find("", NULL, 17), -1);
    assert_int_equal(op_find("com.microsoft", "Conv", 17), -1);
    assert_int_equal(op_find("hodu", "Add", 17), -1);
    assert_int_equal(op_find("", "FusedElementwise", 17), -1);
    /* Sorting neighbours: the search must not stop on a prefix. */
    assert_int_equal(op_find("", "ReduceSum", 17), OP_REDUCE_SUM);
    assert_int_equal(op_find("", "ReduceSumSquare", 17), OP_REDUCE_SUM_SQUARE);
    assert_int_equal(op_find("", "Reduce", 17), -1);
}

/* The loader accepts exactly the opsets the list has been checked for. */
static void test_newest_opset_matches_loader(void **state)
{
    (void)state;
    assert_int_equal(HD_OPSET_NEWEST, HODU_ONNX_MAX_OPSET);
}

/* op_check_node holds a node to the list's arity. */
static void test_check_node_arity(void **state)
{
    (void)state;
    ir_graph *g = ir_graph_new("t", NULL);
    int v[4];
    for (int i = 0; i < 4; i++)
        v[i] = ir_value_new(g, NULL);
    int ok = ir_node_new(g, "Add", "", "ok", v, 2, &v[2], 1);
    int bad = ir_node_new(g, "Add", "", "bad", v, 3, &v[3], 1);
    ir_nd(g, ok)->op = OP_ADD;
    ir_nd(g, bad)->op = OP_ADD;
    hd_diag d;
    hd_diag_init(&d, NULL);
    assert_true(op_check_node(g, ok, &d));
    assert_int_equal(d.n_errors, 0);
    assert_false(op_check_node(g, bad, &d));
    assert_int_equal(d.n_errors, 1);
    hd_diag_free(&d);
    ir_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_op_is_complete),
        cmocka_unit_test(test_list_columns),
        cmocka_unit_test(test_names_unique_per_domain),
        cmocka_unit_test(test_find_round_trips),
        cmocka_unit_test(test_find_misses),
        cmocka_unit_test(test_newest_opset_matches_loader),
        cmocka_unit_test(test_check_node_arity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
