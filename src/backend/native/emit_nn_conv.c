/*
 * emit_nn_conv.c - native lowerings of the nn_conv family (src/ops/nn_conv.c holds
 * their semantics).
 */
#include "native.h"
#include "ops/ops.h"

void native_register_nn_conv(native_lowering *table)
{
    (void)table; /* filled in as the family's emitters move here */
}
