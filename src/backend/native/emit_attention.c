/*
 * emit_attention.c - native lowerings of the attention family (src/ops/attention.c holds
 * their semantics).
 */
#include "native.h"
#include "ops/ops.h"

void native_register_attention(native_lowering *table)
{
    (void)table; /* filled in as the family's emitters move here */
}
