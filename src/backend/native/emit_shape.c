/*
 * emit_shape.c - native lowerings of the shape family (src/ops/shape.c holds
 * their semantics).
 */
#include "native.h"
#include "ops/ops.h"

void native_register_shape(native_lowering *table)
{
    (void)table; /* filled in as the family's emitters move here */
}
