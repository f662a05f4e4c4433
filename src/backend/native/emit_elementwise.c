/*
 * emit_elementwise.c - native lowerings of the elementwise family (src/ops/elementwise.c holds
 * their semantics).
 */
#include "native.h"
#include "ops/ops.h"

void native_register_elementwise(native_lowering *table)
{
    (void)table; /* filled in as the family's emitters move here */
}
