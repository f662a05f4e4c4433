/*
 * test_checked.c - the checked-arithmetic helpers (util.h) and the IR's size
 * queries built on them: every overflow is reported, never wrapped, and a
 * shape past the tensor limits never reads as a small size.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "ir/ir.h"
#include "util/util.h"

static void test_u64(void **state)
{
    (void)state;
    uint64_t r;
    assert_true(hd_add_u64(1, 2, &r));
    assert_int_equal(r, 3);
    assert_true(hd_add_u64(UINT64_MAX - 1, 1, &r));
    assert_true(r == UINT64_MAX);
    assert_false(hd_add_u64(UINT64_MAX, 1, &r));
    assert_true(hd_mul_u64(UINT64_C(1) << 32, (UINT64_C(1) << 32) - 1, &r));
    assert_false(hd_mul_u64(UINT64_C(1) << 32, UINT64_C(1) << 32, &r));
    assert_true(hd_mul_u64(0, UINT64_MAX, &r));
    assert_true(r == 0);
}

static void test_i64(void **state)
{
    (void)state;
    int64_t r;
    assert_true(hd_add_i64(INT64_MAX - 1, 1, &r));
    assert_true(r == INT64_MAX);
    assert_false(hd_add_i64(INT64_MAX, 1, &r));
    assert_false(hd_add_i64(INT64_MIN, -1, &r));
    assert_true(hd_sub_i64(0, INT64_MAX, &r));
    assert_false(hd_sub_i64(0, INT64_MIN, &r));
    assert_false(hd_mul_i64(3000000000, 3000000000 * INT64_C(4), &r));
    assert_true(hd_mul_i64(-3, 4, &r));
    assert_true(r == -12);
    assert_false(hd_mul_i64(INT64_MIN, -1, &r));
}

static void test_shape_size(void **state)
{
    (void)state;
    const uint64_t lim = UINT64_C(1) << 40;
    uint64_t n = 7, b = 7;
    int64_t ok[3] = {2, 3, 4};
    assert_true(hd_shape_size(3, ok, 4, lim, lim, &n, &b));
    assert_int_equal(n, 24);
    assert_int_equal(b, 96);
    assert_true(hd_shape_size(0, NULL, 8, lim, lim, &n, &b)); /* a scalar */
    assert_int_equal(n, 1);
    assert_int_equal(b, 8);
    int64_t at_limit[2] = {INT64_C(1) << 20, INT64_C(1) << 20};
    assert_true(hd_shape_size(2, at_limit, 1, lim, lim, &n, &b));
    assert_false(hd_shape_size(2, at_limit, 2, lim, lim, &n, &b)); /* bytes over */
    int64_t wraps[2] = {INT64_C(1) << 32, INT64_C(1) << 32};       /* 2^64 == 0 mod 2^64 */
    assert_false(hd_shape_size(2, wraps, 1, UINT64_MAX, UINT64_MAX, &n, &b));
    int64_t huge[3] = {3000000000, 3000000000, 3000000000};
    assert_false(hd_shape_size(3, huge, 1, lim, lim, NULL, NULL));
    int64_t neg[2] = {4, -1};
    assert_false(hd_shape_size(2, neg, 1, lim, lim, NULL, NULL));
    /* Empty, but the other dims still bound the strides. */
    int64_t empty_ok[2] = {0, 1000};
    assert_true(hd_shape_size(2, empty_ok, 4, lim, lim, &n, &b));
    assert_int_equal(n, 0);
    assert_int_equal(b, 0);
    int64_t empty_huge[3] = {0, INT64_C(1) << 62, INT64_C(1) << 62};
    assert_false(hd_shape_size(3, empty_huge, 4, lim, lim, NULL, NULL));
}

static void set(ir_value *v, hodu_dtype t, int rank, const int64_t *dims)
{
    memset(v, 0, sizeof(*v));
    v->name = (char *)"v";
    v->dtype = t;
    ir_value_set_shape(v, rank, dims);
}

static void test_ir_sizes(void **state)
{
    (void)state;
    ir_value v;
    int64_t small[2] = {3, 5};
    set(&v, HODU_DTYPE_F32, 2, small);
    assert_true(ir_value_size_ok(&v));
    assert_int_equal(ir_value_numel(&v), 15);
    assert_int_equal(ir_value_nbytes(&v), 60);
    /* The old 2^55 cut-off made this 0 bytes; now it is never a small size. */
    int64_t big[2] = {INT64_C(1) << 30, INT64_C(1) << 30};
    set(&v, HODU_DTYPE_F32, 2, big);
    assert_false(ir_value_size_ok(&v));
    assert_int_equal(ir_value_numel(&v), -1);
    assert_true(ir_value_nbytes(&v) == SIZE_MAX);
    char *why = ir_value_size_text(&v);
    assert_non_null(strstr(why, "2^60 (1152921504606846976) elements"));
    free(why);
    /* Within the element limit but past the byte limit. */
    int64_t bytes[1] = {HODU_MAX_TENSOR_ELEMS};
    set(&v, HODU_DTYPE_F64, 1, bytes);
    assert_false(ir_value_size_ok(&v));
    assert_true(ir_value_nbytes(&v) == SIZE_MAX);
    /* A symbolic dim is "not static": numel -1, nbytes 0, as before. */
    set(&v, HODU_DTYPE_F32, 2, small);
    v.dims[1].size = -1;
    assert_int_equal(ir_value_numel(&v), -1);
    assert_int_equal(ir_value_nbytes(&v), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_u64),
        cmocka_unit_test(test_i64),
        cmocka_unit_test(test_shape_size),
        cmocka_unit_test(test_ir_sizes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
