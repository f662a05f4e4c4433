/*
 * emit_nn_resize.c - native lowerings of the nn_resize family (src/ops/nn_resize.c holds
 * their semantics).
 */
#include "native.h"
#include "ops/ops.h"

void native_register_nn_resize(native_lowering *table)
{
    (void)table; /* filled in as the family's emitters move here */
}
