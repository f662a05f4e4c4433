/*
 * emit_reduce.c - native lowerings of the reduce family (src/ops/reduce.c holds
 * their semantics).
 */
#include "native.h"
#include "ops/ops.h"

void native_register_reduce(native_lowering *table)
{
    (void)table; /* filled in as the family's emitters move here */
}
