/*
 * ops/random.c - the random family: RandomUniform, RandomNormal,
 * RandomUniformLike, RandomNormalLike (every opset), Bernoulli (15-) and
 * Multinomial (7-).  The distributions are the spec's; the streams are
 * Hodu's own (random.h): no implementation matches another's values, as
 * the spec says of Bernoulli.
 *
 * Seeds.  The `seed` attribute (a float) keys the stream: its 32 bits
 * (-0 taken as 0) are the key's low word.  Without one, ONNX leaves the
 * seed to the implementation; a compiled model has no mutable state and
 * no entropy source, so the key is a hash of the node's first output
 * name (FNV-1a, then murmur3's 64-bit finalizer): reproducible, different
 * per node, the same on every run (--inspect says so per node).  A caller
 * wanting fresh values per run feeds them in as an input instead.
 *
 * Never folded: even with constant inputs a random node runs in the
 * model (one implementation of the streams, and no weight blob the size
 * of the draw).
 */
#include <inttypes.h>
#include <string.h>

#include "ops_impl.h"
#include "random.h"

static bool rn_float(hodu_dtype t)
{
    return t == HODU_DTYPE_F16 || t == HODU_DTYPE_BF16 || t == HODU_DTYPE_F32 || t == HODU_DTYPE_F64;
}

/* Bernoulli's T2: every numeric type and bool, no narrow type. */
static bool rn_bernoulli_out(hodu_dtype t)
{
    return rn_float(t) || t == HODU_DTYPE_BOOL || (ir_dtype_is_int(t) && !ir_dtype_is_narrow(t));
}

static void rn_key(const ir_graph *g, const ir_node *n, random_plan *p)
{
    const ir_attr *s = ir_attr_find(n, "seed");
    p->seeded = s != NULL;
    if (s) {
        float f = (float)s->f;
        if (f == 0.0f)
            f = 0.0f; /* -0 seeds like 0 */
        p->seed = f;
        uint32_t bits;
        memcpy(&bits, &f, sizeof bits);
        p->key[0] = bits;
        p->key[1] = 0x5EEDu; /* a tag: attribute seeds are one family of keys */
        return;
    }
    uint64_t h = 0xcbf29ce484222325u; /* FNV-1a, 64-bit */
    const char *name = n->n_outputs && n->outputs[0] >= 0 ? ir_val(g, n->outputs[0])->name : n->name;
    for (const char *c = name ? name : ""; *c; c++)
        h = (h ^ (unsigned char)*c) * 0x100000001b3u;
    /* FNV leaves names that differ in one letter close; a mixer spreads them */
    h = (h ^ (h >> 33)) * 0xff51afd7ed558ccdu;
    h = (h ^ (h >> 33)) * 0xc4ceb9fe1a85ec53u;
    h ^= h >> 33;
    p->key[0] = (uint32_t)h;
    p->key[1] = (uint32_t)(h >> 32);
    if (p->key[1] == 0x5EEDu)
        p->key[1] ^= 1u; /* never an attribute seed's key */
}

/* Resolves node `node`; c (NULL from the getters) receives the errors and
 * the output's shape. */
static bool rn_resolve(op_ctx *c, const ir_graph *g, int node, random_plan *p, int *rank, int64_t *dims)
{
#define RN_FAIL(...) (c ? op_fail(c, __VA_ARGS__) : false)
    const ir_node *n = ir_nd(g, node);
    memset(p, 0, sizeof *p);
    rn_key(g, n, p);
    const ir_value *x = n->n_inputs > 0 && n->inputs[0] >= 0 ? ir_val(g, n->inputs[0]) : NULL;
    const ir_attr *dt = ir_attr_find(n, "dtype");
    switch (n->op) {
    case OP_RANDOM_UNIFORM:
    case OP_RANDOM_NORMAL: {
        size_t nd = 0;
        const int64_t *shape = ir_attr_ints(n, "shape", &nd);
        if (!shape && !ir_attr_find(n, "shape"))
            return RN_FAIL("attribute 'shape' is required");
        if (nd > HODU_MAX_RANK)
            return RN_FAIL("attribute 'shape' has %zu dims; at most %d are supported", nd, HODU_MAX_RANK);
        *rank = (int)nd;
        for (size_t i = 0; i < nd; i++) {
            if (shape[i] < 0)
                return RN_FAIL("attribute 'shape' has a negative dim %" PRId64, shape[i]);
            dims[i] = shape[i];
        }
        p->out = dt ? (hodu_dtype)dt->i : HODU_DTYPE_F32;
        break;
    }
    case OP_RANDOM_UNIFORM_LIKE:
    case OP_RANDOM_NORMAL_LIKE:
    case OP_BERNOULLI:
        if (!x || !ir_value_is_static(x))
            return RN_FAIL("input must have a static shape");
        *rank = x->rank;
        ir_value_dims(x, dims);
        p->in = x->dtype;
        p->out = dt ? (hodu_dtype)dt->i : x->dtype;
        break;
    case OP_MULTINOMIAL: {
        if (!x || !ir_value_is_static(x))
            return RN_FAIL("input must have a static shape");
        if (x->rank != 2)
            return RN_FAIL("input '%s' must have rank 2 ([batch, classes]), has %d", x->name, x->rank);
        p->in = x->dtype;
        p->batch = x->dims[0].size;
        p->classes = x->dims[1].size;
        p->samples = ir_attr_int(n, "sample_size", 1);
        if (p->samples < 1)
            return RN_FAIL("attribute 'sample_size' must be at least 1, is %" PRId64, p->samples);
        if (p->classes < 1 && p->batch > 0)
            return RN_FAIL("input '%s' has no classes to draw from", x->name);
        *rank = 2;
        dims[0] = p->batch;
        dims[1] = p->samples;
        p->out = dt ? (hodu_dtype)dt->i : HODU_DTYPE_I32;
        break;
    }
    default: return RN_FAIL("internal error: not a random op");
    }
    if (dt && (dt->i <= 0 || dt->i >= HODU_DTYPE_COUNT_))
        return RN_FAIL("attribute 'dtype' value %" PRId64 " is not an element type", dt->i);
    switch (n->op) {
    case OP_BERNOULLI:
        p->kind = RANDOM_BERNOULLI;
        if (!rn_float(p->in))
            return RN_FAIL("input '%s' has type %s; Bernoulli takes probabilities of a float type", x->name,
                           ir_dtype_name(p->in));
        if (!rn_bernoulli_out(p->out))
            return RN_FAIL("attribute 'dtype' type %s is not a numeric type or bool", ir_dtype_name(p->out));
        break;
    case OP_MULTINOMIAL:
        p->kind = RANDOM_MULTINOMIAL;
        if (!rn_float(p->in))
            return RN_FAIL("input '%s' has type %s; Multinomial takes log-probabilities of a float type", x->name,
                           ir_dtype_name(p->in));
        if (p->out != HODU_DTYPE_I32 && p->out != HODU_DTYPE_I64)
            return RN_FAIL("attribute 'dtype' type %s is not int32 or int64", ir_dtype_name(p->out));
        break;
    default: {
        bool uniform = n->op == OP_RANDOM_UNIFORM || n->op == OP_RANDOM_UNIFORM_LIKE;
        p->kind = uniform ? RANDOM_UNIFORM : RANDOM_NORMAL;
        p->a = ir_attr_float(n, uniform ? "low" : "mean", 0.0);
        p->b = ir_attr_float(n, uniform ? "high" : "scale", 1.0);
        if (!rn_float(p->out))
            return RN_FAIL("output type %s is not float16, bfloat16, float or double%s", ir_dtype_name(p->out),
                           dt ? "" : " (give attribute 'dtype')");
        break;
    }
    }
    int64_t numel = 1;
    for (int i = 0; i < *rank; i++)
        if (!hd_mul_i64(numel, dims[i], &numel))
            return RN_FAIL("the output is too large");
    p->numel = numel;
    return true;
#undef RN_FAIL
}

bool random_plan_of(const ir_graph *g, int node, random_plan *p)
{
    int rank;
    int64_t dims[HODU_MAX_RANK];
    return rn_resolve(NULL, g, node, p, &rank, dims);
}

char *random_note(const ir_graph *g, int node)
{
    const ir_node *n = ir_nd(g, node);
    const op_def *def = op_get(n->op);
    if (!def || def->family != OP_FAMILY_RANDOM)
        return NULL;
    random_plan p;
    memset(&p, 0, sizeof p);
    rn_key(g, n, &p);
    if (p.seeded)
        return hd_xasprintf("seed %.9g (attribute): key %08" PRIx32 ":%08" PRIx32, (double)p.seed, p.key[1], p.key[0]);
    return hd_xasprintf("no seed attribute: key %08" PRIx32 ":%08" PRIx32
                        " derived from the node; the same values every run",
                        p.key[1], p.key[0]);
}

static bool infer_random(op_ctx *c)
{
    random_plan p;
    int rank = 0;
    int64_t dims[HODU_MAX_RANK];
    if (!rn_resolve(c, c->g, c->node, &p, &rank, dims))
        return false;
    op_set_out(c, 0, p.out, rank, dims);
    return true;
}

/* Box-Muller: a logarithm, a square root and a sine or cosine per value. */
static int64_t flops_random(const ir_graph *g, int node)
{
    random_plan p;
    if (!random_plan_of(g, node, &p))
        return 0;
    if (p.kind == RANDOM_MULTINOMIAL)
        return op_sat_mul(p.batch, op_sat_mul(p.classes, 2) + op_sat_mul(p.samples, 64));
    return op_sat_mul(p.numel, p.kind == RANDOM_NORMAL ? 64 : 32);
}

static const op_attr_spec uniform_attrs[] = {{"shape", IR_ATTR_INTS}, {"dtype", IR_ATTR_INT}, {"seed", IR_ATTR_FLOAT},
                                             {"high", IR_ATTR_FLOAT}, {"low", IR_ATTR_FLOAT}, {NULL, 0}};
static const op_attr_spec normal_attrs[] = {{"shape", IR_ATTR_INTS},  {"dtype", IR_ATTR_INT},  {"seed", IR_ATTR_FLOAT},
                                            {"scale", IR_ATTR_FLOAT}, {"mean", IR_ATTR_FLOAT}, {NULL, 0}};
static const op_attr_spec uniform_like_attrs[] = {
    {"dtype", IR_ATTR_INT}, {"seed", IR_ATTR_FLOAT}, {"high", IR_ATTR_FLOAT}, {"low", IR_ATTR_FLOAT}, {NULL, 0}};
static const op_attr_spec normal_like_attrs[] = {
    {"dtype", IR_ATTR_INT}, {"seed", IR_ATTR_FLOAT}, {"scale", IR_ATTR_FLOAT}, {"mean", IR_ATTR_FLOAT}, {NULL, 0}};
static const op_attr_spec bernoulli_attrs[] = {{"dtype", IR_ATTR_INT}, {"seed", IR_ATTR_FLOAT}, {NULL, 0}};
static const op_attr_spec multinomial_attrs[] = {
    {"dtype", IR_ATTR_INT}, {"seed", IR_ATTR_FLOAT}, {"sample_size", IR_ATTR_INT}, {NULL, 0}};

OP_DEF(RANDOM_UNIFORM, .attrs = uniform_attrs, .infer = infer_random, .flops = flops_random);
OP_DEF(RANDOM_NORMAL, .attrs = normal_attrs, .infer = infer_random, .flops = flops_random);
OP_DEF(RANDOM_UNIFORM_LIKE, .attrs = uniform_like_attrs, .infer = infer_random, .flops = flops_random);
OP_DEF(RANDOM_NORMAL_LIKE, .attrs = normal_like_attrs, .infer = infer_random, .flops = flops_random);
OP_DEF(BERNOULLI, .attrs = bernoulli_attrs, .infer = infer_random, .flops = flops_random);
OP_DEF(MULTINOMIAL, .attrs = multinomial_attrs, .infer = infer_random, .flops = flops_random);
