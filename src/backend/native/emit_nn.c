/*
 * emit_nn.c - native lowerings of the nn family (src/ops/nn.c holds
 * their semantics).
 */
#include "native.h"
#include "ops/ops.h"

void native_register_nn(native_lowering *table)
{
    (void)table; /* filled in as the family's emitters move here */
}
