/*
 * emit_nn_pool.c - native lowerings of the nn_pool family (src/ops/nn_pool.c holds
 * their semantics).
 */
#include "native.h"
#include "ops/ops.h"

void native_register_nn_pool(native_lowering *table)
{
    (void)table; /* filled in as the family's emitters move here */
}
