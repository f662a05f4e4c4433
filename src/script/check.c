/*
 * script/check.c - names, module instantiation, types and shapes, and the
 * walk that lowers the exported module into IR (through lower.c).
 *
 * The checker is an evaluator over compile-time values: module arguments,
 * loop variables and literals are numbers it computes with; tensors are
 * typed values (dtype + dims, each a size or a symbol) that also name the IR
 * value computing them.  Every operation checks its operands' types first
 * and reports with HoduScript locations; only then does it emit IR.  Loops
 * unroll, conditions pick a branch, modules instantiate with their
 * arguments, functions are inlined at each call.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loader/loader.h"
#include "util/hash.h"
#include "script/lower.h"
#include "script/parse.h"
#include "script/script.h"

#define HS_MAX_CALL_DEPTH  64
#define HS_MAX_UNROLL      100000 /* loop iterations and list elements, all together */
#define HS_MAX_EVAL_DEPTH  256
#define HS_MAX_PARAM_BYTES (UINT64_C(4) << 30)
#define HS_MAX_OUTPUTS     1024 /* tensors the entry's forward returns */

typedef enum vk { V_NONE, V_INT, V_FLOAT, V_BOOL, V_STR, V_TENSOR, V_MODULE, V_LIST, V_FN, V_ABSENT } vk;

typedef struct tdim {
    int64_t size; /* -1: symbolic */
    const char *sym;
} tdim;

typedef struct val val;
typedef struct scope scope;
typedef struct inst inst;

struct val {
    vk k;
    int64_t i;
    double f;
    const char *s;
    /* tensor */
    hodu_dtype dt;
    int rank;
    tdim dims[HODU_MAX_RANK];
    int ir;
    /* module / list / fn / absent param */
    inst *m;
    val *items;
    size_t n_items;
    hs_node *fn;
    scope *closure;
    bool literal; /* a number written in the program: adopts a tensor's dtype */
};

typedef struct binding {
    const char *name;
    val v;
    hs_span at;
    uint64_t serial; /* order of making: a run-time branch journals writes to older bindings */
} binding;

struct scope {
    scope *up;
    binding *b;
    size_t n, cap;
};

struct inst {
    hs_node *decl;
    const char *prefix; /* "fc1." */
    scope env;
};

typedef struct ctx {
    hs_program *p;
    hs_lower L;
    hs_weights *w;
    uint64_t seed;
    hd_strmap modules, fns; /* global declarations: index into p->items */
    int depth, call_depth;
    size_t unrolled;
    uint64_t param_bytes;
    bool stop;          /* a limit was hit: unwind */
    hs_node *inst_call; /* the instantiation whose members are evaluated, for assert()'s note */
    bool assert_failed; /* an assert() in those members failed: the instance is not made */
    bool returned;
    val ret;
    hs_node *ret_at; /* the return statement's expression */
    /* dim names of the signature being matched */
    struct dimvar {
        const char *name;
        tdim d;
        hs_span at;
    } * dv;
    size_t n_dv, cap_dv;
    const char *pending_prefix; /* instantiation path for a module call */
    hs_expect *expect;          /* NULL: not recording */
    const char *cur_prefix;     /* the module whose forward runs ("fc1."): node names start with it */
    uint64_t serials;           /* bindings made so far */
    struct rt_frame *rtf;       /* the innermost run-time branch being built, or NULL */
    int rt_depth;               /* run-time ifs nested around the code being built */
    struct derived {            /* dims that follow from others (T-1), by name */
        const char *name;
        ir_poly p;
    } * dp;
    size_t n_dp, cap_dp;
    const char **pnames; /* every parameter declared, by dotted name (a train declaration's freeze=) */
    size_t n_pnames, cap_pnames;
} ctx;

/* A run-time branch's writes to names bound before it (`h = ...`): each
 * binding once, with the value it had, so the branch can be undone and
 * the names' values after it become the If's results. */
typedef struct rt_write {
    binding *b;
    val old;
    hs_node *at; /* the last assignment */
} rt_write;

typedef struct rt_frame {
    struct rt_frame *up;
    uint64_t serial0; /* bindings with serials up to this one are outside */
    rt_write *w;
    size_t n, cap;
} rt_frame;

/* One recorded type per value index (rank -1: nothing recorded). */
typedef struct hs_etype {
    hodu_dtype dt;
    int rank;
    tdim dims[HODU_MAX_RANK];
    hs_span at;
} hs_etype;

struct hs_expect {
    hs_etype *t;
    size_t n, cap;
    char **syms; /* names the dims point at, owned here */
    size_t n_syms, cap_syms;
};

/* --- values and scopes ----------------------------------------------------- */

static val vnone(void) { return (val){.k = V_NONE, .ir = -1}; }
static val vint(int64_t i) { return (val){.k = V_INT, .i = i, .ir = -1}; }
static val vfloat(double f) { return (val){.k = V_FLOAT, .f = f, .ir = -1}; }
static val vbool(bool b) { return (val){.k = V_BOOL, .i = b, .ir = -1}; }

static void bind(ctx *c, scope *s, const char *name, val v, hs_span at)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->b[i].name, name) == 0) {
            s->b[i].v = v; /* shadowing: the newest binding wins */
            s->b[i].at = at;
            s->b[i].serial = ++c->serials;
            return;
        }
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 8;
        binding *nb = hs_alloc(&c->p->arena, cap * sizeof(*nb));
        if (s->n)
            memcpy(nb, s->b, s->n * sizeof(*nb));
        s->b = nb;
        s->cap = cap;
    }
    s->b[s->n++] = (binding){name, v, at, ++c->serials};
}

/* `name = v`: in a run-time branch, a binding from outside it is
 * journaled first (rt_frame). */
static void assign(ctx *c, binding *b, val v, hs_node *at)
{
    rt_frame *f = c->rtf;
    if (f && b->serial <= f->serial0) {
        size_t i = 0;
        while (i < f->n && f->w[i].b != b)
            i++;
        if (i == f->n)
            HD_PUSH(f->w, f->n, f->cap, ((rt_write){b, b->v, at}));
        f->w[i].at = at;
    }
    b->v = v;
}

static binding *lookup(scope *s, const char *name)
{
    for (; s; s = s->up)
        for (size_t i = s->n; i-- > 0;)
            if (strcmp(s->b[i].name, name) == 0)
                return &s->b[i];
    return NULL;
}

static const char *kind_name(const val *v)
{
    switch (v->k) {
    case V_INT: return "int";
    case V_FLOAT: return "float";
    case V_BOOL: return "bool";
    case V_STR: return "string";
    case V_TENSOR: return "tensor";
    case V_MODULE: return "module";
    case V_LIST: return "list";
    case V_FN: return "function";
    default: return "nothing";
    }
}

static const struct {
    const char *name;
    hodu_dtype dt;
} dtypes[] = {{"f32", HODU_DTYPE_F32}, {"f64", HODU_DTYPE_F64},  {"f16", HODU_DTYPE_F16}, {"bf16", HODU_DTYPE_BF16},
              {"i8", HODU_DTYPE_I8},   {"i16", HODU_DTYPE_I16},  {"i32", HODU_DTYPE_I32}, {"i64", HODU_DTYPE_I64},
              {"u8", HODU_DTYPE_U8},   {"bool", HODU_DTYPE_BOOL}};

static const char *dt_name(hodu_dtype t)
{
    for (size_t i = 0; i < HD_ARRAY_LEN(dtypes); i++)
        if (dtypes[i].dt == t)
            return dtypes[i].name;
    return "?";
}

static hodu_dtype dt_find(const char *name)
{
    for (size_t i = 0; i < HD_ARRAY_LEN(dtypes); i++)
        if (strcmp(dtypes[i].name, name) == 0)
            return dtypes[i].dt;
    return HODU_DTYPE_UNDEFINED;
}

/* "f32[B, 784]" (arena string). */
static const char *type_text(ctx *c, const val *v)
{
    if (v->k != V_TENSOR)
        return kind_name(v);
    hd_buf b;
    hd_buf_init(&b);
    hd_buf_printf(&b, "%s[", dt_name(v->dt));
    for (int i = 0; i < v->rank; i++) {
        if (i)
            hd_buf_puts(&b, ", ");
        if (v->dims[i].size >= 0)
            hd_buf_printf(&b, "%lld", (long long)v->dims[i].size);
        else
            hd_buf_puts(&b, v->dims[i].sym ? v->dims[i].sym : "?");
    }
    hd_buf_puts(&b, "]");
    char *r = hs_strndup(&c->p->arena, b.data, b.len);
    hd_buf_free(&b);
    return r;
}

static bool dim_eq(tdim a, tdim b)
{
    if (a.size >= 0 || b.size >= 0)
        return a.size == b.size;
    return a.sym && b.sym && strcmp(a.sym, b.sym) == 0;
}

static const char *dim_text(ctx *c, tdim d)
{
    if (d.size >= 0) {
        char buf[32];
        snprintf(buf, sizeof(buf), "%lld", (long long)d.size);
        return hs_strndup(&c->p->arena, buf, strlen(buf));
    }
    return d.sym ? d.sym : "?";
}

static val tensor(hodu_dtype dt, int rank, const tdim *dims, int ir)
{
    val v = {.k = V_TENSOR, .dt = dt, .rank = rank, .ir = ir};
    for (int i = 0; i < rank; i++)
        v.dims[i] = dims[i];
    return v;
}

static val eval(ctx *c, scope *s, hs_node *e);
static void exec_block(ctx *c, scope *s, hs_list *stmts);
static val call_fn(ctx *c, val *fn, val *args, size_t n_args, hs_node *call);

/* Counts a node against the limit; false once it is passed. */
static bool node_budget(ctx *c, hs_span at)
{
    if (c->L.n_nodes >= HODU_MAX_NODES && !c->stop) {
        hs_error(c->p, at, "the program makes more than %d nodes", HODU_MAX_NODES);
        c->stop = true;
    }
    return !c->stop;
}

static int emit(ctx *c, const char *op, const int *ins, size_t n, hs_span at)
{
    if (!node_budget(c, at))
        return -1;
    if (!c->L.g || !c->cur_prefix || !*c->cur_prefix)
        return lw_node(&c->L, op, ins, n, at, NULL);
    char *name = hd_xasprintf("%s%s", c->cur_prefix, op);
    int v = lw_node(&c->L, op, ins, n, at, name);
    free(name);
    return v;
}

/* `let h = ...` names the node that computes h after it ("fc1.h_12"), so
 * --dump-ir reads like the source.  Only a node the let's own expression
 * made is renamed; the number keeps names unique. */
static void name_after(ctx *c, const val *v, const char *name, size_t first_value)
{
    ir_graph *g = c->L.g;
    if (!g || v->k != V_TENSOR || v->ir < 0 || (size_t)v->ir < first_value || g->values[v->ir].producer < 0 ||
        g->values[v->ir].is_output)
        return;
    ir_node *nd = &g->nodes[g->values[v->ir].producer];
    char *nm = hd_xasprintf("%s%s_%d", c->cur_prefix ? c->cur_prefix : "", name, v->ir);
    free(nd->name);
    nd->name = hd_xstrdup(nm);
    free(g->values[v->ir].name);
    g->values[v->ir].name = nm;
}

/* --- compile-time numbers -------------------------------------------------- */

static bool is_num(const val *v) { return v->k == V_INT || v->k == V_FLOAT || v->k == V_BOOL; }
static double num(const val *v) { return v->k == V_FLOAT ? v->f : (double)v->i; }

static bool want_int(ctx *c, val v, hs_node *e, int64_t *out)
{
    if (v.k == V_INT) {
        *out = v.i;
        return true;
    }
    if (v.k != V_NONE) /* NONE: already reported */
        hs_error(c->p, e->span, "expected a compile-time int, found %s", type_text(c, &v));
    return false;
}

static val const_binary(ctx *c, hs_node *e, val a, val b)
{
    hs_op op = e->op;
    if (op == HS_OP_AND || op == HS_OP_OR) {
        if (a.k != V_BOOL || b.k != V_BOOL) {
            hs_error(c->p, e->span, "'%s' takes two bools, found %s and %s", hs_op_text(op), kind_name(&a),
                     kind_name(&b));
            return vnone();
        }
        return vbool(op == HS_OP_AND ? (a.i && b.i) : (a.i || b.i));
    }
    if (op == HS_OP_MATMUL) {
        hs_error(c->p, e->span, "'@' takes tensors, found %s and %s", kind_name(&a), kind_name(&b));
        return vnone();
    }
    if (a.k == V_INT && b.k == V_INT && op != HS_OP_DIV && op != HS_OP_POW) {
        int64_t r = 0;
        bool ok = true;
        switch (op) {
        case HS_OP_ADD: ok = hd_add_i64(a.i, b.i, &r); break;
        case HS_OP_SUB: ok = hd_sub_i64(a.i, b.i, &r); break;
        case HS_OP_MUL: ok = hd_mul_i64(a.i, b.i, &r); break;
        case HS_OP_IDIV:
            if (b.i == 0 || (a.i == INT64_MIN && b.i == -1)) {
                hs_error(c->p, e->span, "integer division by %lld", (long long)b.i);
                return vnone();
            }
            r = a.i / b.i - ((a.i % b.i != 0) && ((a.i < 0) != (b.i < 0))); /* floor, as in Python */
            break;
        case HS_OP_MOD:
            if (b.i == 0 || (a.i == INT64_MIN && b.i == -1)) {
                hs_error(c->p, e->span, "remainder by %lld", (long long)b.i);
                return vnone();
            }
            r = a.i % b.i;
            if (r != 0 && (r < 0) != (b.i < 0)) /* the divisor's sign, as in Python */
                r += b.i;
            break;
        case HS_OP_LT: return vbool(a.i < b.i);
        case HS_OP_LE: return vbool(a.i <= b.i);
        case HS_OP_GT: return vbool(a.i > b.i);
        case HS_OP_GE: return vbool(a.i >= b.i);
        case HS_OP_EQ: return vbool(a.i == b.i);
        case HS_OP_NE: return vbool(a.i != b.i);
        default: break;
        }
        if (!ok) {
            hs_error(c->p, e->span, "integer overflow");
            return vnone();
        }
        val v = vint(r);
        v.literal = a.literal && b.literal;
        return v;
    }
    if (a.k == V_BOOL && b.k == V_BOOL && (op == HS_OP_EQ || op == HS_OP_NE))
        return vbool(op == HS_OP_EQ ? a.i == b.i : a.i != b.i);
    if ((a.k != V_INT && a.k != V_FLOAT) || (b.k != V_INT && b.k != V_FLOAT)) {
        hs_error(c->p, e->span, "'%s' cannot take %s and %s", hs_op_text(op), kind_name(&a), kind_name(&b));
        return vnone();
    }
    double x = num(&a), y = num(&b), r = 0;
    switch (op) {
    case HS_OP_ADD: r = x + y; break;
    case HS_OP_SUB: r = x - y; break;
    case HS_OP_MUL: r = x * y; break;
    case HS_OP_DIV: r = x / y; break;
    case HS_OP_MOD:
        r = fmod(x, y);
        if (r != 0 && (r < 0) != (y < 0))
            r += y;
        break;
    case HS_OP_IDIV: r = floor(x / y); break;
    case HS_OP_POW: r = pow(x, y); break;
    case HS_OP_LT: return vbool(x < y);
    case HS_OP_LE: return vbool(x <= y);
    case HS_OP_GT: return vbool(x > y);
    case HS_OP_GE: return vbool(x >= y);
    case HS_OP_EQ: return vbool(x == y);
    case HS_OP_NE: return vbool(x != y);
    default: break;
    }
    val v = vfloat(r);
    v.literal = a.literal && b.literal;
    return v;
}

/* --- tensor operations ----------------------------------------------------- */

/* A compile-time number as a scalar tensor of `dt` (the literal adopts the
 * other operand's dtype). */
static bool as_tensor(ctx *c, val *v, hodu_dtype dt, hs_node *e)
{
    if (v->k == V_TENSOR)
        return true;
    if (!is_num(v)) {
        hs_error(c->p, e->span, "expected a tensor or a number, found %s", kind_name(v));
        return false;
    }
    if (v->k == V_FLOAT && !ir_dtype_is_float(dt)) {
        hs_error(c->p, e->span, "the float %g cannot take the dtype %s of the other operand", v->f, dt_name(dt));
        return false;
    }
    int ir;
    if (dt == HODU_DTYPE_F16) {
        ir = lw_scalar(&c->L, HODU_DTYPE_F32, num(v), e->span);
        if (ir >= 0 || !c->L.g) {
            ir = emit(c, "Cast", &ir, 1, e->span);
            lw_attr_int(&c->L, ir, "to", HODU_DTYPE_F16);
        }
    } else {
        ir = lw_scalar(&c->L, dt, num(v), e->span);
    }
    *v = tensor(dt, 0, NULL, ir);
    return true;
}

/* NumPy broadcasting of a and b into out; on failure reports at `e` with
 * notes at both operands. */
static bool broadcast(ctx *c, const val *a, const val *b, hs_node *e, hs_node *ea, hs_node *eb, val *out)
{
    int r = a->rank > b->rank ? a->rank : b->rank;
    out->rank = r;
    for (int i = 0; i < r; i++) {
        int ia = i - (r - a->rank), ib = i - (r - b->rank);
        tdim da = ia >= 0 ? a->dims[ia] : (tdim){1, NULL}, db = ib >= 0 ? b->dims[ib] : (tdim){1, NULL};
        if (dim_eq(da, db) || db.size == 1)
            out->dims[i] = da;
        else if (da.size == 1)
            out->dims[i] = db;
        else {
            hs_error(c->p, e->span, "cannot broadcast %s with %s: dim %s against %s", type_text(c, a), type_text(c, b),
                     dim_text(c, da), dim_text(c, db));
            hs_note(c->p, ea->span, "this is %s", type_text(c, a));
            hs_note(c->p, eb->span, "this is %s", type_text(c, b));
            return false;
        }
    }
    return true;
}

static bool same_dtype(ctx *c, const val *a, const val *b, hs_node *e, hs_node *ea, hs_node *eb)
{
    if (a->dt == b->dt)
        return true;
    hs_error(c->p, e->span, "dtype mismatch: %s and %s", dt_name(a->dt), dt_name(b->dt));
    hs_note(c->p, ea->span, "this is %s", type_text(c, a));
    hs_note(c->p, eb->span, "this is %s", type_text(c, b));
    hs_help(c->p, "HoduScript converts no dtype implicitly; only number literals adopt the other operand's dtype");
    return false;
}

static val matmul(ctx *c, val a, val b, hs_node *e, hs_node *ea, hs_node *eb)
{
    if (!same_dtype(c, &a, &b, e, ea, eb))
        return vnone();
    if (a.rank < 1 || b.rank < 1) {
        hs_error(c->p, e->span, "matmul needs tensors of rank 1 or more, found %s and %s", type_text(c, &a),
                 type_text(c, &b));
        return vnone();
    }
    tdim k1 = a.dims[a.rank - 1], k2 = b.rank >= 2 ? b.dims[b.rank - 2] : b.dims[0];
    if (!dim_eq(k1, k2)) {
        hs_error(c->p, e->span, "matmul of %s and %s: inner dims %s and %s differ", type_text(c, &a), type_text(c, &b),
                 dim_text(c, k1), dim_text(c, k2));
        hs_note(c->p, ea->span, "this is %s", type_text(c, &a));
        hs_note(c->p, eb->span, "this is %s", type_text(c, &b));
        return vnone();
    }
    /* batch dims broadcast */
    val ba = a, bb = b, out = {.k = V_TENSOR, .dt = a.dt};
    ba.rank = a.rank >= 2 ? a.rank - 2 : 0;
    bb.rank = b.rank >= 2 ? b.rank - 2 : 0;
    if (!broadcast(c, &ba, &bb, e, ea, eb, &out))
        return vnone();
    if (a.rank >= 2)
        out.dims[out.rank++] = a.dims[a.rank - 2];
    if (b.rank >= 2)
        out.dims[out.rank++] = b.dims[b.rank - 1];
    int ins[2] = {a.ir, b.ir};
    out.ir = emit(c, "MatMul", ins, 2, e->span);
    return out;
}

/* a // b and a % b on tensors of one dtype, as in Python: the quotient
 * rounded down and the remainder with the divisor's sign, so that
 * a == (a // b) * b + a % b.  Integers: Mod (fmod=0) is that remainder,
 * and (a - a % b) / b divides exactly.  Floats: Floor(a / b), and fmod's
 * remainder moved by b where its sign differs from b's. */
static int floor_div_mod(ctx *c, hs_op op, val a, val b, hs_span at)
{
    int ins[3] = {a.ir, b.ir, -1};
    if (!ir_dtype_is_float(a.dt)) {
        int mod = emit(c, "Mod", ins, 2, at);
        if (op == HS_OP_MOD || mod < 0)
            return mod;
        int diff[2] = {a.ir, mod};
        ins[0] = emit(c, "Sub", diff, 2, at);
        return ins[0] < 0 ? -1 : emit(c, "Div", ins, 2, at);
    }
    if (op == HS_OP_IDIV) {
        int q = emit(c, "Div", ins, 2, at);
        return q < 0 ? -1 : emit(c, "Floor", &q, 1, at);
    }
    int r = emit(c, "Mod", ins, 2, at);
    if (r < 0)
        return -1;
    lw_attr_int(&c->L, r, "fmod", 1);
    int zero = lw_scalar(&c->L, a.dt, 0.0, at);
    int rz[2] = {r, zero}, bz[2] = {b.ir, zero};
    int r_neg = emit(c, "Less", rz, 2, at), b_neg = emit(c, "Less", bz, 2, at), r_zero = emit(c, "Equal", rz, 2, at);
    if (r_neg < 0 || b_neg < 0 || r_zero < 0)
        return -1;
    int signs[2] = {r_neg, b_neg}, nz = emit(c, "Not", &r_zero, 1, at);
    int differ = emit(c, "Xor", signs, 2, at);
    if (nz < 0 || differ < 0)
        return -1;
    int both[2] = {differ, nz}, rb[2] = {r, b.ir};
    int cond = emit(c, "And", both, 2, at), moved = emit(c, "Add", rb, 2, at);
    if (cond < 0 || moved < 0)
        return -1;
    int pick[3] = {cond, moved, r};
    return emit(c, "Where", pick, 3, at);
}

static val tensor_binary(ctx *c, hs_node *e, val a, val b)
{
    hs_op op = e->op;
    hs_node *ea = e->a, *eb = e->b;
    if (a.k != V_TENSOR && !as_tensor(c, &a, b.dt, ea))
        return vnone();
    if (b.k != V_TENSOR && !as_tensor(c, &b, a.dt, eb))
        return vnone();
    if (op == HS_OP_MATMUL)
        return matmul(c, a, b, e, ea, eb);
    if (op == HS_OP_AND || op == HS_OP_OR) {
        hs_error(c->p, e->span, "'%s' is not defined on tensors yet", hs_op_text(op));
        return vnone();
    }
    if (!same_dtype(c, &a, &b, e, ea, eb))
        return vnone();
    if (a.dt == HODU_DTYPE_BOOL && op != HS_OP_EQ && op != HS_OP_NE) {
        hs_error(c->p, e->span, "'%s' does not take bool tensors", hs_op_text(op));
        return vnone();
    }
    val out = {.k = V_TENSOR, .dt = a.dt};
    if (!broadcast(c, &a, &b, e, ea, eb, &out))
        return vnone();
    if (op == HS_OP_MOD || op == HS_OP_IDIV) {
        out.ir = floor_div_mod(c, op, a, b, e->span);
        return out;
    }
    static const char *const onnx[] = {
        [HS_OP_ADD] = "Add",           [HS_OP_SUB] = "Sub",  [HS_OP_MUL] = "Mul",        [HS_OP_DIV] = "Div",
        [HS_OP_POW] = "Pow",           [HS_OP_LT] = "Less",  [HS_OP_LE] = "LessOrEqual", [HS_OP_GT] = "Greater",
        [HS_OP_GE] = "GreaterOrEqual", [HS_OP_EQ] = "Equal", [HS_OP_NE] = "Equal"};
    int ins[2] = {a.ir, b.ir};
    out.ir = emit(c, onnx[op], ins, 2, e->span);
    if (op >= HS_OP_LT && op <= HS_OP_NE)
        out.dt = HODU_DTYPE_BOOL;
    if (op == HS_OP_NE)
        out.ir = emit(c, "Not", &out.ir, 1, e->span);
    return out;
}

/* --- dims in types --------------------------------------------------------- */

static struct dimvar *dimvar_find(ctx *c, const char *name)
{
    for (size_t i = 0; i < c->n_dv; i++)
        if (strcmp(c->dv[i].name, name) == 0)
            return &c->dv[i];
    return NULL;
}

/* --- dims that follow from others ------------------------------------------ */

/* A symbolic dim is a polynomial over the dim names (T, or T-1 after
 * x[:, 1:]).  A derived one is named by its polynomial as the IR names
 * its derived symbols (ir_poly_print, src/ir/dims.c): canonical, so equal
 * dims get equal names and unify like any other. */
static ir_poly dim_poly(ctx *c, tdim d)
{
    if (d.size >= 0 || !d.sym)
        return ir_poly_const(d.size >= 0 ? d.size : 0);
    for (size_t i = 0; i < c->n_dp; i++)
        if (strcmp(c->dp[i].name, d.sym) == 0)
            return c->dp[i].p;
    ir_poly p = {0};
    p.n = 1;
    p.t[0] = (ir_term){.coef = 1, .n = 1, .f = {d.sym}};
    return p;
}

static bool is_derived(const ctx *c, tdim d)
{
    for (size_t i = 0; d.size < 0 && d.sym && i < c->n_dp; i++)
        if (strcmp(c->dp[i].name, d.sym) == 0)
            return true;
    return false;
}

/* The dim p is: a size (possibly negative: the caller checks), a dim
 * name, or a derived dim named after p. */
static tdim poly_tdim(ctx *c, const ir_poly *p)
{
    if (p->n == 0 || (p->n == 1 && p->t[0].n == 0))
        return (tdim){p->n ? p->t[0].coef : 0, NULL};
    if (p->n == 1 && p->t[0].n == 1 && p->t[0].coef == 1)
        return (tdim){-1, p->t[0].f[0]};
    hd_buf b;
    hd_buf_init(&b);
    ir_poly_print(p, &b);
    const char *name = NULL;
    for (size_t i = 0; i < c->n_dp && !name; i++)
        if (strcmp(c->dp[i].name, b.data) == 0)
            name = c->dp[i].name;
    if (!name) {
        name = hs_strndup(&c->p->arena, b.data, b.len);
        struct derived nd = {name, *p};
        HD_PUSH(c->dp, c->n_dp, c->cap_dp, nd);
    }
    hd_buf_free(&b);
    return (tdim){-1, name};
}

/* Whether e mentions a dim name (a name bound to no compile-time value). */
static bool names_dim(scope *s, const hs_node *e)
{
    if (!e)
        return false;
    if (e->kind == HS_NAME) {
        binding *b = lookup(s, e->name);
        return !b || b->v.k == V_TENSOR || b->v.k == V_MODULE || b->v.k == V_FN || b->v.k == V_LIST;
    }
    if (e->kind == HS_BINARY || e->kind == HS_UNARY)
        return names_dim(s, e->a) || names_dim(s, e->b);
    return false;
}

/* A dim expression over dim names (T - 1, 2 * T): +, - and * of names the
 * signature bound before and compile-time ints. */
static bool dim_expr(ctx *c, scope *s, hs_node *e, ir_poly *out)
{
    if (!names_dim(s, e)) {
        int64_t n;
        if (!want_int(c, eval(c, s, e), e, &n))
            return false;
        *out = ir_poly_const(n);
        return true;
    }
    if (e->kind == HS_NAME) {
        struct dimvar *dv = dimvar_find(c, e->name);
        if (!dv) {
            hs_error(c->p, e->span, "the dim name '%s' is used in an expression before the signature binds it",
                     e->name);
            hs_help(c->p, "a dim name is bound where it stands alone, as T in f32[T] before f32[T - 1]");
            return false;
        }
        *out = dim_poly(c, dv->d);
        return true;
    }
    ir_poly a, b = ir_poly_const(0);
    bool ok;
    if (e->kind == HS_UNARY && e->op == HS_OP_NEG) {
        if (!dim_expr(c, s, e->a, &a))
            return false;
        ok = ir_poly_add(&b, &a, -1, out);
    } else if (e->kind == HS_BINARY && (e->op == HS_OP_ADD || e->op == HS_OP_SUB || e->op == HS_OP_MUL)) {
        if (!dim_expr(c, s, e->a, &a) || !dim_expr(c, s, e->b, &b))
            return false;
        ok = e->op == HS_OP_MUL ? ir_poly_mul(&a, &b, out) : ir_poly_add(&a, &b, e->op == HS_OP_ADD ? 1 : -1, out);
    } else {
        hs_error(c->p, e->span, "a dim expression takes +, - and * of dim names and ints");
        return false;
    }
    if (!ok)
        hs_error(c->p, e->span, "the dim expression is too large");
    return ok;
}

/* A dim expression in a type: a compile-time int, a dim name (bound by
 * its first use in the signature), or an expression over bound dim names
 * (T - 1).  Sets *is_var for names. */
static bool type_dim(ctx *c, scope *s, hs_node *e, tdim *out, bool *is_var)
{
    *is_var = false;
    if (e->kind == HS_NAME && names_dim(s, e)) {
        *is_var = true;
        out->size = -1;
        out->sym = e->name;
        return true;
    }
    if (names_dim(s, e)) {
        ir_poly p;
        if (!dim_expr(c, s, e, &p))
            return false;
        *out = poly_tdim(c, &p);
        if (!out->sym && out->size < 0) {
            hs_error(c->p, e->span, "a dim must not be negative (it is %lld)", (long long)out->size);
            return false;
        }
        return true;
    }
    int64_t n;
    if (!want_int(c, eval(c, s, e), e, &n))
        return false;
    if (n < 0) {
        hs_error(c->p, e->span, "a dim must not be negative (it is %lld)", (long long)n);
        return false;
    }
    *out = (tdim){n, NULL};
    return true;
}

/* Matches a tensor value against a declared type, binding dim names;
 * errors at `at` (the value) with a note at the type. */
static bool match_type(ctx *c, scope *s, hs_node *type, const val *v, hs_node *at, const char *what)
{
    if (type->kind == HS_TUPLE_TYPE) { /* (T1, name: T2, ...): a list of as many, each its type */
        if (v->k != V_LIST || v->n_items != type->list.n) {
            if (v->k == V_LIST)
                hs_error(c->p, at->span, "%s is a tuple of %zu, expected a tuple of %zu", what, v->n_items,
                         type->list.n);
            else
                hs_error(c->p, at->span, "%s is %s, expected a tuple of %zu", what, type_text(c, v), type->list.n);
            hs_note(c->p, type->span, "declared here");
            return false;
        }
        for (size_t i = 0; i < type->list.n; i++) {
            hs_node *t = type->list.items[i];
            char *item = t->kind == HS_FORMAL ? hd_xasprintf("%s's element %zu ('%s')", what, i, t->name)
                                              : hd_xasprintf("%s's element %zu", what, i);
            bool ok = match_type(c, s, t->kind == HS_FORMAL ? t->a : t, &v->items[i], at, item);
            free(item);
            if (!ok)
                return false;
        }
        return true;
    }
    hodu_dtype dt = dt_find(type->name);
    if (dt == HODU_DTYPE_UNDEFINED || !type->ival) {
        /* a scalar kind: int, float, bool */
        bool ok = (strcmp(type->name, "int") == 0 && v->k == V_INT) ||
                  (strcmp(type->name, "float") == 0 && (v->k == V_FLOAT || v->k == V_INT)) ||
                  (strcmp(type->name, "bool") == 0 && v->k == V_BOOL);
        if (!ok && dt == HODU_DTYPE_UNDEFINED && strcmp(type->name, "int") && strcmp(type->name, "float") &&
            strcmp(type->name, "bool")) {
            hs_error(c->p, type->span, "unknown type '%s'", type->name);
            hs_help(c->p, "types are int, float, bool, or a dtype with a shape such as f32[B, 784]");
            return false;
        }
        if (!ok) {
            hs_error(c->p, at->span, "%s is %s, expected %s", what, type_text(c, v), type->name);
            hs_note(c->p, type->span, "declared here");
        }
        return ok;
    }
    if (v->k != V_TENSOR) {
        hs_error(c->p, at->span, "%s is %s, expected a tensor %s", what, type_text(c, v), type->name);
        hs_note(c->p, type->span, "declared here");
        return false;
    }
    if (v->dt != dt) {
        hs_error(c->p, at->span, "%s has dtype %s, expected %s", what, dt_name(v->dt), dt_name(dt));
        hs_note(c->p, type->span, "declared here");
        return false;
    }
    size_t nd = type->list.n, ell = nd;
    for (size_t i = 0; i < nd; i++)
        if (type->list.items[i]->kind == HS_ELLIPSIS) {
            if (ell != nd) {
                hs_error(c->p, type->list.items[i]->span, "a type has at most one '...'");
                return false;
            }
            ell = i;
        }
    int fixed = (int)nd - (ell != nd);
    if ((ell == nd && v->rank != fixed) || (ell != nd && v->rank < fixed)) {
        hs_error(c->p, at->span, "%s is %s: rank %d, expected %s%d", what, type_text(c, v), v->rank,
                 ell != nd ? "at least " : "", fixed);
        hs_note(c->p, type->span, "declared here");
        return false;
    }
    for (size_t i = 0; i < nd; i++) {
        if (i == ell)
            continue;
        int k = i < ell ? (int)i : v->rank - ((int)nd - (int)i);
        hs_node *de = type->list.items[i];
        tdim want;
        bool is_var;
        if (!type_dim(c, s, de, &want, &is_var))
            return false;
        if (is_var) {
            struct dimvar *dv = dimvar_find(c, de->name);
            if (!dv) {
                struct dimvar nv = {de->name, v->dims[k], de->span};
                HD_PUSH(c->dv, c->n_dv, c->cap_dv, nv);
                continue;
            }
            if (!dim_eq(dv->d, v->dims[k])) {
                hs_error(c->p, at->span, "%s is %s: dim %d is %s, but '%s' is %s", what, type_text(c, v), k,
                         dim_text(c, v->dims[k]), de->name, dim_text(c, dv->d));
                hs_note(c->p, dv->at, "'%s' was bound to %s here", de->name, dim_text(c, dv->d));
                hs_note(c->p, de->span, "and is used again here");
                return false;
            }
            continue;
        }
        if (!dim_eq(want, v->dims[k])) {
            hs_error(c->p, at->span, "%s is %s: dim %d is %s, expected %s", what, type_text(c, v), k,
                     dim_text(c, v->dims[k]), dim_text(c, want));
            hs_note(c->p, de->span, "declared here");
            return false;
        }
    }
    return true;
}

/* --- builtins -------------------------------------------------------------- */

/* Binds a call's arguments to a builtin's parameter names: positional
 * first, then keywords; `nreq` leading ones are required. */
static bool bind_args(ctx *c, hs_node *call, const char *fname, const char *const *names, int nparams, int nreq,
                      val *args, size_t nargs, val *out, hs_node **where)
{
    bool ok = true;
    for (int i = 0; i < nparams; i++) {
        out[i] = vnone();
        where[i] = call;
    }
    int pos = 0;
    for (size_t i = 0; i < nargs; i++) {
        hs_node *a = call->list.items[i];
        int k = -1;
        if (!a->name) {
            k = pos++;
            if (k >= nparams) {
                hs_error(c->p, a->span, "%s() takes at most %d arguments, given %zu", fname, nparams, nargs);
                return false;
            }
        } else {
            for (int j = 0; j < nparams; j++)
                if (strcmp(names[j], a->name) == 0)
                    k = j;
            if (k < 0) {
                hs_error(c->p, a->span, "%s() has no parameter '%s'", fname, a->name);
                ok = false;
                continue;
            }
        }
        if (out[k].k != V_NONE || (where[k] != call && where[k] != NULL)) {
            hs_error(c->p, a->span, "%s() is given '%s' twice", fname, names[k]);
            ok = false;
        }
        out[k] = args[i];
        where[k] = a;
    }
    for (int i = 0; i < nreq && ok; i++)
        if (where[i] == call) {
            hs_error(c->p, call->span, "%s() needs its argument '%s'", fname, names[i]);
            ok = false;
        }
    return ok;
}

static bool want_tensor(ctx *c, const val *v, hs_node *at, const char *fname)
{
    if (v->k == V_TENSOR)
        return true;
    if (v->k != V_NONE)
        hs_error(c->p, at->span, "%s() takes a tensor here, found %s", fname, type_text(c, v));
    return false;
}

static bool want_float_dt(ctx *c, const val *v, hs_node *at, const char *fname)
{
    if (ir_dtype_is_float(v->dt))
        return true;
    hs_error(c->p, at->span, "%s() takes a float tensor, found %s", fname, type_text(c, v));
    return false;
}

/* An axis in [-rank, rank) made non-negative. */
static bool norm_axis(ctx *c, int64_t axis, int rank, hs_node *at, int64_t *out)
{
    if (axis < -rank || axis >= (rank ? rank : 1)) {
        hs_error(c->p, at->span, "axis %lld is out of range for rank %d", (long long)axis, rank);
        return false;
    }
    *out = axis < 0 ? axis + rank : axis;
    return true;
}

/* Ints from an int or a list of ints (stride=2 or stride=[2, 1]). */
static bool int_list(ctx *c, const val *v, hs_node *at, int64_t *out, size_t max, size_t *n)
{
    if (v->k == V_INT) {
        out[0] = v->i;
        *n = 1;
        return true;
    }
    if (v->k == V_LIST && v->n_items <= max) {
        for (size_t i = 0; i < v->n_items; i++) {
            if (v->items[i].k != V_INT) {
                hs_error(c->p, at->span, "expected a list of ints");
                return false;
            }
            out[i] = v->items[i].i;
        }
        *n = v->n_items;
        return true;
    }
    if (v->k != V_NONE)
        hs_error(c->p, at->span, "expected an int or a list of at most %zu ints, found %s", max, type_text(c, v));
    return false;
}

static bool pair(ctx *c, const val *v, hs_node *at, int64_t dflt, int64_t lo, int64_t out[2])
{
    if (v->k == V_NONE && at->kind != HS_ARG) {
        out[0] = out[1] = dflt;
        return true;
    }
    size_t n;
    if (!int_list(c, v, at, out, 2, &n))
        return false;
    if (n == 1)
        out[1] = out[0];
    else if (n != 2) {
        hs_error(c->p, at->span, "expected one int or two");
        return false;
    }
    if (out[0] < lo || out[1] < lo || out[0] > (1 << 24) || out[1] > (1 << 24)) {
        hs_error(c->p, at->span, "expected values from %lld to %d", (long long)lo, 1 << 24);
        return false;
    }
    return true;
}

/* out = (in + 2p - d(k-1) - 1) / s + 1 over a known dim */
static bool window_dim(ctx *c, tdim in, int64_t k, int64_t s, int64_t p, int64_t d, hs_node *at, tdim *out)
{
    if (in.size < 0) {
        hs_error(c->p, at->span, "a spatial dim must be a known size, found '%s'", in.sym ? in.sym : "?");
        return false;
    }
    int64_t span = d * (k - 1) + 1, padded = in.size + 2 * p;
    if (padded < span) {
        hs_error(c->p, at->span, "the window (%lld) is larger than the padded input (%lld)", (long long)span,
                 (long long)padded);
        return false;
    }
    *out = (tdim){(padded - span) / s + 1, NULL};
    return true;
}

static int64_t dims_product_known(const val *v, int from, int to, bool *known)
{
    int64_t n = 1;
    *known = true;
    for (int i = from; i < to; i++) {
        if (v->dims[i].size < 0 || !hd_mul_i64(n, v->dims[i].size, &n)) {
            *known = false;
            return -1;
        }
    }
    return n;
}

static val builtin(ctx *c, const char *name, val *args, size_t nargs, hs_node *call, bool *found)
{
    *found = true;
    val a[7];
    hs_node *w[7];
    static const char *const unary[][2] = {{"relu", "Relu"}, {"sigmoid", "Sigmoid"}, {"tanh", "Tanh"}, {"exp", "Exp"},
                                           {"log", "Log"},   {"sqrt", "Sqrt"},       {"abs", "Abs"},   {"erf", "Erf"}};
    for (size_t i = 0; i < HD_ARRAY_LEN(unary); i++) {
        if (strcmp(name, unary[i][0]) != 0)
            continue;
        static const char *const nm[] = {"x"};
        if (!bind_args(c, call, name, nm, 1, 1, args, nargs, a, w))
            return vnone();
        if (is_num(&a[0])) { /* compile time: sqrt(in_features) in an initializer */
            double x = num(&a[0]), r = x;
            switch (i) {
            case 0: r = x > 0 ? x : 0; break;
            case 1: r = 1 / (1 + exp(-x)); break;
            case 2: r = tanh(x); break;
            case 3: r = exp(x); break;
            case 4: r = log(x); break;
            case 5: r = sqrt(x); break;
            case 6: r = fabs(x); break;
            case 7: r = erf(x); break;
            }
            return vfloat(r);
        }
        if (!want_tensor(c, &a[0], w[0], name) || (i != 0 && i != 6 && !want_float_dt(c, &a[0], w[0], name)))
            return vnone();
        val out = a[0];
        out.ir = emit(c, unary[i][1], &a[0].ir, 1, call->span);
        return out;
    }
    if (strcmp(name, "gelu") == 0) {
        /* 0.5 x (1 + erf(x / sqrt 2)), as exporters write it before opset 20 */
        static const char *const nm[] = {"x"};
        if (!bind_args(c, call, name, nm, 1, 1, args, nargs, a, w) || !want_tensor(c, &a[0], w[0], name) ||
            !want_float_dt(c, &a[0], w[0], name))
            return vnone();
        val x = a[0];
        int k = lw_scalar(&c->L, x.dt, M_SQRT2, call->span);
        int ins[2] = {x.ir, k};
        int t = emit(c, "Div", ins, 2, call->span);
        t = emit(c, "Erf", &t, 1, call->span);
        ins[0] = t;
        ins[1] = lw_scalar(&c->L, x.dt, 1.0, call->span);
        t = emit(c, "Add", ins, 2, call->span);
        ins[0] = x.ir;
        ins[1] = t;
        t = emit(c, "Mul", ins, 2, call->span);
        ins[0] = t;
        ins[1] = lw_scalar(&c->L, x.dt, 0.5, call->span);
        x.ir = emit(c, "Mul", ins, 2, call->span);
        return x;
    }
    if (strcmp(name, "dropout") == 0) { /* identity at inference */
        static const char *const nm[] = {"x", "p"};
        if (!bind_args(c, call, name, nm, 2, 1, args, nargs, a, w) || !want_tensor(c, &a[0], w[0], name))
            return vnone();
        return a[0];
    }
    if (strcmp(name, "softmax") == 0 || strcmp(name, "log_softmax") == 0) {
        static const char *const nm[] = {"x", "axis"};
        int64_t axis = -1;
        if (!bind_args(c, call, name, nm, 2, 1, args, nargs, a, w) || !want_tensor(c, &a[0], w[0], name) ||
            !want_float_dt(c, &a[0], w[0], name) || (a[1].k != V_NONE && !want_int(c, a[1], w[1], &axis)) ||
            !norm_axis(c, axis, a[0].rank, w[1], &axis))
            return vnone();
        val out = a[0];
        out.ir = emit(c, name[0] == 's' ? "Softmax" : "LogSoftmax", &a[0].ir, 1, call->span);
        lw_attr_int(&c->L, out.ir, "axis", axis);
        return out;
    }
    if (strcmp(name, "layer_norm") == 0) {
        static const char *const nm[] = {"x", "weight", "bias", "eps"};
        if (!bind_args(c, call, name, nm, 4, 2, args, nargs, a, w) || !want_tensor(c, &a[0], w[0], name) ||
            !want_float_dt(c, &a[0], w[0], name) || !want_tensor(c, &a[1], w[1], name))
            return vnone();
        double eps = 1e-5;
        if (a[3].k != V_NONE) {
            if (!is_num(&a[3]) || a[3].k == V_BOOL) {
                hs_error(c->p, w[3]->span, "eps must be a number");
                return vnone();
            }
            eps = num(&a[3]);
        }
        val x = a[0], g = a[1];
        if (g.rank < 1 || g.rank > x.rank) {
            hs_error(c->p, w[1]->span, "layer_norm's weight must have rank 1..%d, found %s", x.rank, type_text(c, &g));
            return vnone();
        }
        for (int i = 0; i < g.rank; i++)
            if (!dim_eq(g.dims[i], x.dims[x.rank - g.rank + i]) || g.dt != x.dt) {
                hs_error(c->p, w[1]->span, "layer_norm's weight %s does not match the last dims of %s",
                         type_text(c, &g), type_text(c, &x));
                hs_note(c->p, w[0]->span, "the input is %s", type_text(c, &x));
                return vnone();
            }
        int ins[3] = {x.ir, g.ir, -1};
        size_t n = 2;
        if (a[2].k == V_TENSOR) {
            if (a[2].rank != g.rank || a[2].dt != g.dt) {
                hs_error(c->p, w[2]->span, "layer_norm's bias %s differs from its weight %s", type_text(c, &a[2]),
                         type_text(c, &g));
                return vnone();
            }
            for (int i = 0; i < g.rank; i++)
                if (!dim_eq(g.dims[i], a[2].dims[i])) {
                    hs_error(c->p, w[2]->span, "layer_norm's bias %s differs from its weight %s", type_text(c, &a[2]),
                             type_text(c, &g));
                    return vnone();
                }
            ins[n++] = a[2].ir;
        } else if (a[2].k != V_NONE && a[2].k != V_ABSENT) {
            hs_error(c->p, w[2]->span, "layer_norm's bias must be a tensor");
            return vnone();
        }
        val out = x;
        out.ir = emit(c, "LayerNormalization", ins, n, call->span);
        lw_attr_int(&c->L, out.ir, "axis", x.rank - g.rank);
        lw_attr_float(&c->L, out.ir, "epsilon", eps);
        return out;
    }
    if (strcmp(name, "transpose") == 0) {
        static const char *const nm[] = {"x", "perm"};
        if (!bind_args(c, call, name, nm, 2, 1, args, nargs, a, w) || !want_tensor(c, &a[0], w[0], name))
            return vnone();
        val x = a[0], out = x;
        int64_t perm[HODU_MAX_RANK];
        size_t n = (size_t)x.rank;
        if (a[1].k == V_NONE) {
            for (int i = 0; i < x.rank; i++)
                perm[i] = x.rank - 1 - i;
        } else if (!int_list(c, &a[1], w[1], perm, HODU_MAX_RANK, &n)) {
            return vnone();
        }
        bool seen[HODU_MAX_RANK] = {0};
        if (n != (size_t)x.rank) {
            hs_error(c->p, w[1]->span, "perm has %zu entries for a tensor of rank %d", n, x.rank);
            return vnone();
        }
        for (size_t i = 0; i < n; i++) {
            if (!norm_axis(c, perm[i], x.rank, w[1], &perm[i]))
                return vnone();
            if (seen[perm[i]]) {
                hs_error(c->p, w[1]->span, "perm repeats axis %lld", (long long)perm[i]);
                return vnone();
            }
            seen[perm[i]] = true;
            out.dims[i] = x.dims[perm[i]];
        }
        out.ir = emit(c, "Transpose", &x.ir, 1, call->span);
        lw_attr_ints(&c->L, out.ir, "perm", perm, n);
        return out;
    }
    if (strcmp(name, "reshape") == 0) {
        static const char *const nm[] = {"x", "shape"};
        int64_t sh[HODU_MAX_RANK];
        size_t n;
        if (!bind_args(c, call, name, nm, 2, 2, args, nargs, a, w) || !want_tensor(c, &a[0], w[0], name) ||
            !int_list(c, &a[1], w[1], sh, HODU_MAX_RANK, &n))
            return vnone();
        val x = a[0], out = x;
        out.rank = (int)n;
        /* 0 copies the input's dim (which may be symbolic), -1 is inferred */
        bool copied[HODU_MAX_RANK] = {0};
        int infer = -1;
        int64_t known_out = 1;
        for (size_t i = 0; i < n; i++) {
            if (sh[i] == 0) {
                if ((int)i >= x.rank) {
                    hs_error(c->p, w[1]->span, "shape entry %zu is 0 but the input has rank %d", i, x.rank);
                    return vnone();
                }
                copied[i] = true;
                out.dims[i] = x.dims[i];
            } else if (sh[i] == -1 && infer < 0) {
                infer = (int)i;
            } else if (sh[i] < 0 || !hd_mul_i64(known_out, sh[i], &known_out)) {
                hs_error(c->p, w[1]->span, "bad shape entry %lld", (long long)sh[i]);
                return vnone();
            } else {
                out.dims[i] = (tdim){sh[i], NULL};
            }
        }
        int64_t known_in = 1;
        for (int i = 0; i < x.rank; i++) {
            if (i < (int)n && copied[i])
                continue;
            if (x.dims[i].size < 0 || !hd_mul_i64(known_in, x.dims[i].size, &known_in)) {
                hs_error(c->p, w[0]->span, "reshape of %s: dim %d is symbolic and not kept in place by a 0",
                         type_text(c, &x), i);
                return vnone();
            }
        }
        if (infer >= 0) {
            if (known_out == 0 || known_in % known_out) {
                hs_error(c->p, call->span, "cannot reshape %s into the given shape", type_text(c, &x));
                return vnone();
            }
            out.dims[infer] = (tdim){known_in / known_out, NULL};
        } else if (known_in != known_out) {
            hs_error(c->p, call->span, "cannot reshape %s (%lld elements) into %lld elements", type_text(c, &x),
                     (long long)known_in, (long long)known_out);
            return vnone();
        }
        int ins[2] = {x.ir, lw_i64s(&c->L, sh, n, call->span)};
        out.ir = emit(c, "Reshape", ins, 2, call->span);
        return out;
    }
    if (strcmp(name, "flatten") == 0) {
        static const char *const nm[] = {"x", "axis"};
        int64_t axis = 1;
        if (!bind_args(c, call, name, nm, 2, 1, args, nargs, a, w) || !want_tensor(c, &a[0], w[0], name) ||
            (a[1].k != V_NONE && !want_int(c, a[1], w[1], &axis)))
            return vnone();
        val x = a[0], out = x;
        if (axis < 0)
            axis += x.rank;
        if (axis < 0 || axis > x.rank) {
            hs_error(c->p, w[1]->span, "axis out of range for rank %d", x.rank);
            return vnone();
        }
        bool k1, k2;
        int64_t p1 = dims_product_known(&x, 0, (int)axis, &k1), p2 = dims_product_known(&x, (int)axis, x.rank, &k2);
        out.rank = 2;
        if (k1)
            out.dims[0] = (tdim){p1, NULL};
        else if (axis == 1)
            out.dims[0] = x.dims[0];
        else {
            hs_error(c->p, w[0]->span, "flatten of %s: the leading dims hold a symbolic one", type_text(c, &x));
            return vnone();
        }
        if (!k2) {
            hs_error(c->p, w[0]->span, "flatten of %s: the trailing dims must be known sizes", type_text(c, &x));
            return vnone();
        }
        out.dims[1] = (tdim){p2, NULL};
        out.ir = emit(c, "Flatten", &x.ir, 1, call->span);
        lw_attr_int(&c->L, out.ir, "axis", axis);
        return out;
    }
    if (strcmp(name, "concat") == 0) {
        static const char *const nm[] = {"xs", "axis"};
        int64_t axis = 0;
        if (!bind_args(c, call, name, nm, 2, 2, args, nargs, a, w) || !want_int(c, a[1], w[1], &axis))
            return vnone();
        if (a[0].k != V_LIST || a[0].n_items == 0 || a[0].n_items > 4096) {
            hs_error(c->p, w[0]->span, "concat() takes a list of 1 to 4096 tensors");
            return vnone();
        }
        val out = a[0].items[0];
        if (!want_tensor(c, &out, w[0], name) || !norm_axis(c, axis, out.rank, w[1], &axis))
            return vnone();
        int *ins = hs_alloc(&c->p->arena, a[0].n_items * sizeof(int));
        for (size_t i = 0; i < a[0].n_items; i++) {
            val *t = &a[0].items[i];
            if (!want_tensor(c, t, w[0], name))
                return vnone();
            bool ok = t->dt == out.dt && t->rank == out.rank;
            for (int k = 0; ok && k < t->rank; k++)
                ok = k == axis || dim_eq(t->dims[k], out.dims[k]);
            if (!ok) {
                hs_error(c->p, w[0]->span, "concat: element %zu is %s, which does not fit %s along axis %lld", i,
                         type_text(c, t), type_text(c, &a[0].items[0]), (long long)axis);
                return vnone();
            }
            if (i > 0) {
                if (t->dims[axis].size < 0 || out.dims[axis].size < 0) {
                    hs_error(c->p, w[0]->span, "concat along a symbolic dim is not supported yet");
                    return vnone();
                }
                out.dims[axis].size += t->dims[axis].size;
            }
            ins[i] = t->ir;
        }
        out.ir = emit(c, "Concat", ins, a[0].n_items, call->span);
        lw_attr_int(&c->L, out.ir, "axis", axis);
        return out;
    }
    if (strcmp(name, "matmul") == 0) {
        static const char *const nm[] = {"a", "b"};
        if (!bind_args(c, call, name, nm, 2, 2, args, nargs, a, w) || !want_tensor(c, &a[0], w[0], name) ||
            !want_tensor(c, &a[1], w[1], name))
            return vnone();
        return matmul(c, a[0], a[1], call, w[0], w[1]);
    }
    if (strcmp(name, "sum") == 0 || strcmp(name, "mean") == 0) {
        static const char *const nm[] = {"x", "axis", "keepdims"};
        if (!bind_args(c, call, name, nm, 3, 1, args, nargs, a, w) || !want_tensor(c, &a[0], w[0], name))
            return vnone();
        val x = a[0];
        int64_t axes[HODU_MAX_RANK];
        size_t n = 0;
        if (a[1].k == V_NONE) {
            for (int i = 0; i < x.rank; i++)
                axes[n++] = i;
        } else if (!int_list(c, &a[1], w[1], axes, HODU_MAX_RANK, &n)) {
            return vnone();
        }
        bool keep = false, red[HODU_MAX_RANK] = {0};
        if (a[2].k == V_BOOL)
            keep = a[2].i;
        else if (a[2].k != V_NONE) {
            hs_error(c->p, w[2]->span, "keepdims must be a bool");
            return vnone();
        }
        for (size_t i = 0; i < n; i++) {
            if (!norm_axis(c, axes[i], x.rank, w[1], &axes[i]))
                return vnone();
            red[axes[i]] = true;
        }
        val out = x;
        out.rank = 0;
        for (int i = 0; i < x.rank; i++)
            if (!red[i])
                out.dims[out.rank++] = x.dims[i];
            else if (keep)
                out.dims[out.rank++] = (tdim){1, NULL};
        int ins[2] = {x.ir, lw_i64s(&c->L, axes, n, call->span)};
        out.ir = emit(c, name[0] == 's' ? "ReduceSum" : "ReduceMean", ins, 2, call->span);
        lw_attr_int(&c->L, out.ir, "keepdims", keep);
        return out;
    }
    if (strcmp(name, "gather") == 0) {
        static const char *const nm[] = {"x", "indices", "axis"};
        int64_t axis = 0;
        if (!bind_args(c, call, name, nm, 3, 2, args, nargs, a, w) || !want_tensor(c, &a[0], w[0], name) ||
            !want_tensor(c, &a[1], w[1], name) || (a[2].k != V_NONE && !want_int(c, a[2], w[2], &axis)) ||
            !norm_axis(c, axis, a[0].rank, w[2], &axis))
            return vnone();
        if (a[1].dt != HODU_DTYPE_I64 && a[1].dt != HODU_DTYPE_I32) {
            hs_error(c->p, w[1]->span, "gather's indices must be i32 or i64, found %s", type_text(c, &a[1]));
            return vnone();
        }
        val x = a[0], out = x;
        if (x.rank - 1 + a[1].rank > HODU_MAX_RANK) {
            hs_error(c->p, call->span, "gather's result would pass rank %d", HODU_MAX_RANK);
            return vnone();
        }
        out.rank = 0;
        for (int i = 0; i < axis; i++)
            out.dims[out.rank++] = x.dims[i];
        for (int i = 0; i < a[1].rank; i++)
            out.dims[out.rank++] = a[1].dims[i];
        for (int i = (int)axis + 1; i < x.rank; i++)
            out.dims[out.rank++] = x.dims[i];
        int ins[2] = {x.ir, a[1].ir};
        out.ir = emit(c, "Gather", ins, 2, call->span);
        lw_attr_int(&c->L, out.ir, "axis", axis);
        return out;
    }
    if (strcmp(name, "conv2d") == 0) {
        static const char *const nm[] = {"x", "weight", "bias", "stride", "padding", "dilation", "groups"};
        if (!bind_args(c, call, name, nm, 7, 2, args, nargs, a, w) || !want_tensor(c, &a[0], w[0], name) ||
            !want_tensor(c, &a[1], w[1], name) || !want_float_dt(c, &a[0], w[0], name))
            return vnone();
        val x = a[0], k = a[1];
        int64_t st[2], pd[2], dl[2], groups = 1;
        if (!pair(c, &a[3], w[3], 1, 1, st) || !pair(c, &a[4], w[4], 0, 0, pd) || !pair(c, &a[5], w[5], 1, 1, dl))
            return vnone();
        if (a[6].k != V_NONE) {
            if (!want_int(c, a[6], w[6], &groups))
                return vnone();
            if (groups < 1 || groups > (1 << 24)) {
                hs_error(c->p, w[6]->span, "conv2d's groups must be from 1 to %d, found %lld", 1 << 24,
                         (long long)groups);
                return vnone();
            }
        }
        if (x.rank != 4 || k.rank != 4 || k.dt != x.dt) {
            hs_error(c->p, call->span,
                     "conv2d takes x[N, C, H, W] and weight[O, C, KH, KW] of one dtype, found %s and %s",
                     type_text(c, &x), type_text(c, &k));
            return vnone();
        }
        if (groups == 1 && (!dim_eq(x.dims[1], k.dims[1]) || k.dims[2].size < 1 || k.dims[3].size < 1)) {
            hs_error(c->p, call->span, "conv2d: input channels %s and weight channels %s differ",
                     dim_text(c, x.dims[1]), dim_text(c, k.dims[1]));
            hs_note(c->p, w[0]->span, "the input is %s", type_text(c, &x));
            hs_note(c->p, w[1]->span, "the weight is %s", type_text(c, &k));
            return vnone();
        }
        /* groups: each of them reads C / groups input channels and writes
         * O / groups outputs, so the weight is [O, C / groups, KH, KW] */
        if (groups > 1 && (x.dims[1].size < 0 || k.dims[0].size < 0 || k.dims[1].size != x.dims[1].size / groups ||
                           x.dims[1].size % groups != 0 || k.dims[0].size % groups != 0 || k.dims[2].size < 1 ||
                           k.dims[3].size < 1)) {
            hs_error(c->p, call->span,
                     "conv2d with %lld groups takes x[N, C, H, W] and weight[O, C / %lld, KH, KW] with known C "
                     "and O divisible by %lld, found %s and %s",
                     (long long)groups, (long long)groups, (long long)groups, type_text(c, &x), type_text(c, &k));
            hs_note(c->p, w[6]->span, "groups is %lld here", (long long)groups);
            return vnone();
        }
        val out = x;
        out.dims[1] = k.dims[0];
        if (!window_dim(c, x.dims[2], k.dims[2].size, st[0], pd[0], dl[0], call, &out.dims[2]) ||
            !window_dim(c, x.dims[3], k.dims[3].size, st[1], pd[1], dl[1], call, &out.dims[3]))
            return vnone();
        int ins[3] = {x.ir, k.ir, -1};
        size_t n = 2;
        if (a[2].k == V_TENSOR) {
            if (a[2].rank != 1 || !dim_eq(a[2].dims[0], k.dims[0]) || a[2].dt != x.dt) {
                hs_error(c->p, w[2]->span, "conv2d's bias must be %s[%s], found %s", dt_name(x.dt),
                         dim_text(c, k.dims[0]), type_text(c, &a[2]));
                return vnone();
            }
            ins[n++] = a[2].ir;
        }
        out.ir = emit(c, "Conv", ins, n, call->span);
        int64_t ks[2] = {k.dims[2].size, k.dims[3].size}, pads[4] = {pd[0], pd[1], pd[0], pd[1]};
        lw_attr_ints(&c->L, out.ir, "kernel_shape", ks, 2);
        lw_attr_ints(&c->L, out.ir, "strides", st, 2);
        lw_attr_ints(&c->L, out.ir, "pads", pads, 4);
        lw_attr_ints(&c->L, out.ir, "dilations", dl, 2);
        lw_attr_int(&c->L, out.ir, "group", groups);
        return out;
    }
    if (strcmp(name, "max_pool2d") == 0 || strcmp(name, "avg_pool2d") == 0) {
        static const char *const nm[] = {"x", "kernel", "stride", "padding"};
        int64_t ks[2], st[2], pd[2];
        if (!bind_args(c, call, name, nm, 4, 2, args, nargs, a, w) || !want_tensor(c, &a[0], w[0], name) ||
            !want_float_dt(c, &a[0], w[0], name) || !pair(c, &a[1], w[1], 1, 1, ks))
            return vnone();
        if (!pair(c, &a[2], w[2], ks[0], 1, st) || !pair(c, &a[3], w[3], 0, 0, pd))
            return vnone();
        if (a[2].k == V_NONE)
            st[1] = ks[1];
        val x = a[0], out = x;
        if (x.rank != 4) {
            hs_error(c->p, w[0]->span, "%s takes x[N, C, H, W], found %s", name, type_text(c, &x));
            return vnone();
        }
        if (!window_dim(c, x.dims[2], ks[0], st[0], pd[0], 1, call, &out.dims[2]) ||
            !window_dim(c, x.dims[3], ks[1], st[1], pd[1], 1, call, &out.dims[3]))
            return vnone();
        out.ir = emit(c, name[0] == 'm' ? "MaxPool" : "AveragePool", &x.ir, 1, call->span);
        int64_t pads[4] = {pd[0], pd[1], pd[0], pd[1]};
        lw_attr_ints(&c->L, out.ir, "kernel_shape", ks, 2);
        lw_attr_ints(&c->L, out.ir, "strides", st, 2);
        lw_attr_ints(&c->L, out.ir, "pads", pads, 4);
        return out;
    }
    if (strcmp(name, "assert") == 0) {
        /* a compile-time check with the program's own message */
        static const char *const nm[] = {"cond", "message"};
        if (!bind_args(c, call, name, nm, 2, 2, args, nargs, a, w))
            return vnone();
        if (a[0].k != V_BOOL || a[1].k != V_STR) {
            hs_error(c->p, call->span, "assert() takes a compile-time bool and a string");
            return vnone();
        }
        if (!a[0].i) {
            hs_error(c->p, w[0]->span, "%s", a[1].s);
            if (c->inst_call)
                hs_note(c->p, c->inst_call->span, "in the module instantiated here");
            c->assert_failed = true;
            return vnone();
        }
        return vbool(true);
    }
    if (strcmp(name, "positions") == 0) {
        /* i64[T] holding 0..T-1, T being x's dim `axis`: position ids for a
         * sequence whose length may be chosen at run time (Shape, Gather,
         * Range; folded to a constant when T is fixed). */
        static const char *const nm[] = {"x", "axis"};
        int64_t axis = -1;
        if (!bind_args(c, call, name, nm, 2, 1, args, nargs, a, w) || !want_tensor(c, &a[0], w[0], name) ||
            (a[1].k != V_NONE && !want_int(c, a[1], w[1], &axis)) || !norm_axis(c, axis, a[0].rank, w[1], &axis))
            return vnone();
        if (a[0].rank < 1) {
            hs_error(c->p, w[0]->span, "positions() takes a tensor of rank >= 1, found %s", type_text(c, &a[0]));
            return vnone();
        }
        val out = {.k = V_TENSOR, .dt = HODU_DTYPE_I64, .rank = 1, .ir = -1};
        out.dims[0] = a[0].dims[axis];
        int shp = emit(c, "Shape", &a[0].ir, 1, call->span);
        int ins[3] = {shp, lw_scalar(&c->L, HODU_DTYPE_I64, (double)axis, call->span), -1};
        int t = emit(c, "Gather", ins, 2, call->span);
        lw_attr_int(&c->L, t, "axis", 0);
        ins[0] = lw_scalar(&c->L, HODU_DTYPE_I64, 0, call->span);
        ins[1] = t;
        ins[2] = lw_scalar(&c->L, HODU_DTYPE_I64, 1, call->span);
        out.ir = emit(c, "Range", ins, 3, call->span);
        return out;
    }
    if (strcmp(name, "rsqrt") == 0) {
        static const char *const nm[] = {"x"};
        if (!bind_args(c, call, name, nm, 1, 1, args, nargs, a, w))
            return vnone();
        if (is_num(&a[0]))
            return vfloat(1.0 / sqrt(num(&a[0])));
        if (!want_tensor(c, &a[0], w[0], name) || !want_float_dt(c, &a[0], w[0], name))
            return vnone();
        val out = a[0];
        int t = emit(c, "Sqrt", &a[0].ir, 1, call->span);
        out.ir = emit(c, "Reciprocal", &t, 1, call->span);
        return out;
    }
    if (strcmp(name, "cast") == 0) {
        /* cast(x, f16): the dtype is written as its type name (or a string) */
        static const char *const nm[] = {"x", "dtype"};
        if (!bind_args(c, call, name, nm, 2, 2, args, nargs, a, w) || !want_tensor(c, &a[0], w[0], name))
            return vnone();
        hodu_dtype to = a[1].k == V_STR ? dt_find(a[1].s) : HODU_DTYPE_UNDEFINED;
        if (to == HODU_DTYPE_UNDEFINED) {
            if (a[1].k == V_STR)
                hs_error(c->p, w[1]->span, "cast() to '%s': not a dtype", a[1].s);
            else
                hs_error(c->p, w[1]->span, "cast() takes a dtype, found %s", type_text(c, &a[1]));
            hs_help(c->p, "the dtypes are f32 f64 f16 bf16 i8 i16 i32 i64 u8 bool");
            return vnone();
        }
        val out = a[0];
        out.dt = to;
        out.ir = emit(c, "Cast", &a[0].ir, 1, call->span);
        lw_attr_int(&c->L, out.ir, "to", (int64_t)to);
        return out;
    }
    if (strcmp(name, "causal_mask") == 0) {
        /* Scores [..., T, T] with entry (i, j > i) replaced by the dtype's
         * lowest value, so a softmax gives it no weight.  T is read from
         * the shape at run time (Shape, Gather, Range), so it works for a
         * run-time T; with a fixed T the passes fold it to a constant. */
        static const char *const nm[] = {"x"};
        if (!bind_args(c, call, name, nm, 1, 1, args, nargs, a, w) || !want_tensor(c, &a[0], w[0], name) ||
            !want_float_dt(c, &a[0], w[0], name))
            return vnone();
        val x = a[0];
        if (x.rank < 2 || !dim_eq(x.dims[x.rank - 1], x.dims[x.rank - 2])) {
            hs_error(c->p, w[0]->span, "causal_mask() takes square scores [..., T, T], found %s", type_text(c, &x));
            return vnone();
        }
        double lowest = x.dt == HODU_DTYPE_F16    ? -65504.0
                        : x.dt == HODU_DTYPE_BF16 ? -3.3895313892515355e38
                        : x.dt == HODU_DTYPE_F32  ? -3.4028234663852886e38
                                                  : -1.7976931348623157e308;
        int shp = emit(c, "Shape", &x.ir, 1, call->span);
        int ins[3] = {shp, lw_scalar(&c->L, HODU_DTYPE_I64, -1, call->span), -1};
        int t = emit(c, "Gather", ins, 2, call->span);
        lw_attr_int(&c->L, t, "axis", 0);
        ins[0] = lw_scalar(&c->L, HODU_DTYPE_I64, 0, call->span);
        ins[1] = t;
        ins[2] = lw_scalar(&c->L, HODU_DTYPE_I64, 1, call->span);
        int r = emit(c, "Range", ins, 3, call->span);
        int64_t ax = 1;
        ins[0] = r;
        ins[1] = lw_i64s(&c->L, &ax, 1, call->span);
        int col = emit(c, "Unsqueeze", ins, 2, call->span);
        ins[0] = col;
        ins[1] = r;
        int keep = emit(c, "GreaterOrEqual", ins, 2, call->span);
        ins[0] = keep;
        ins[1] = x.ir;
        ins[2] = lw_scalar(&c->L, x.dt, lowest, call->span);
        val out = x;
        out.ir = emit(c, "Where", ins, 3, call->span);
        return out;
    }
    if (strcmp(name, "len") == 0) {
        static const char *const nm[] = {"xs"};
        if (!bind_args(c, call, name, nm, 1, 1, args, nargs, a, w))
            return vnone();
        if (a[0].k != V_LIST) {
            hs_error(c->p, w[0]->span, "len() takes a list");
            return vnone();
        }
        return vint((int64_t)a[0].n_items);
    }
    *found = false;
    return vnone();
}

static bool is_initializer(const char *name)
{
    return strcmp(name, "zeros") == 0 || strcmp(name, "ones") == 0 || strcmp(name, "uniform") == 0 ||
           strcmp(name, "normal") == 0;
}

/* --- indexing -------------------------------------------------------------- */

static val index_tensor(ctx *c, scope *s, hs_node *e, val x)
{
    hs_list *it = &e->list;
    size_t n_ell = 0, n_real = 0;
    for (size_t i = 0; i < it->n; i++)
        if (it->items[i]->kind == HS_ELLIPSIS)
            n_ell++;
        else
            n_real++;
    if (n_ell > 1 || n_real > (size_t)x.rank) {
        hs_error(c->p, e->span, "%zu indices for %s", n_real, type_text(c, &x));
        return vnone();
    }
    int64_t starts[HODU_MAX_RANK], ends[HODU_MAX_RANK], axes[HODU_MAX_RANK], steps[HODU_MAX_RANK], sq[HODU_MAX_RANK];
    size_t ns = 0, nsq = 0;
    val out = x;
    int k = 0;
    for (size_t i = 0; i < it->n; i++) {
        hs_node *ix = it->items[i];
        if (ix->kind == HS_ELLIPSIS) {
            k += x.rank - (int)n_real;
            continue;
        }
        tdim d = x.dims[k];
        if (ix->kind == HS_SLICE) {
            int64_t lo = 0, hi = INT64_MAX, st = 1;
            bool full = true;
            if (ix->c && (full = false, !want_int(c, eval(c, s, ix->c), ix->c, &st)))
                return vnone();
            if (ix->a && (full = false, !want_int(c, eval(c, s, ix->a), ix->a, &lo)))
                return vnone();
            if (ix->b && (full = false, !want_int(c, eval(c, s, ix->b), ix->b, &hi)))
                return vnone();
            if (full) {
                k++;
                continue;
            }
            if (st < 1) {
                hs_error(c->p, ix->span, "slice steps must be positive (found %lld)", (long long)st);
                return vnone();
            }
            if (d.size < 0 && st == 1 && lo >= 0 && !ix->b) {
                /* from a start to the end: the dim less the start (T-1),
                 * which the build checks is never negative over the dim's
                 * range; from 0 it is the dim itself */
                if (lo > 0) {
                    ir_poly dp = dim_poly(c, d), cut = ir_poly_const(lo), rest;
                    if (!ir_poly_add(&dp, &cut, -1, &rest)) {
                        hs_error(c->p, ix->span, "the dim '%s' less %lld is too large", d.sym, (long long)lo);
                        return vnone();
                    }
                    out.dims[k] = poly_tdim(c, &rest);
                    starts[ns] = lo;
                    ends[ns] = INT64_MAX;
                    axes[ns] = k;
                    steps[ns++] = 1;
                }
                k++;
                continue;
            }
            if (d.size < 0) {
                /* a fixed window of a symbolic dim, from its start (a:b) or
                 * its end (-k:, -k:-j); the build checks that the smallest
                 * size the dim may take holds it */
                int64_t cnt = -1;
                if (st == 1 && lo >= 0 && ix->b && hi >= lo)
                    cnt = hi - lo;
                else if (st == 1 && lo < 0 && (!ix->b || (hi < 0 && hi >= lo)))
                    cnt = ix->b ? hi - lo : -lo;
                if (cnt < 0) {
                    hs_error(c->p, ix->span,
                             "slicing the symbolic dim '%s' takes ':', a start to its end, a:, or a fixed "
                             "window, a:b, -k: or -k:-j (step 1)",
                             d.sym);
                    return vnone();
                }
                out.dims[k] = (tdim){cnt, NULL};
                starts[ns] = lo;
                ends[ns] = ix->b ? hi : INT64_MAX;
                axes[ns] = k;
                steps[ns++] = 1;
                k++;
                continue;
            }
            int64_t a0 = lo < 0 ? lo + d.size : lo, b0 = hi == INT64_MAX ? d.size : hi < 0 ? hi + d.size : hi;
            a0 = a0 < 0 ? 0 : a0 > d.size ? d.size : a0;
            b0 = b0 < 0 ? 0 : b0 > d.size ? d.size : b0;
            out.dims[k] = (tdim){b0 > a0 ? (b0 - a0 + st - 1) / st : 0, NULL};
            starts[ns] = a0;
            ends[ns] = b0;
            axes[ns] = k;
            steps[ns++] = st;
            k++;
            continue;
        }
        int64_t at;
        if (!want_int(c, eval(c, s, ix), ix, &at))
            return vnone();
        if (d.size >= 0 && (at < -d.size || at >= d.size)) {
            hs_error(c->p, ix->span, "index %lld is out of range for dim %d of %s", (long long)at, k, type_text(c, &x));
            return vnone();
        }
        if (at < 0 && d.size >= 0)
            at += d.size;
        /* on a symbolic dim, a negative index counts from the run's end (the
         * build checks that the smallest size holds it) */
        starts[ns] = at;
        ends[ns] = at == -1 ? INT64_MAX : at + 1;
        axes[ns] = k;
        steps[ns++] = 1;
        sq[nsq++] = k;
        out.dims[k] = (tdim){1, NULL};
        k++;
    }
    if (ns) {
        int ins[5] = {x.ir, lw_i64s(&c->L, starts, ns, e->span), lw_i64s(&c->L, ends, ns, e->span),
                      lw_i64s(&c->L, axes, ns, e->span), lw_i64s(&c->L, steps, ns, e->span)};
        out.ir = emit(c, "Slice", ins, 5, e->span);
    }
    if (nsq) {
        int ins[2] = {out.ir, lw_i64s(&c->L, sq, nsq, e->span)};
        out.ir = emit(c, "Squeeze", ins, 2, e->span);
        int r = 0;
        for (int i = 0, j = 0; i < out.rank; i++) {
            if (j < (int)nsq && sq[j] == i) {
                j++;
                continue;
            }
            out.dims[r++] = out.dims[i];
        }
        out.rank = r;
    }
    return out;
}

/* --- modules and parameters ------------------------------------------------ */

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static double uniform01(uint64_t *st) { return (double)(splitmix64(st) >> 11) * 0x1p-53; }

/* Fills a parameter from its initializer: zeros(), ones(), uniform(lo, hi),
 * normal(mean, std).  The stream of each parameter is keyed by the seed and
 * the parameter's dotted name (FNV-1a), so adding a parameter does not move
 * the values of the others. */
static bool fill_param(ctx *c, scope *s, hs_node *init, const char *pname, val *t, void *data, uint64_t numel)
{
    if (init->kind != HS_CALL || init->a->kind != HS_NAME || !is_initializer(init->a->name)) {
        hs_error(c->p, init->span,
                 "a parameter's initializer is zeros(), ones(), uniform(lo, hi) or normal(mean, std)");
        return false;
    }
    const char *fn = init->a->name;
    size_t nargs = init->list.n;
    val args[4];
    if (nargs > 2) {
        hs_error(c->p, init->span, "%s() takes at most 2 arguments", fn);
        return false;
    }
    for (size_t i = 0; i < nargs; i++)
        args[i] = eval(c, s, init->list.items[i]->a);
    val a[2];
    hs_node *w[2];
    static const char *const un[] = {"low", "high"}, *const nn[] = {"mean", "std"};
    bool two = fn[0] == 'u' || fn[0] == 'n';
    if (!bind_args(c, init, fn, fn[0] == 'n' ? nn : un, two ? 2 : 0, two ? 2 : 0, args, nargs, a, w))
        return false;
    double p0 = 0, p1 = 0;
    if (two) {
        if (!is_num(&a[0]) || !is_num(&a[1]) || a[0].k == V_BOOL || a[1].k == V_BOOL) {
            hs_error(c->p, init->span, "%s() takes two numbers", fn);
            return false;
        }
        p0 = num(&a[0]);
        p1 = num(&a[1]);
        if (t->dt != HODU_DTYPE_F32 && t->dt != HODU_DTYPE_F64) {
            hs_error(c->p, init->span, "%s() fills f32 and f64 parameters only", fn);
            return false;
        }
    }
    if (!data)
        return true;
    uint64_t st = c->seed;
    for (const char *q = pname; *q; q++)
        st = (st ^ (unsigned char)*q) * UINT64_C(0x100000001b3);
    size_t es = ir_dtype_size(t->dt);
    for (uint64_t i = 0; i < numel; i++) {
        double v = 0;
        if (fn[0] == 'o')
            v = 1;
        else if (fn[0] == 'u')
            v = p0 + (p1 - p0) * uniform01(&st);
        else if (fn[0] == 'n') /* Box-Muller, one value per pair of draws */
            v = p0 + p1 * sqrt(-2 * log(1 - uniform01(&st))) * cos(6.283185307179586 * uniform01(&st));
        unsigned char *p = (unsigned char *)data + i * es;
        if (t->dt == HODU_DTYPE_F32) {
            float f = (float)v;
            memcpy(p, &f, 4);
        } else if (t->dt == HODU_DTYPE_F64) {
            memcpy(p, &v, 8);
        } else if (v != 0) { /* ones() of another type: 1 in its own encoding */
            if (t->dt == HODU_DTYPE_F16)
                p[1] = 0x3c;
            else if (t->dt == HODU_DTYPE_BF16) {
                p[0] = 0x80;
                p[1] = 0x3f;
            } else
                p[0] = 1; /* ints are little-endian */
        }
    }
    return true;
}

static bool declare_param(ctx *c, inst *m, hs_node *pd)
{
    scope *s = &m->env;
    const char *pname = hs_strndup(&c->p->arena, "", 0);
    {
        char *full = hd_xasprintf("%s%s", m->prefix, pd->name);
        pname = hs_strndup(&c->p->arena, full, strlen(full));
        free(full);
    }
    if (pd->c) {
        val cond = eval(c, s, pd->c);
        if (cond.k != V_BOOL) {
            if (cond.k != V_NONE)
                hs_error(c->p, pd->c->span, "a parameter's condition must be a compile-time bool, found %s",
                         type_text(c, &cond));
            return false;
        }
        if (!cond.i) {
            val v = {.k = V_ABSENT, .fn = pd, .ir = -1};
            bind(c, s, pd->name, v, pd->span);
            return true;
        }
    }
    hs_node *ty = pd->a;
    hodu_dtype dt = dt_find(ty->name);
    if (dt == HODU_DTYPE_UNDEFINED || !ty->ival) {
        hs_error(c->p, ty->span, "a parameter's type is a dtype with a shape, such as f32[%s]", "out, in");
        return false;
    }
    val t = {.k = V_TENSOR, .dt = dt, .ir = -1};
    if (ty->list.n > HODU_MAX_RANK) {
        hs_error(c->p, ty->span, "rank %zu is past the limit of %d", ty->list.n, HODU_MAX_RANK);
        return false;
    }
    int64_t dims[HODU_MAX_RANK];
    for (size_t i = 0; i < ty->list.n; i++) {
        hs_node *de = ty->list.items[i];
        int64_t n;
        if (de->kind == HS_ELLIPSIS) {
            hs_error(c->p, de->span, "a parameter's shape must be fully known ('...' is for function signatures)");
            return false;
        }
        if (!want_int(c, eval(c, s, de), de, &n))
            return false;
        if (n < 0) {
            hs_error(c->p, de->span, "a dim must not be negative (it is %lld)", (long long)n);
            return false;
        }
        dims[i] = n;
        t.dims[i] = (tdim){n, NULL};
    }
    t.rank = (int)ty->list.n;
    uint64_t numel = 0, nbytes = 0;
    if (!hd_shape_size(t.rank, dims, ir_dtype_size(dt), HODU_MAX_TENSOR_ELEMS, HODU_MAX_TENSOR_BYTES, &numel,
                       &nbytes) ||
        !hd_add_u64(c->param_bytes, nbytes, &c->param_bytes) || c->param_bytes > HS_MAX_PARAM_BYTES) {
        hs_error(c->p, ty->span, "parameter '%s' is too large (all parameters together: at most %llu bytes)", pname,
                 (unsigned long long)HS_MAX_PARAM_BYTES);
        c->stop = true;
        return false;
    }
    void *data = NULL;
    hs_tensor_entry *we = NULL;
    if (c->w) {
        for (size_t i = 0; i < c->w->n; i++)
            if (strcmp(c->w->t[i].name, pname) == 0)
                we = &c->w->t[i];
        if (!we) {
            hs_error(c->p, pd->span, "parameter '%s' is missing from the weights file", pname);
        } else {
            we->used = true;
            bool same = we->dtype == dt && we->rank == t.rank;
            for (int i = 0; same && i < t.rank; i++)
                same = we->dims[i] == dims[i];
            if (!same) {
                val wt = {.k = V_TENSOR, .dt = we->dtype, .rank = we->rank};
                for (int i = 0; i < we->rank; i++)
                    wt.dims[i] = (tdim){we->dims[i], NULL};
                hs_error(c->p, pd->span, "parameter '%s' is %s but the weights file holds %s", pname, type_text(c, &t),
                         type_text(c, &wt));
                we = NULL;
            }
        }
    } else if (!pd->b) {
        hs_error(c->p, pd->span, "parameter '%s' has no initializer and no weights are given", pname);
        hs_help(c->p, "give it one (= zeros(), uniform(lo, hi), ...) or build with --weights FILE.safetensors");
        return false;
    }
    if (c->L.g) {
        data = ir_graph_keep(c->L.g, hd_xcalloc(1, nbytes ? (size_t)nbytes : 1));
        if (we)
            memcpy(data, we->data, we->nbytes);
    }
    if (!c->w && !fill_param(c, s, pd->b, pname, &t, data, numel))
        return false;
    if (c->w && pd->b && pd->b->kind == HS_CALL && pd->b->a->kind == HS_NAME && !is_initializer(pd->b->a->name)) {
        hs_error(c->p, pd->b->span,
                 "a parameter's initializer is zeros(), ones(), uniform(lo, hi) or normal(mean, std)");
        return false;
    }
    if (c->L.g) {
        t.ir = ir_const_new(c->L.g, pname, dt, t.rank, dims, data, (size_t)nbytes);
        lw_set_loc(&c->L, t.ir, pd->span);
    }
    HD_PUSH(c->pnames, c->n_pnames, c->cap_pnames, pname);
    bind(c, s, pd->name, t, pd->span);
    return true;
}

static val instantiate(ctx *c, hs_node *decl, val *args, size_t nargs, hs_node *call);

static hs_node *global(ctx *c, hd_strmap *m, const char *name)
{
    int i = hd_strmap_get(m, name);
    return i >= 0 ? c->p->items.items[i] : NULL;
}

/* Binds call arguments to formals (module args or function params). */
static bool bind_formals(ctx *c, scope *into, scope *type_scope, hs_list *formals, val *args, size_t nargs,
                         hs_node *call, const char *what)
{
    bool ok = true;
    size_t nf = formals->n;
    bool *given = hs_alloc(&c->p->arena, (nf + 1) * sizeof(bool));
    size_t pos = 0;
    for (size_t i = 0; i < nargs; i++) {
        hs_node *a = call->list.items[i];
        size_t k = nf;
        if (!a->name) {
            k = pos++;
            if (k >= nf) {
                hs_error(c->p, a->span, "%s takes %zu argument%s, given %zu", what, nf, nf == 1 ? "" : "s", nargs);
                return false;
            }
        } else {
            for (size_t j = 0; j < nf; j++)
                if (strcmp(formals->items[j]->name, a->name) == 0)
                    k = j;
            if (k == nf) {
                hs_error(c->p, a->span, "%s has no parameter '%s'", what, a->name);
                const char *best = NULL;
                size_t bd = 3;
                for (size_t j = 0; j < nf; j++) {
                    size_t dist = hd_edit_distance(a->name, formals->items[j]->name);
                    if (dist < bd) {
                        bd = dist;
                        best = formals->items[j]->name;
                    }
                }
                if (best)
                    hs_help(c->p, "did you mean '%s'?", best);
                ok = false;
                continue;
            }
        }
        if (given[k]) {
            hs_error(c->p, a->span, "%s is given '%s' twice", what, formals->items[k]->name);
            ok = false;
            continue;
        }
        given[k] = true;
        hs_node *f = formals->items[k];
        char *label = hd_xasprintf("argument '%s'", f->name);
        if (!match_type(c, type_scope, f->a, &args[i], a, label))
            ok = false;
        free(label);
        val v = args[i];
        if (strcmp(f->a->name, "float") == 0 && v.k == V_INT)
            v = vfloat((double)v.i);
        bind(c, into, f->name, v, f->span);
    }
    for (size_t j = 0; j < nf && ok; j++) {
        if (given[j])
            continue;
        hs_node *f = formals->items[j];
        if (!f->b) {
            hs_error(c->p, call->span, "%s needs its argument '%s'", what, f->name);
            hs_note(c->p, f->span, "declared here");
            ok = false;
            continue;
        }
        val v = eval(c, into, f->b);
        if (!match_type(c, type_scope, f->a, &v, f->b, "the default"))
            ok = false;
        bind(c, into, f->name, v, f->span);
    }
    return ok;
}

static val instantiate(ctx *c, hs_node *decl, val *args, size_t nargs, hs_node *call)
{
    if (!c->pending_prefix) {
        hs_error(c->p, call->span, "module '%s' is instantiated outside a module body or export", decl->name);
        hs_help(c->p, "declare it as a submodule (name = %s(...)) and call that", decl->name);
        return vnone();
    }
    if (++c->call_depth > HS_MAX_CALL_DEPTH) {
        hs_error(c->p, call->span, "modules nest deeper than %d levels", HS_MAX_CALL_DEPTH);
        c->stop = true;
        c->call_depth--;
        return vnone();
    }
    inst *m = hs_alloc(&c->p->arena, sizeof(*m));
    m->decl = decl;
    m->prefix = c->pending_prefix;
    c->pending_prefix = NULL;
    char *what = hd_xasprintf("module %s", decl->name);
    struct dimvar *save = c->dv;
    size_t save_n = c->n_dv, save_cap = c->cap_dv;
    c->dv = NULL;
    c->n_dv = c->cap_dv = 0;
    bool ok = bind_formals(c, &m->env, &m->env, &decl->list, args, nargs, call, what);
    free(c->dv);
    c->dv = save;
    c->n_dv = save_n;
    c->cap_dv = save_cap;
    free(what);
    if (!ok) {
        c->call_depth--;
        return vnone();
    }
    hs_node *outer_call = c->inst_call;
    bool outer_failed = c->assert_failed;
    c->assert_failed = false;
    for (size_t i = 0; !c->stop && i < decl->list2.n; i++) {
        hs_node *mem = decl->list2.items[i];
        c->inst_call = call;
        if (mem->kind == HS_PARAM) {
            if (!declare_param(c, m, mem))
                bind(c, &m->env, mem->name, vnone(), mem->span); /* reported once: uses stay quiet */
        } else if (mem->kind == HS_SUB) {
            char *pre = hd_xasprintf("%s%s.", m->prefix, mem->name);
            const char *prefix = hs_strndup(&c->p->arena, pre, strlen(pre));
            free(pre);
            const char *outer = c->pending_prefix;
            c->pending_prefix = prefix;
            val v = eval(c, &m->env, mem->a);
            c->pending_prefix = outer;
            bind(c, &m->env, mem->name, v, mem->span);
        } else if (mem->kind == HS_FN) {
            val f = {.k = V_FN, .fn = mem, .closure = &m->env, .ir = -1};
            bind(c, &m->env, mem->name, f, mem->span);
        }
    }
    c->inst_call = outer_call;
    bool failed = c->assert_failed;
    c->assert_failed = outer_failed || failed;
    c->call_depth--;
    if (failed) /* reported: uses of the instance stay quiet */
        return vnone();
    val v = {.k = V_MODULE, .m = m, .ir = -1};
    return v;
}

/* --- functions ------------------------------------------------------------- */

static val call_fn(ctx *c, val *fn, val *args, size_t nargs, hs_node *call)
{
    hs_node *f = fn->fn;
    if (++c->call_depth > HS_MAX_CALL_DEPTH) {
        hs_error(c->p, call->span, "calls nest deeper than %d levels (is '%s' recursive?)", HS_MAX_CALL_DEPTH, f->name);
        c->stop = true;
        c->call_depth--;
        return vnone();
    }
    scope *s = hs_alloc(&c->p->arena, sizeof(*s));
    s->up = fn->closure;
    struct dimvar *save = c->dv;
    size_t save_n = c->n_dv, save_cap = c->cap_dv;
    c->dv = NULL;
    c->n_dv = c->cap_dv = 0;
    char *what = hd_xasprintf("function %s", f->name);
    val r = vnone();
    if (bind_formals(c, s, s, &f->list, args, nargs, call, what)) {
        bool save_ret = c->returned;
        val save_val = c->ret;
        c->returned = false;
        c->ret = vnone();
        exec_block(c, s, &f->list2);
        if (!c->returned && !c->stop) {
            hs_error(c->p, f->span, "function '%s' ends without a return", f->name);
        } else if (c->returned && f->a && c->ret.k != V_NONE && !c->stop) {
            if (!match_type(c, s, f->a, &c->ret, c->ret_at, "the result")) {
                c->ret = vnone();
            }
        }
        r = c->returned ? c->ret : vnone();
        c->returned = save_ret;
        c->ret = save_val;
    }
    free(what);
    free(c->dv);
    c->dv = save;
    c->n_dv = save_n;
    c->cap_dv = save_cap;
    c->call_depth--;
    return r;
}

/* Calling a module instance runs its forward. */
static val call_module(ctx *c, val *mv, val *args, size_t nargs, hs_node *call)
{
    binding *b = NULL;
    for (size_t i = 0; i < mv->m->env.n; i++)
        if (strcmp(mv->m->env.b[i].name, "forward") == 0)
            b = &mv->m->env.b[i];
    if (!b || b->v.k != V_FN) {
        hs_error(c->p, call->span, "module '%s' has no forward function", mv->m->decl->name);
        hs_note(c->p, mv->m->decl->span, "declared here");
        return vnone();
    }
    const char *outer = c->cur_prefix;
    c->cur_prefix = mv->m->prefix;
    val r = call_fn(c, &b->v, args, nargs, call);
    c->cur_prefix = outer;
    return r;
}

/* --- expressions ----------------------------------------------------------- */

static void unknown_name(ctx *c, scope *s, hs_node *e)
{
    hs_error(c->p, e->span, "unknown name '%s'", e->name);
    const char *best = NULL;
    size_t bd = 3;
    for (scope *q = s; q; q = q->up)
        for (size_t i = 0; i < q->n; i++) {
            size_t d = hd_edit_distance(e->name, q->b[i].name);
            if (d < bd) {
                bd = d;
                best = q->b[i].name;
            }
        }
    for (size_t i = 0; i < c->p->items.n; i++) {
        hs_node *it = c->p->items.items[i];
        if ((it->kind == HS_MODULE || it->kind == HS_FN) && hd_edit_distance(e->name, it->name) < bd) {
            bd = hd_edit_distance(e->name, it->name);
            best = it->name;
        }
    }
    if (best)
        hs_help(c->p, "did you mean '%s'?", best);
}

static val eval_call(ctx *c, scope *s, hs_node *e)
{
    const char *prefix = c->pending_prefix;
    c->pending_prefix = NULL; /* arguments instantiate nothing */
    size_t n = e->list.n;
    val *args = hs_alloc(&c->p->arena, (n + 1) * sizeof(val));
    bool ok = true;
    /* cast(x, f16): a dtype name not bound to anything names the dtype */
    bool is_cast = e->a->kind == HS_NAME && strcmp(e->a->name, "cast") == 0 && !lookup(s, "cast");
    for (size_t i = 0; i < n; i++) {
        hs_node *an = e->list.items[i]->a;
        if (is_cast && i == n - 1 && n > 1 && an->kind == HS_NAME && !lookup(s, an->name)) {
            args[i] = (val){.k = V_STR, .s = an->name, .ir = -1};
            continue;
        }
        args[i] = eval(c, s, e->list.items[i]->a);
        if (args[i].k == V_NONE)
            ok = false;
    }
    if (!ok || c->stop)
        return vnone();
    hs_node *callee = e->a;
    if (callee->kind == HS_NAME) {
        binding *b = lookup(s, callee->name);
        if (!b) {
            hs_node *d = global(c, &c->modules, callee->name);
            if (d) {
                c->pending_prefix = prefix;
                val v = instantiate(c, d, args, n, e);
                c->pending_prefix = NULL;
                return v;
            }
            d = global(c, &c->fns, callee->name);
            if (d) {
                val f = {.k = V_FN, .fn = d, .ir = -1};
                return call_fn(c, &f, args, n, e);
            }
            bool found;
            if (is_initializer(callee->name)) {
                hs_error(c->p, e->span, "%s() initializes a parameter: it goes after 'param NAME: TYPE ='",
                         callee->name);
                return vnone();
            }
            val v = builtin(c, callee->name, args, n, e, &found);
            if (!found)
                unknown_name(c, s, callee);
            return v;
        }
    }
    val f = eval(c, s, callee);
    if (f.k == V_FN)
        return call_fn(c, &f, args, n, e);
    if (f.k == V_MODULE)
        return call_module(c, &f, args, n, e);
    if (f.k != V_NONE)
        hs_error(c->p, callee->span, "%s is not callable", type_text(c, &f));
    return vnone();
}

static val eval_list(ctx *c, scope *s, hs_node *e)
{
    const char *prefix = c->pending_prefix;
    c->pending_prefix = NULL;
    val v = {.k = V_LIST, .ir = -1};
    int64_t lo = 0, hi = 0;
    size_t n = e->list.n;
    scope *inner = NULL;
    if (e->kind == HS_LISTCOMP) {
        if (!want_int(c, eval(c, s, e->b), e->b, &lo) || !want_int(c, eval(c, s, e->c), e->c, &hi))
            return vnone();
        n = hi > lo ? (size_t)(hi - lo) : 0;
        if (hi > lo && (uint64_t)(hi - lo) > HS_MAX_UNROLL - c->unrolled) {
            hs_error(c->p, e->span, "the program unrolls more than %d iterations", HS_MAX_UNROLL);
            c->stop = true;
            return vnone();
        }
        c->unrolled += n;
        inner = hs_alloc(&c->p->arena, sizeof(*inner));
        inner->up = s;
    }
    v.items = hs_alloc(&c->p->arena, (n + 1) * sizeof(val));
    for (size_t i = 0; i < n && !c->stop; i++) {
        if (prefix) {
            char *pre = hd_xasprintf("%s%zu.", prefix, i);
            c->pending_prefix = hs_strndup(&c->p->arena, pre, strlen(pre));
            free(pre);
        }
        if (e->kind == HS_LISTCOMP) {
            bind(c, inner, e->name, vint(lo + (int64_t)i), e->span);
            v.items[i] = eval(c, inner, e->a);
        } else {
            v.items[i] = eval(c, s, e->list.items[i]);
        }
        c->pending_prefix = NULL;
        if (v.items[i].k == V_NONE)
            return vnone();
    }
    v.n_items = n;
    return v;
}

/* --- run-time if ----------------------------------------------------------- */

static void record(ctx *c, const val *v, hs_span at);

/* A tensor, or a tuple of them (nested): what a run-time if can give. */
static bool all_tensors(const val *v)
{
    if (v->k == V_TENSOR)
        return true;
    if (v->k != V_LIST)
        return false;
    for (size_t i = 0; i < v->n_items; i++)
        if (!all_tensors(&v->items[i]))
            return false;
    return true;
}

static bool same_type(const val *a, const val *b)
{
    if (a->k != b->k || (a->k != V_TENSOR && a->k != V_LIST))
        return false;
    if (a->k == V_LIST) {
        if (a->n_items != b->n_items)
            return false;
        for (size_t i = 0; i < a->n_items; i++)
            if (!same_type(&a->items[i], &b->items[i]))
                return false;
        return true;
    }
    if (a->dt != b->dt || a->rank != b->rank)
        return false;
    for (int i = 0; i < a->rank; i++)
        if (!dim_eq(a->dims[i], b->dims[i]))
            return false;
    return true;
}

typedef struct irs {
    int *v;
    size_t n, cap;
} irs;

/* Appends the IR values of v's tensors, in order. */
static void leaves_get(const val *v, irs *out)
{
    if (v->k == V_TENSOR)
        HD_PUSH(out->v, out->n, out->cap, v->ir);
    else if (v->k == V_LIST)
        for (size_t i = 0; i < v->n_items; i++)
            leaves_get(&v->items[i], out);
}

/* A copy of v (tuples copied too: a bound tuple may share them) whose
 * tensors take the values ids[*k], ids[*k + 1], ... */
static val leaves_put(ctx *c, const val *v, const int *ids, size_t *k)
{
    val r = *v;
    if (v->k == V_TENSOR) {
        r.ir = ids[(*k)++];
    } else if (v->k == V_LIST) {
        r.items = hs_alloc(&c->p->arena, (v->n_items + 1) * sizeof(val));
        for (size_t i = 0; i < v->n_items; i++)
            r.items[i] = leaves_put(c, &v->items[i], ids, k);
    }
    return r;
}

static void record_leaves(ctx *c, const val *v, hs_span at)
{
    if (v->k == V_TENSOR && v->ir >= 0 && c->expect)
        record(c, v, at);
    else if (v->k == V_LIST)
        for (size_t i = 0; i < v->n_items; i++)
            record_leaves(c, &v->items[i], at);
}

/* The condition of a run-time if: one bool element (it decides which
 * branch runs, so its shape must say there is exactly one). */
static bool rt_cond(ctx *c, const val *cond, hs_node *at)
{
    bool one = cond->dt == HODU_DTYPE_BOOL;
    for (int i = 0; i < cond->rank; i++)
        one = one && cond->dims[i].size == 1;
    if (!one) {
        hs_error(c->p, at->span, "a run-time condition must be a bool tensor with one element, found %s",
                 type_text(c, cond));
        hs_help(c->p, "reduce it to one element first, as in 'if sum(x) > 0 { ... }'");
        return false;
    }
    if (c->rt_depth >= HODU_MAX_SUBGRAPH_DEPTH) {
        hs_error(c->p, at->span, "run-time 'if's nest more than %d deep", HODU_MAX_SUBGRAPH_DEPTH);
        return false;
    }
    return true;
}

/* One branch, built and moved into a subgraph.  Its tensors (the names'
 * values after it, its return value, an expression's value) then name
 * values of that subgraph, and the names it rebinds have their old values
 * back, so the other branch starts where this one did. */
typedef struct rt_branch {
    ir_graph *g;
    rt_frame f;
    val *now; /* per write in f: the value after the branch */
    bool returned;
    val ret, value;
    hs_node *ret_at;
} rt_branch;

static void rt_branch_run(ctx *c, scope *s, hs_list *stmts, hs_node *expr, const char *name, lw_caps *caps,
                          rt_branch *br)
{
    memset(br, 0, sizeof(*br));
    br->ret = br->value = vnone();
    lw_mark m = lw_mark_now(&c->L);
    br->f.up = c->rtf;
    br->f.serial0 = c->serials;
    c->rtf = &br->f;
    c->rt_depth++;
    bool save_ret = c->returned;
    val save_val = c->ret;
    hs_node *save_at = c->ret_at;
    c->returned = false;
    if (stmts) {
        scope *inner = hs_alloc(&c->p->arena, sizeof(*inner));
        inner->up = s;
        exec_block(c, inner, stmts);
    } else {
        br->value = eval(c, s, expr);
    }
    if ((br->returned = c->returned)) {
        br->ret = c->ret;
        br->ret_at = c->ret_at;
    }
    c->returned = save_ret;
    c->ret = save_val;
    c->ret_at = save_at;
    c->rt_depth--;
    c->rtf = br->f.up;
    br->now = hs_alloc(&c->p->arena, (br->f.n + 1) * sizeof(val));
    for (size_t i = br->f.n; i-- > 0;) {
        br->now[i] = br->f.w[i].b->v;
        br->f.w[i].b->v = br->f.w[i].old;
    }
    irs keep = {0};
    for (size_t i = 0; i < br->f.n; i++)
        leaves_get(&br->now[i], &keep);
    leaves_get(&br->ret, &keep);
    leaves_get(&br->value, &keep);
    br->g = lw_branch(&c->L, m, name, caps, keep.v, keep.n);
    size_t k = 0;
    for (size_t i = 0; i < br->f.n; i++)
        br->now[i] = leaves_put(c, &br->now[i], keep.v, &k);
    br->ret = leaves_put(c, &br->ret, keep.v, &k);
    br->value = leaves_put(c, &br->value, keep.v, &k);
    free(keep.v);
    if (c->expect && c->expect->n > m.values) /* those indices are the subgraph's now */
        c->expect->n = m.values;
}

/* The If node: each branch gives the tensors of vals[0] and vals[1]
 * (results[k] of branch k; outer[k]: values of the graph, captured); the
 * If's results replace them in a copy of vals[0]. */
typedef struct rt_out {
    const val *v[2];
    bool outer[2];
} rt_out;

static bool rt_if_node(ctx *c, int cond, rt_branch *br, lw_caps *caps, const rt_out *outs, size_t n, hs_span at,
                       val *merged)
{
    irs leaf[2] = {{0}, {0}};
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < 2; k++) {
            size_t from = leaf[k].n;
            leaves_get(outs[i].v[k], &leaf[k]);
            if (outs[i].outer[k])
                for (size_t j = from; j < leaf[k].n; j++)
                    leaf[k].v[j] = lw_capture(&c->L, br[k].g, caps, leaf[k].v[j]);
        }
    size_t n_res = leaf[0].n;
    if (n_res == 0) { /* nothing leaves the branches: no node */
        ir_graph_free(br[0].g);
        ir_graph_free(br[1].g);
    } else {
        for (int k = 0; k < 2; k++)
            for (size_t j = 0; j < n_res; j++)
                lw_result(&c->L, br[k].g, leaf[k].v[j], at);
        lw_if(&c->L, cond, br[0].g, br[1].g, caps, n_res, at, leaf[0].v);
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        merged[i] = leaves_put(c, outs[i].v[0], leaf[0].v, &k);
        record_leaves(c, &merged[i], at);
    }
    free(leaf[0].v);
    free(leaf[1].v);
    return true;
}

static const char *const branch_name[2] = {"then", "else"};

/* type_text, with tuples spelled out: "(f32[4], f32[4])". */
static const char *rt_type_text(ctx *c, const val *v)
{
    if (v->k != V_LIST)
        return type_text(c, v);
    hd_buf b;
    hd_buf_init(&b);
    hd_buf_putc(&b, '(');
    for (size_t i = 0; i < v->n_items; i++)
        hd_buf_printf(&b, "%s%s", i ? ", " : "", rt_type_text(c, &v->items[i]));
    hd_buf_putc(&b, ')');
    char *r = hs_strndup(&c->p->arena, b.data, b.len);
    hd_buf_free(&b);
    return r;
}

/* `if cond { ... } else { ... }` on a tensor: both branches are built, as
 * the two subgraphs of an If.  A name bound before the if and rebound in
 * a branch flows out: its value after the if is what the branch that ran
 * left (the other one keeps the old value), so both must give it one
 * type.  Both branches return, or neither. */
static void exec_rt_if(ctx *c, scope *s, hs_node *st, val cond)
{
    if (!rt_cond(c, &cond, st->a))
        return;
    lw_caps caps = {0};
    rt_branch br[2];
    rt_branch_run(c, s, &st->list, NULL, "then_branch", &caps, &br[0]);
    rt_branch_run(c, s, &st->list2, NULL, "else_branch", &caps, &br[1]);
    /* the names either branch rebinds, each once */
    size_t n_w = br[0].f.n + br[1].f.n;
    rt_out *outs = hd_xcalloc(n_w + 1, sizeof(rt_out));
    binding **names = hd_xcalloc(n_w + 1, sizeof(binding *));
    hs_node **at = hd_xcalloc(2 * (n_w + 1), sizeof(hs_node *));
    size_t n = 0;
    bool ok = !c->stop;
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < br[k].f.n; i++) {
            binding *b = br[k].f.w[i].b;
            size_t j = 0;
            while (j < n && names[j] != b)
                j++;
            if (j == n) {
                names[n] = b;
                outs[n].v[0] = outs[n].v[1] = &b->v;
                outs[n].outer[0] = outs[n].outer[1] = true;
                n++;
            }
            outs[j].v[k] = &br[k].now[i];
            outs[j].outer[k] = false;
            at[2 * j + k] = br[k].f.w[i].at;
        }
    for (size_t j = 0; j < n && ok; j++) {
        const val *v0 = outs[j].v[0], *v1 = outs[j].v[1];
        if (v0->k == V_NONE || v1->k == V_NONE) {
            ok = false;
            break;
        }
        for (int k = 0; k < 2 && ok; k++)
            if (!outs[j].outer[k] && !all_tensors(outs[j].v[k])) {
                hs_error(c->p, at[2 * j + k]->span,
                         "'%s' becomes %s in a branch of a run-time 'if'; such a branch may only rebind tensors",
                         names[j]->name, rt_type_text(c, outs[j].v[k]));
                ok = false;
            }
        if (ok && !same_type(v0, v1)) {
            hs_error(c->p, st->a->span, "the branches of this run-time 'if' leave '%s' with different types: %s and %s",
                     names[j]->name, rt_type_text(c, v0), rt_type_text(c, v1));
            for (int k = 0; k < 2; k++)
                if (!outs[j].outer[k])
                    hs_note(c->p, at[2 * j + k]->span, "the %s branch binds it to %s here", branch_name[k],
                            rt_type_text(c, outs[j].v[k]));
                else
                    hs_note(c->p, names[j]->at, "the %s branch keeps it as bound here: %s", branch_name[k],
                            rt_type_text(c, outs[j].v[k]));
            ok = false;
        }
    }
    if (ok && br[0].returned != br[1].returned) {
        int k = br[0].returned ? 0 : 1;
        hs_error(c->p, st->a->span, "only the %s branch of this run-time 'if' returns: both must, or neither",
                 branch_name[k]);
        hs_note(c->p, br[k].ret_at->span, "it returns here");
        hs_help(c->p, "give the code after the 'if' to its else branch: if c { return a } else { return b }");
        ok = false;
    } else if (ok && br[0].returned) {
        for (int k = 0; k < 2 && ok; k++) {
            if (br[k].ret.k == V_NONE) {
                ok = false;
            } else if (!all_tensors(&br[k].ret)) {
                hs_error(c->p, br[k].ret_at->span,
                         "the %s branch of a run-time 'if' returns %s; it may only return tensors (or tuples of "
                         "them)",
                         branch_name[k], rt_type_text(c, &br[k].ret));
                ok = false;
            }
        }
        if (ok && !same_type(&br[0].ret, &br[1].ret)) {
            hs_error(c->p, st->a->span, "the branches of this run-time 'if' return different types: %s and %s",
                     rt_type_text(c, &br[0].ret), rt_type_text(c, &br[1].ret));
            for (int k = 0; k < 2; k++)
                hs_note(c->p, br[k].ret_at->span, "the %s branch returns %s", branch_name[k],
                        rt_type_text(c, &br[k].ret));
            ok = false;
        }
        if (ok) {
            outs[n].v[0] = &br[0].ret;
            outs[n].v[1] = &br[1].ret;
            n++;
        }
    }
    if (ok) {
        val *merged = hs_alloc(&c->p->arena, (n + 1) * sizeof(val));
        rt_if_node(c, cond.ir, br, &caps, outs, n, st->span, merged);
        size_t names_n = br[0].returned ? n - 1 : n;
        for (size_t j = 0; j < names_n; j++)
            assign(c, names[j], merged[j], st);
        if (br[0].returned) {
            c->ret = merged[n - 1];
            c->ret_at = br[0].ret_at;
            c->returned = true;
        }
    } else {
        ir_graph_free(br[0].g);
        ir_graph_free(br[1].g);
        if (br[0].returned || br[1].returned) { /* reported: the function has no result, quietly */
            c->returned = true;
            c->ret = vnone();
        }
    }
    free(outs);
    free(names);
    free(at);
    free(caps.v);
    free(br[0].f.w);
    free(br[1].f.w);
}

/* `a if cond else b` on a tensor: an If whose branches compute a and b. */
static val eval_rt_cond(ctx *c, scope *s, hs_node *e, val cond)
{
    if (!rt_cond(c, &cond, e->b))
        return vnone();
    lw_caps caps = {0};
    rt_branch br[2];
    rt_branch_run(c, s, NULL, e->a, "then_branch", &caps, &br[0]);
    rt_branch_run(c, s, NULL, e->c, "else_branch", &caps, &br[1]);
    hs_node *side[2] = {e->a, e->c};
    bool ok = !c->stop;
    for (int k = 0; k < 2 && ok; k++) {
        if (br[k].f.n) { /* a method rebinding its module's names */
            hs_error(c->p, br[k].f.w[0].at->span, "'%s' is rebound inside a run-time 'if' expression",
                     br[k].f.w[0].b->name);
            ok = false;
        } else if (br[k].value.k == V_NONE) {
            ok = false;
        } else if (!all_tensors(&br[k].value)) {
            hs_error(c->p, side[k]->span, "a run-time 'if' gives tensors (or tuples of them), found %s",
                     rt_type_text(c, &br[k].value));
            ok = false;
        }
    }
    if (ok && !same_type(&br[0].value, &br[1].value)) {
        hs_error(c->p, e->b->span, "the branches of this run-time 'if' give different types: %s and %s",
                 rt_type_text(c, &br[0].value), rt_type_text(c, &br[1].value));
        hs_note(c->p, e->a->span, "this is %s", rt_type_text(c, &br[0].value));
        hs_note(c->p, e->c->span, "this is %s", rt_type_text(c, &br[1].value));
        ok = false;
    }
    val r = vnone();
    if (ok) {
        rt_out o = {{&br[0].value, &br[1].value}, {false, false}};
        rt_if_node(c, cond.ir, br, &caps, &o, 1, e->span, &r);
    } else {
        ir_graph_free(br[0].g);
        ir_graph_free(br[1].g);
    }
    free(caps.v);
    free(br[0].f.w);
    free(br[1].f.w);
    return r;
}

/* --- run-time for ---------------------------------------------------------- */

/* A bound of a run-time for: a compile-time int, or one int64 element. */
static bool rt_bound(ctx *c, const val *v, hs_node *at)
{
    if (v->k == V_INT)
        return true;
    if (v->k == V_NONE)
        return false;
    bool one = v->k == V_TENSOR && v->dt == HODU_DTYPE_I64;
    for (int i = 0; one && i < v->rank; i++)
        one = v->dims[i].size == 1;
    if (!one) {
        hs_error(c->p, at->span,
                 "a run-time 'for' runs over compile-time ints or int64 tensors with one element, found %s",
                 rt_type_text(c, v));
        hs_help(c->p, "the trip count is read when the model runs: pass it as an i64[] input");
    }
    return one;
}

/* The bound as an int64 scalar value of the graph. */
static int rt_scalar_i64(ctx *c, const val *v, hs_span at)
{
    if (v->k == V_INT)
        return lw_scalar(&c->L, HODU_DTYPE_I64, (double)v->i, at);
    if (v->rank == 0)
        return v->ir;
    int ins[2] = {v->ir, lw_i64s(&c->L, NULL, 0, at)};
    return emit(c, "Reshape", ins, 2, at);
}

/* One walk of the loop's body with `i` bound to `it`, journaling the
 * writes to older names in `f`; their values after it go to *now and
 * the names get their values from before it back. */
static void rt_body_run(ctx *c, scope *s, hs_node *st, val it, rt_frame *f, val **now, hs_node **ret_at)
{
    memset(f, 0, sizeof(*f));
    f->up = c->rtf;
    f->serial0 = c->serials;
    c->rtf = f;
    c->rt_depth++;
    bool save_ret = c->returned;
    val save_val = c->ret;
    hs_node *save_at = c->ret_at;
    c->returned = false;
    scope *inner = hs_alloc(&c->p->arena, sizeof(*inner));
    inner->up = s;
    bind(c, inner, st->name, it, st->span);
    exec_block(c, inner, &st->list);
    *ret_at = c->returned ? c->ret_at : NULL;
    c->returned = save_ret;
    c->ret = save_val;
    c->ret_at = save_at;
    c->rt_depth--;
    c->rtf = f->up;
    *now = hs_alloc(&c->p->arena, (f->n + 1) * sizeof(val));
    for (size_t k = f->n; k-- > 0;) {
        (*now)[k] = f->w[k].b->v;
        f->w[k].b->v = f->w[k].old;
    }
}

/* `for i in lo..hi { ... }` with a tensor bound: a Loop node.  The names
 * the body rebinds are its loop-carried values, so they must keep their
 * type.  Which names those are is known only after a walk of the body,
 * so it is walked twice: first only checked (no graph), then built with
 * the carried names and `i` bound to the body's inputs.  A loop met in
 * a checking walk is walked once, so nesting stays linear. */
static void exec_rt_for(ctx *c, scope *s, hs_node *st, val lo, val hi)
{
    if (!rt_bound(c, &lo, st->a) || !rt_bound(c, &hi, st->b))
        return;
    if (c->rt_depth >= HODU_MAX_SUBGRAPH_DEPTH) {
        hs_error(c->p, st->span, "run-time 'if's and 'for's nest more than %d deep", HODU_MAX_SUBGRAPH_DEPTH);
        return;
    }
    val it = tensor(HODU_DTYPE_I64, 0, NULL, -1);
    rt_frame f;
    val *now;
    hs_node *ret_at;
    ir_graph *g = c->L.g;
    hs_expect *expect = c->expect;
    size_t errors = c->p->d ? c->p->d->n_errors : 0;
    size_t unrolled = c->unrolled;
    uint64_t param_bytes = c->param_bytes;
    c->L.g = NULL;
    c->expect = NULL;
    rt_body_run(c, s, st, it, &f, &now, &ret_at);
    c->L.g = g;
    c->expect = expect;
    if (g) { /* the second walk counts the body's limits again */
        c->unrolled = unrolled;
        c->param_bytes = param_bytes;
    }
    bool ok = !c->stop && (c->p->d ? c->p->d->n_errors : 0) == errors;
    if (ok && ret_at) {
        hs_error(c->p, ret_at->span, "returns from the body of a run-time 'for'");
        hs_note(c->p, (hi.k == V_TENSOR ? st->b : st->a)->span, "the trip count is known only when the model runs");
        hs_help(c->p, "bind the result to a name before the loop, rebind it in the body and return it after");
        ok = false;
    }
    for (size_t k = 0; k < f.n && ok; k++) {
        binding *b = f.w[k].b;
        if (now[k].k == V_NONE) {
            ok = false;
        } else if (!all_tensors(&b->v) || !all_tensors(&now[k])) {
            hs_error(c->p, f.w[k].at->span,
                     "'%s' is rebound in the body of a run-time 'for'; such a loop may only rebind tensors, and '%s' "
                     "is %s",
                     b->name, b->name, rt_type_text(c, all_tensors(&b->v) ? &now[k] : &b->v));
            hs_note(c->p, b->at, "'%s' is bound here", b->name);
            ok = false;
        } else if (!same_type(&b->v, &now[k])) {
            hs_error(c->p, f.w[k].at->span,
                     "'%s' changes type in the body of a run-time 'for': %s before an iteration, %s after it", b->name,
                     rt_type_text(c, &b->v), rt_type_text(c, &now[k]));
            hs_note(c->p, b->at, "'%s' is bound here as %s", b->name, rt_type_text(c, &b->v));
            hs_help(c->p, "a value carried from one iteration to the next keeps its type and shape");
            ok = false;
        }
    }
    size_t n = f.n;
    binding **names = hd_xcalloc(n + 1, sizeof(binding *));
    for (size_t k = 0; k < n; k++)
        names[k] = f.w[k].b;
    free(f.w);
    if (!ok || n == 0 || !g) { /* nothing carried, or nothing to build */
        /* Checking only (or inside an outer loop's checking walk): the
         * carried names keep their types, and rebinding them tells an
         * enclosing loop that they are carried through it too.  One walk
         * per level keeps nested loops linear, not 2^depth. */
        for (size_t k = 0; ok && k < n; k++)
            assign(c, names[k], names[k]->v, st);
        free(names);
        return;
    }
    /* the trip count, outside the body */
    int hi_ir = rt_scalar_i64(c, &hi, st->b->span);
    bool from_zero = lo.k == V_INT && lo.i == 0;
    int lo_ir = from_zero ? -1 : rt_scalar_i64(c, &lo, st->a->span);
    int trip = hi_ir;
    if (!from_zero) {
        int ins[2] = {hi_ir, lo_ir};
        trip = emit(c, "Sub", ins, 2, st->span);
    }
    /* the body: formal inputs iteration, condition, carried values */
    lw_mark m = lw_mark_now(&c->L);
    irs formal = {0}, init = {0};
    HD_PUSH(formal.v, formal.n, formal.cap, lw_value(&c->L, "iter", st->span));
    HD_PUSH(formal.v, formal.n, formal.cap, lw_value(&c->L, "cond", st->span));
    val *old = hs_alloc(&c->p->arena, (n + 1) * sizeof(val));
    for (size_t k = 0; k < n; k++) {
        old[k] = names[k]->v;
        size_t from = init.n;
        leaves_get(&old[k], &init);
        for (size_t j = from; j < init.n; j++)
            HD_PUSH(formal.v, formal.n, formal.cap, lw_value(&c->L, names[k]->name, names[k]->at));
        size_t at = 2 + from;
        names[k]->v = leaves_put(c, &old[k], formal.v, &at);
    }
    it.ir = formal.v[0];
    if (!from_zero) { /* i counts from lo */
        int ins[2] = {formal.v[0], lo_ir};
        it.ir = emit(c, "Add", ins, 2, st->a->span);
    }
    rt_body_run(c, s, st, it, &f, &now, &ret_at);
    irs keep = {0};
    HD_PUSH(keep.v, keep.n, keep.cap, formal.v[1]);
    for (size_t k = 0; k < n; k++) {
        const val *v = &names[k]->v; /* the second walk rebinds the same names */
        for (size_t j = 0; j < f.n; j++)
            if (f.w[j].b == names[k])
                v = &now[j];
        leaves_get(v, &keep);
        names[k]->v = old[k];
    }
    free(f.w);
    lw_caps caps = {0};
    ir_graph *body = lw_body(&c->L, m, &caps, formal.v, formal.n, keep.v, keep.n);
    if (c->expect && c->expect->n > m.values) /* those indices are the body's now */
        c->expect->n = m.values;
    if (body)
        for (size_t j = 0; j < keep.n; j++)
            lw_result(&c->L, body, keep.v[j], st->span);
    int *outs = hd_xcalloc(init.n + 1, sizeof(int));
    lw_loop(&c->L, trip, init.v, init.n, body, &caps, st->span, outs);
    size_t at = 0;
    for (size_t k = 0; k < n; k++) {
        val merged = leaves_put(c, &old[k], outs, &at);
        record_leaves(c, &merged, st->span);
        assign(c, names[k], merged, st);
    }
    free(outs);
    free(keep.v);
    free(formal.v);
    free(init.v);
    free(caps.v);
    free(names);
}

static val eval_inner(ctx *c, scope *s, hs_node *e)
{
    switch (e->kind) {
    case HS_INT: {
        errno = 0;
        char *end;
        unsigned long long x = strtoull(e->name, &end, 10);
        if (errno || x > INT64_MAX) {
            hs_error(c->p, e->span, "integer literal is too large");
            return vnone();
        }
        val v = vint((int64_t)x);
        v.literal = true;
        return v;
    }
    case HS_FLOAT: {
        val v = vfloat(strtod(e->name, NULL));
        if (!isfinite(v.f)) {
            hs_error(c->p, e->span, "number literal is out of range");
            return vnone();
        }
        v.literal = true;
        return v;
    }
    case HS_BOOL: return vbool(e->ival != 0);
    case HS_STRING: return (val){.k = V_STR, .s = e->name, .ir = -1};
    case HS_NAME: {
        binding *b = lookup(s, e->name);
        if (b) {
            if (b->v.k == V_ABSENT) {
                hs_error(c->p, e->span, "parameter '%s' is absent here: its condition is false", e->name);
                hs_note(c->p, b->v.fn->span, "declared here");
                return vnone();
            }
            return b->v;
        }
        hs_node *d = global(c, &c->fns, e->name);
        if (d)
            return (val){.k = V_FN, .fn = d, .ir = -1};
        if (global(c, &c->modules, e->name)) {
            hs_error(c->p, e->span, "module '%s' needs its arguments: %s(...)", e->name, e->name);
            return vnone();
        }
        unknown_name(c, s, e);
        return vnone();
    }
    case HS_UNARY: {
        val a = eval(c, s, e->a);
        if (a.k == V_NONE)
            return a;
        if (e->op == HS_OP_NOT) {
            if (a.k != V_BOOL) {
                hs_error(c->p, e->span, "'not' takes a compile-time bool, found %s", type_text(c, &a));
                return vnone();
            }
            return vbool(!a.i);
        }
        if (a.k == V_INT) {
            if (a.i == INT64_MIN) {
                hs_error(c->p, e->span, "integer overflow");
                return vnone();
            }
            a.i = -a.i;
            return a;
        }
        if (a.k == V_FLOAT) {
            a.f = -a.f;
            return a;
        }
        if (a.k == V_TENSOR && a.dt != HODU_DTYPE_BOOL) {
            a.ir = emit(c, "Neg", &a.ir, 1, e->span);
            return a;
        }
        hs_error(c->p, e->span, "'-' cannot take %s", type_text(c, &a));
        return vnone();
    }
    case HS_BINARY: {
        val a = eval(c, s, e->a);
        if (a.k == V_NONE)
            return a;
        val b = eval(c, s, e->b);
        if (b.k == V_NONE)
            return b;
        if (a.k == V_TENSOR || b.k == V_TENSOR)
            return tensor_binary(c, e, a, b);
        return const_binary(c, e, a, b);
    }
    case HS_COND: {
        val cond = eval(c, s, e->b);
        if (cond.k == V_TENSOR)
            return eval_rt_cond(c, s, e, cond);
        if (cond.k != V_BOOL) {
            if (cond.k != V_NONE)
                hs_error(c->p, e->b->span,
                         "a condition must be a compile-time bool or a bool tensor with one element, found %s",
                         type_text(c, &cond));
            return vnone();
        }
        return eval(c, s, cond.i ? e->a : e->c);
    }
    case HS_CALL: return eval_call(c, s, e);
    case HS_INDEX: {
        val x = eval(c, s, e->a);
        if (x.k == V_NONE)
            return x;
        if (x.k == V_LIST) {
            int64_t i;
            if (e->list.n != 1 || e->list.items[0]->kind == HS_SLICE || e->list.items[0]->kind == HS_ELLIPSIS) {
                hs_error(c->p, e->span, "a list takes one int index");
                return vnone();
            }
            if (!want_int(c, eval(c, s, e->list.items[0]), e->list.items[0], &i))
                return vnone();
            if (i < -(int64_t)x.n_items || i >= (int64_t)x.n_items) {
                hs_error(c->p, e->list.items[0]->span, "index %lld is out of range for a list of %zu", (long long)i,
                         x.n_items);
                return vnone();
            }
            return x.items[i < 0 ? i + (int64_t)x.n_items : i];
        }
        if (x.k != V_TENSOR) {
            hs_error(c->p, e->a->span, "%s cannot be indexed", type_text(c, &x));
            return vnone();
        }
        return index_tensor(c, s, e, x);
    }
    case HS_LIST:
    case HS_LISTCOMP: return eval_list(c, s, e);
    case HS_SLICE:
    case HS_ELLIPSIS: hs_error(c->p, e->span, "a slice is only valid inside [ ]"); return vnone();
    default: hs_error(c->p, e->span, "not an expression"); return vnone();
    }
}

static const char *expect_sym(hs_expect *x, const char *sym)
{
    for (size_t i = 0; i < x->n_syms; i++)
        if (strcmp(x->syms[i], sym) == 0)
            return x->syms[i];
    HD_PUSH(x->syms, x->n_syms, x->cap_syms, hd_xstrdup(sym));
    return x->syms[x->n_syms - 1];
}

static void record(ctx *c, const val *v, hs_span at)
{
    hs_expect *x = c->expect;
    if ((size_t)v->ir >= x->cap)
        hd_grow((void **)&x->t, &x->cap, (size_t)v->ir + 1, sizeof(*x->t));
    for (; x->n <= (size_t)v->ir; x->n++)
        x->t[x->n].rank = -1;
    hs_etype *t = &x->t[v->ir];
    t->dt = v->dt;
    t->rank = v->rank;
    t->at = at;
    for (int i = 0; i < v->rank; i++) {
        t->dims[i] = v->dims[i];
        if (t->dims[i].sym)
            t->dims[i].sym = expect_sym(x, t->dims[i].sym); /* the AST goes before the check runs */
    }
}

static val eval(ctx *c, scope *s, hs_node *e)
{
    if (c->stop)
        return vnone();
    if (++c->depth > HS_MAX_EVAL_DEPTH) {
        hs_error(c->p, e->span, "expression nested deeper than %d levels", HS_MAX_EVAL_DEPTH);
        c->stop = true;
        c->depth--;
        return vnone();
    }
    const char *prefix = c->pending_prefix;
    if (e->kind != HS_CALL && e->kind != HS_LIST && e->kind != HS_LISTCOMP && e->kind != HS_COND)
        c->pending_prefix = NULL;
    val v = eval_inner(c, s, e);
    c->pending_prefix = prefix;
    c->depth--;
    if (c->expect && v.k == V_TENSOR && v.ir >= 0)
        record(c, &v, e->span);
    return v;
}

/* --- statements ------------------------------------------------------------ */

static void exec_block(ctx *c, scope *s, hs_list *stmts)
{
    for (size_t i = 0; i < stmts->n && !c->returned && !c->stop; i++) {
        hs_node *st = stmts->items[i];
        switch (st->kind) {
        case HS_LET: {
            size_t first = c->L.g ? c->L.g->n_values : 0;
            val v = eval(c, s, st->a);
            if (!st->name) { /* let (a, b) = tuple */
                if (v.k == V_NONE)
                    break;
                if (v.k != V_LIST || v.n_items != st->list.n) {
                    if (v.k == V_LIST)
                        hs_error(c->p, st->a->span, "unpacks a tuple of %zu into %zu names", v.n_items, st->list.n);
                    else
                        hs_error(c->p, st->a->span, "unpacks %s into %zu names: expected a tuple", type_text(c, &v),
                                 st->list.n);
                    break;
                }
                for (size_t k = 0; k < st->list.n; k++)
                    bind(c, s, st->list.items[k]->name, v.items[k], st->list.items[k]->span);
                break;
            }
            name_after(c, &v, st->name, first);
            bind(c, s, st->name, v, st->span);
            break;
        }
        case HS_ASSIGN: {
            binding *b = lookup(s, st->name);
            size_t first = c->L.g ? c->L.g->n_values : 0;
            val v = eval(c, s, st->a);
            name_after(c, &v, st->name, first);
            if (!b) {
                hs_error(c->p, st->span, "'%s' is not bound: use 'let %s = ...' to bind it", st->name, st->name);
                break;
            }
            assign(c, b, v, st);
            break;
        }
        case HS_RETURN:
            c->ret = eval(c, s, st->a);
            c->ret_at = st->a;
            c->returned = true;
            break;
        case HS_FOR: {
            int64_t lo, hi;
            val vlo = eval(c, s, st->a);
            if (vlo.k == V_NONE)
                break;
            val vhi = eval(c, s, st->b);
            if (vlo.k == V_TENSOR || vhi.k == V_TENSOR) {
                exec_rt_for(c, s, st, vlo, vhi);
                break;
            }
            if (!want_int(c, vlo, st->a, &lo) || !want_int(c, vhi, st->b, &hi))
                break;
            if (hi > lo && (uint64_t)(hi - lo) > HS_MAX_UNROLL - c->unrolled) {
                hs_error(c->p, st->span, "the program unrolls more than %d iterations", HS_MAX_UNROLL);
                c->stop = true;
                break;
            }
            c->unrolled += hi > lo ? (size_t)(hi - lo) : 0;
            for (int64_t it = lo; it < hi && !c->returned && !c->stop; it++) {
                scope *inner = hs_alloc(&c->p->arena, sizeof(*inner));
                inner->up = s;
                bind(c, inner, st->name, vint(it), st->span);
                exec_block(c, inner, &st->list);
            }
            break;
        }
        case HS_IF: {
            val cond = eval(c, s, st->a);
            if (cond.k == V_TENSOR) {
                exec_rt_if(c, s, st, cond);
                break;
            }
            if (cond.k != V_BOOL) {
                if (cond.k != V_NONE)
                    hs_error(c->p, st->a->span,
                             "'if' takes a compile-time bool or a bool tensor with one element, found %s",
                             type_text(c, &cond));
                break;
            }
            scope *inner = hs_alloc(&c->p->arena, sizeof(*inner));
            inner->up = s;
            exec_block(c, inner, cond.i ? &st->list : &st->list2);
            break;
        }
        default: hs_error(c->p, st->span, "not a statement"); break;
        }
    }
}

/* --- the program ----------------------------------------------------------- */

extern const char hodu_embed_nn[]; /* std/nn.hodu, embedded at build time */

static int add_source(hs_program *p, const char *path, char *text, size_t len)
{
    hs_source s = {hd_xstrdup(path), text, len};
    HD_PUSH(p->srcs, p->n_srcs, p->cap_srcs, s);
    return (int)p->n_srcs - 1;
}

/* "a/b.hodu" + "c.hodu" -> "a/c.hodu" */
static char *relative_to(const char *from, const char *name)
{
    const char *slash = strrchr(from, '/');
    if (name[0] == '/' || !slash)
        return hd_xstrdup(name);
    return hd_xasprintf("%.*s/%s", (int)(slash - from), from, name);
}

typedef struct loader {
    hs_program *p;
    const char **stack; /* canonical paths being parsed: a repeat is a cycle */
    const char **shown; /* the same files as messages name them */
    size_t depth;
    char **done;
    size_t n_done, cap_done;
    bool allow_files;
    char *root; /* the main file's folder, resolved: imports stay inside it */
} loader;

static bool load_file(loader *ld, const char *path, const char *key, char *text, size_t len, hs_span from);

static void load_imports(loader *ld, int src, size_t first_item)
{
    hs_program *p = ld->p;
    for (size_t i = first_item; i < p->items.n; i++) {
        hs_node *im = p->items.items[i];
        if (im->kind != HS_IMPORT || im->span.file != src)
            continue;
        if (strcmp(im->name, "std/nn") == 0) {
            load_file(ld, "<std>/nn.hodu", "<std>/nn.hodu", NULL, 0, im->span);
            continue;
        }
        if (!ld->allow_files) {
            hs_error(p, im->span, "imports of files are not available here");
            continue;
        }
        char *path = relative_to(p->srcs[src].path, im->name);
        char *canon = realpath(path, NULL);
        if (!canon) {
            hs_error(p, im->span, "cannot import \"%s\": %s not found", im->name, path);
            free(path);
            continue;
        }
        size_t rl = ld->root ? strlen(ld->root) : 0;
        if (!ld->root || strncmp(canon, ld->root, rl) != 0 || (canon[rl] != '/' && ld->root[rl - 1] != '/')) {
            /* as ONNX external data must stay beside the model: a program
             * read from elsewhere cannot make hodu print another file */
            hs_error(p, im->span, "cannot import \"%s\": it lies outside the main file's folder", im->name);
            free(canon);
            free(path);
            continue;
        }
        load_file(ld, path, canon, NULL, 0, im->span);
        free(canon);
        free(path);
    }
}

static bool load_file(loader *ld, const char *path, const char *key, char *text, size_t len, hs_span from)
{
    hs_program *p = ld->p;
    for (size_t i = 0; i < ld->depth; i++)
        if (strcmp(ld->stack[i], key) == 0) {
            hs_error(p, from, "import cycle: \"%s\" imports itself", path);
            hd_buf b;
            hd_buf_init(&b);
            for (size_t j = i; j < ld->depth; j++)
                hd_buf_printf(&b, "%s -> ", ld->shown[j]);
            hs_help(p, "the cycle is %s%s", b.data, path);
            hd_buf_free(&b);
            return false;
        }
    for (size_t i = 0; i < ld->n_done; i++)
        if (strcmp(ld->done[i], key) == 0)
            return true; /* imported twice: once is enough */
    if (ld->depth >= HS_MAX_IMPORT_DEPTH || p->n_srcs >= HS_MAX_IMPORTS) {
        hs_error(p, from, "too many imports (at most %d files, %d deep)", HS_MAX_IMPORTS, HS_MAX_IMPORT_DEPTH);
        return false;
    }
    if (!text) {
        if (strcmp(key, "<std>/nn.hodu") == 0) {
            text = hd_xstrdup(hodu_embed_nn);
            len = strlen(text);
        } else {
            hd_diag tmp;
            hd_diag_init(&tmp, NULL);
            uint8_t *bytes = hd_read_file(path, &len, HS_MAX_SOURCE_BYTES, &tmp);
            if (!bytes) {
                hs_error(p, from, "cannot read \"%s\": %s", path, tmp.len ? tmp.msgs[0].text : "error");
                hd_diag_free(&tmp);
                return false;
            }
            hd_diag_free(&tmp);
            text = hd_xrealloc(bytes, len + 1);
            text[len] = '\0';
        }
    }
    int src = add_source(p, path, text, len);
    HD_PUSH(ld->done, ld->n_done, ld->cap_done, hd_xstrdup(key));
    ld->shown[ld->depth] = p->srcs[src].path;
    ld->stack[ld->depth++] = key;
    size_t first = p->items.n;
    bool ok = hs_parse_source(p, src, &p->items);
    load_imports(ld, src, first);
    ld->depth--;
    return ok;
}

/* Global names: modules and functions, each declared once. */
static bool collect(ctx *c)
{
    bool ok = true;
    for (size_t i = 0; i < c->p->items.n; i++) {
        hs_node *it = c->p->items.items[i];
        if (it->kind != HS_MODULE && it->kind != HS_FN)
            continue;
        int a = hd_strmap_get(&c->modules, it->name), b = hd_strmap_get(&c->fns, it->name);
        if (a >= 0 || b >= 0) {
            hs_error(c->p, it->span, "'%s' is declared twice", it->name);
            hs_note(c->p, c->p->items.items[a >= 0 ? a : b]->span, "first declared here");
            ok = false;
            continue;
        }
        hd_strmap_put(it->kind == HS_MODULE ? &c->modules : &c->fns, it->name, (int)i);
    }
    return ok;
}

/* --- training declarations ------------------------------------------------ */

static bool is_setting(const char *opt, const char *key)
{
    static const char *const sgd[] = {"momentum", "weight_decay", "clip_norm", "freeze"};
    static const char *const adam[] = {"beta1", "beta2", "eps", "weight_decay", "clip_norm", "freeze"};
    bool is_sgd = strcmp(opt, "sgd") == 0;
    for (size_t i = 0; i < (is_sgd ? HD_ARRAY_LEN(sgd) : HD_ARRAY_LEN(adam)); i++)
        if (strcmp(is_sgd ? sgd[i] : adam[i], key) == 0)
            return true;
    return false;
}

/* freeze=["fc1", "head.bias"]: each a parameter or the path of a submodule
 * (every parameter under it).  The names go to out (when set). */
static bool train_freeze(ctx *c, hs_node *e, hodu_script_train *out)
{
    if (e->kind != HS_LIST || e->ival) {
        hs_error(c->p, e->span, "freeze takes a list of parameter or submodule names: freeze=[\"fc1\", \"head.bias\"]");
        return false;
    }
    bool ok = true;
    bool *hit = hd_xcalloc(c->n_pnames + 1, sizeof(bool));
    for (size_t i = 0; i < e->list.n; i++) {
        hs_node *it = e->list.items[i];
        if (it->kind != HS_STRING) {
            hs_error(c->p, it->span, "freeze names parameters as strings, such as \"fc1\" or \"fc1.weight\"");
            ok = false;
            continue;
        }
        size_t len = strlen(it->name), hits = 0;
        for (size_t k = 0; k < c->n_pnames; k++) {
            const char *pn = c->pnames[k];
            if (strncmp(pn, it->name, len) != 0 || (pn[len] != '\0' && (pn[len] != '.' || len == 0)))
                continue;
            hits++;
            if (out && !hit[k])
                HD_PUSH(out->frozen, out->n_frozen, out->cap_frozen, hd_xstrdup(pn));
            hit[k] = true;
        }
        if (!hits) {
            hs_error(c->p, it->span, "'%s' is neither a parameter nor a submodule of the exported model", it->name);
            ok = false;
        }
    }
    size_t left = 0;
    for (size_t k = 0; k < c->n_pnames; k++)
        left += !hit[k];
    free(hit);
    if (ok && left == 0) {
        hs_error(c->p, e->span, "freeze leaves no parameter to train");
        ok = false;
    }
    return ok;
}

/* `train model.loss with OPTIMIZER(settings)`: the names, the optimizer
 * and its settings (compile-time numbers in range). */
static bool check_train(ctx *c, hs_node *tr, hs_node *ex, const hodu_script_options *opts)
{
    if (strcmp(tr->name, ex->name) != 0) {
        hs_error(c->p, tr->c->span, "'%s' is not the exported model: train names a function of it", tr->name);
        hs_note(c->p, ex->span, "the model exported is '%s'", ex->name);
        return false;
    }
    if (opts && opts->train_flag) {
        hs_error(c->p, tr->span, "%s conflicts with this train declaration", opts->train_flag);
        hs_help(c->p, "a program that declares its training takes no --loss, --optimizer, --clip-norm or "
                      "--train-param: change the declaration, or drop it and give the flags");
        return false;
    }
    hs_node *o = tr->a, *kind = o->kind == HS_CALL ? o->a : o;
    if (kind->kind != HS_NAME ||
        (strcmp(kind->name, "sgd") != 0 && strcmp(kind->name, "adam") != 0 && strcmp(kind->name, "adamw") != 0)) {
        if (kind->kind == HS_NAME)
            hs_error(c->p, kind->span, "unknown optimizer '%s' (sgd, adam or adamw)", kind->name);
        else
            hs_error(c->p, o->span, "the optimizer is sgd(...), adam(...) or adamw(...)");
        return false;
    }
    /* A string literal, not the AST's: the declaration outlives the
     * program's arena (the driver reads it after the load). */
    const char *optimizer = strcmp(kind->name, "sgd") == 0 ? "sgd" : strcmp(kind->name, "adam") == 0 ? "adam" : "adamw";
    hodu_script_train t = {.declared = true, .optimizer = optimizer, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8};
    if (strcmp(kind->name, "adamw") == 0)
        t.weight_decay = 0.01; /* PyTorch's default */
    hodu_script_train *out = opts && opts->train_out ? opts->train_out : NULL;
    bool ok = true;
    size_t n_args = o->kind == HS_CALL ? o->list.n : 0;
    for (size_t i = 0; i < n_args; i++) {
        hs_node *arg = o->list.items[i];
        if (!arg->name) {
            hs_error(c->p, arg->span, "the optimizer's settings are keyword arguments, such as %s",
                     strcmp(kind->name, "sgd") == 0 ? "sgd(momentum=0.9)" : "adamw(weight_decay=0.01)");
            ok = false;
            continue;
        }
        for (size_t k = 0; k < i; k++)
            if (o->list.items[k]->name && strcmp(o->list.items[k]->name, arg->name) == 0) {
                hs_error(c->p, arg->span, "'%s' is given twice", arg->name);
                hs_note(c->p, o->list.items[k]->span, "first given here");
                ok = false;
            }
        if (strcmp(arg->name, "lr") == 0) {
            hs_error(c->p, arg->span, "the learning rate is not part of the declaration");
            hs_help(c->p, "every step takes it as its input 'lr' (hodu_trainer_step's lr), so a schedule is the "
                          "host's loop");
            ok = false;
            continue;
        }
        if (!is_setting(kind->name, arg->name)) {
            hs_error(c->p, arg->span, "'%s' is not a setting of %s (%s)", arg->name, kind->name,
                     strcmp(kind->name, "sgd") == 0 ? "momentum, weight_decay, clip_norm, freeze"
                                                    : "beta1, beta2, eps, weight_decay, clip_norm, freeze");
            ok = false;
            continue;
        }
        if (strcmp(arg->name, "freeze") == 0) {
            ok = train_freeze(c, arg->a, &t) && ok;
            continue;
        }
        val v = eval(c, NULL, arg->a);
        if (v.k != V_INT && v.k != V_FLOAT) {
            if (v.k != V_NONE)
                hs_error(c->p, arg->a->span, "%s is a compile-time number, found %s", arg->name, type_text(c, &v));
            ok = false;
            continue;
        }
        double x = num(&v);
        bool beta = strcmp(arg->name, "beta1") == 0 || strcmp(arg->name, "beta2") == 0;
        if (!isfinite(x) || x < 0 || (beta && x >= 1) || (strcmp(arg->name, "eps") == 0 && x == 0)) {
            hs_error(c->p, arg->a->span, "%s must be %s (it is %g)", arg->name,
                     beta                            ? "in [0, 1)"
                     : strcmp(arg->name, "eps") == 0 ? "greater than 0"
                                                     : "at least 0",
                     x);
            ok = false;
            continue;
        }
        double *slot = strcmp(arg->name, "momentum") == 0       ? &t.momentum
                       : strcmp(arg->name, "weight_decay") == 0 ? &t.weight_decay
                       : strcmp(arg->name, "beta1") == 0        ? &t.beta1
                       : strcmp(arg->name, "beta2") == 0        ? &t.beta2
                       : strcmp(arg->name, "eps") == 0          ? &t.eps
                                                                : &t.clip_norm;
        *slot = x;
    }
    if (ok && out)
        *out = t;
    else
        hodu_script_train_free(&t);
    return ok;
}

void hodu_script_train_free(hodu_script_train *t)
{
    for (size_t i = 0; t && i < t->n_frozen; i++)
        free(t->frozen[i]);
    if (t) {
        free(t->frozen);
        t->frozen = NULL;
        t->n_frozen = t->cap_frozen = 0;
    }
}

/* The exported module's function `fname` as the graph: its parameters
 * become graph inputs, its result the output.  `tr`: it is the loss a
 * train declaration names, so its result must be one f32 scalar. */
static void build_fn_entry(ctx *c, val m, hs_node *ex, const char *fname, hs_node *tr)
{
    binding *fb = NULL;
    for (size_t i = 0; i < m.m->env.n; i++)
        if (strcmp(m.m->env.b[i].name, fname) == 0 && m.m->env.b[i].v.k == V_FN)
            fb = &m.m->env.b[i];
    if (!fb && tr) {
        hs_error(c->p, tr->b->span, "the exported module '%s' has no function '%s' to train", m.m->decl->name, fname);
        hs_note(c->p, m.m->decl->span, "'%s' is declared here", m.m->decl->name);
        return;
    }
    if (!fb) {
        hs_error(c->p, ex->span, "the exported module '%s' has no forward function", m.m->decl->name);
        return;
    }
    hs_node *f = fb->v.fn;
    size_t n = f->list.n;
    val *args = hs_alloc(&c->p->arena, (n + 1) * sizeof(val));
    hs_node *call = hs_new(&c->p->arena, HS_CALL, ex->span);
    for (size_t i = 0; i < n; i++) {
        hs_node *fm = f->list.items[i], *ty = fm->a;
        hodu_dtype dt = dt_find(ty->name);
        if (dt == HODU_DTYPE_UNDEFINED || !ty->ival) {
            hs_error(c->p, ty->span, "the entry's parameters must be tensors (a dtype and a shape)");
            return;
        }
        if (tr && strcmp(fm->name, "lr") == 0) {
            hs_error(c->p, fm->span,
                     "a training step takes the learning rate as its input 'lr': name this parameter "
                     "otherwise");
            return;
        }
        if (ty->list.n > HODU_MAX_RANK) {
            hs_error(c->p, ty->span, "rank %zu is past the limit of %d", ty->list.n, HODU_MAX_RANK);
            return;
        }
        val t = {.k = V_TENSOR, .dt = dt, .rank = (int)ty->list.n, .ir = -1};
        for (size_t k = 0; k < ty->list.n; k++) {
            hs_node *de = ty->list.items[k];
            bool is_var;
            if (de->kind == HS_ELLIPSIS) {
                hs_error(c->p, de->span, "the entry's inputs need every dim: '...' is for generic functions");
                return;
            }
            if (de->kind != HS_NAME && names_dim(&m.m->env, de)) {
                hs_error(c->p, de->span, "the entry's input dims are sizes or dim names, not expressions over them");
                return;
            }
            if (!type_dim(c, &m.m->env, de, &t.dims[k], &is_var))
                return;
            if (is_var && c->L.g)
                t.dims[k].sym = ir_graph_symbol(c->L.g, de->name);
        }
        if (c->L.g) {
            ir_graph *g = c->L.g;
            t.ir = ir_value_new(g, fm->name);
            ir_value *v = &g->values[t.ir];
            v->kind = IR_VALUE_INPUT;
            v->dtype = dt;
            v->rank = t.rank;
            for (int k = 0; k < t.rank; k++) {
                v->dims[k].size = t.dims[k].size;
                v->dims[k].sym = t.dims[k].sym;
            }
            HD_PUSH(g->inputs, g->n_inputs, g->cap_inputs, t.ir);
            lw_set_loc(&c->L, t.ir, fm->span);
        }
        args[i] = t;
        hs_node *arg = hs_new(&c->p->arena, HS_ARG, fm->span);
        arg->a = arg;
        hs_list_push(&c->p->arena, &call->list, arg);
    }
    val r = call_fn(c, &fb->v, args, n, call);
    if (r.k == V_NONE || c->stop)
        return;
    if (tr && (r.k != V_TENSOR || r.dt != HODU_DTYPE_F32 || r.rank != 0)) {
        char tuple[48];
        snprintf(tuple, sizeof tuple, "a tuple of %zu", r.n_items);
        hs_error(c->p, f->a ? f->a->span : f->span, "the loss '%s' must return one f32[] (a scalar), found %s", fname,
                 r.k == V_LIST ? tuple : type_text(c, &r));
        hs_note(c->p, tr->span, "it is the loss of this train declaration");
        return;
    }
    /* one tensor, or a tuple of them: the model's outputs */
    const bool tuple = r.k == V_LIST;
    const size_t n_out = tuple ? r.n_items : 1;
    const val *outs = tuple ? r.items : &r;
    for (size_t j = 0; j < n_out; j++)
        if (outs[j].k != V_TENSOR) {
            hs_error(c->p, f->span, "the entry's forward must return a tensor or a tuple of tensors, found %s%s",
                     tuple ? "a tuple holding " : "", type_text(c, &outs[j]));
            return;
        }
    if (n_out == 0 || n_out > HS_MAX_OUTPUTS) {
        hs_error(c->p, f->span, "the entry's forward returns %zu tensors; a model has 1 to %d outputs", n_out,
                 HS_MAX_OUTPUTS);
        return;
    }
    /* named elements become the outputs' names: unique, and not an input's */
    if (f->a && f->a->kind == HS_TUPLE_TYPE)
        for (size_t j = 0; j < f->a->list.n; j++) {
            const hs_node *e = f->a->list.items[j];
            if (e->kind != HS_FORMAL)
                continue;
            for (size_t k = 0; k < j + f->list.n; k++) {
                const hs_node *o = k < j ? f->a->list.items[k] : f->list.items[k - j];
                if ((k >= j || o->kind == HS_FORMAL) && strcmp(o->name, e->name) == 0) {
                    hs_error(c->p, e->span, "the output '%s' has the name of %s", e->name,
                             k < j ? "another output" : "an input");
                    hs_note(c->p, o->span, "that one is here");
                    return;
                }
            }
        }
    if (!c->L.g)
        return;
    ir_graph *g = c->L.g;
    for (size_t j = 0; j < n_out; j++) {
        const val *o = &outs[j];
        int out = o->ir;
        /* Each output is a node's own result, named "output" (one tensor),
         * after the return type's element names, or "output<j>". */
        if (g->values[out].kind != IR_VALUE_NODE || g->values[out].is_output)
            out = emit(c, "Identity", &out, 1, f->span);
        if (out < 0)
            return;
        const hs_node *rt = f->a && f->a->kind == HS_TUPLE_TYPE && j < f->a->list.n ? f->a->list.items[j] : NULL;
        free(g->values[out].name);
        g->values[out].name = !tuple                        ? hd_xstrdup("output")
                              : rt && rt->kind == HS_FORMAL ? hd_xstrdup(rt->name)
                                                            : hd_xasprintf("output%zu", j);
        g->values[out].is_output = true;
        /* the declared type, as the ONNX loader keeps a graph output's */
        ir_value *ov = &g->values[out];
        ov->dtype = o->dt;
        ov->rank = o->rank;
        if (tr) /* where the train pass places what it finds wrong with the loss */
            lw_set_loc(&c->L, out, tr->span);
        for (int k = 0; k < o->rank; k++) {
            ov->dims[k].size = o->dims[k].size;
            /* a derived dim (T-1) is the IR's to name: inference makes its
             * symbol, which a plain symbol of that name would block */
            ov->dims[k].sym = o->dims[k].sym && !is_derived(c, o->dims[k]) ? ir_graph_symbol(g, o->dims[k].sym) : NULL;
        }
        HD_PUSH(g->outputs, g->n_outputs, g->cap_outputs, out);
    }
}

/* The exported model: its forward as the graph, or the loss its train
 * declaration `tr` names (opts->train).  Checking alone checks both. */
static void build_entry(ctx *c, hs_node *ex, hs_node *tr, const hodu_script_options *opts)
{
    c->pending_prefix = "";
    val m = eval(c, NULL, ex->a);
    c->pending_prefix = NULL;
    if (m.k == V_NONE || c->stop)
        return;
    if (m.k != V_MODULE) {
        hs_error(c->p, ex->a->span, "export takes a module instance, found %s", type_text(c, &m));
        return;
    }
    bool train_ok = !tr || check_train(c, tr, ex, opts);
    bool as_loss = opts && opts->train && tr && c->L.g;
    size_t errors = c->p->d->n_errors;
    if (!as_loss)
        build_fn_entry(c, m, ex, "forward", NULL);
    /* checking: the loss too, unless forward failed (it would say the same again) */
    if (tr && train_ok && !c->stop && (as_loss || (!c->L.g && c->p->d->n_errors == errors)))
        build_fn_entry(c, m, ex, tr->b->name, tr);
}

static ir_graph *run(hs_program *p, const hodu_script_options *opts, bool build, hd_diag *d)
{
    ctx c = {.p = p, .seed = opts ? opts->seed : 0};
    hs_weights w;
    uint8_t *wbytes = NULL;
    bool ok = collect(&c);
    hs_node *ex = NULL, *tr = NULL;
    for (size_t i = 0; i < p->items.n; i++) {
        hs_node *it = p->items.items[i];
        if (it->kind == HS_TRAIN && tr) {
            hs_error(p, it->span, "a program declares its training once");
            hs_note(p, tr->span, "the first train declaration is here");
            ok = false;
        } else if (it->kind == HS_TRAIN && it->span.file != 0) {
            hs_error(p, it->span, "train belongs in the main file, beside the export, not in an import");
            ok = false;
        } else if (it->kind == HS_TRAIN) {
            tr = it;
        }
        if (it->kind != HS_EXPORT)
            continue;
        if (ex) {
            hs_error(p, it->span, "a program exports one model");
            hs_note(p, ex->span, "the first export is here");
            ok = false;
        } else if (it->span.file != 0) {
            hs_error(p, it->span, "export belongs in the main file, not in an import");
            ok = false;
        } else {
            ex = it;
        }
    }
    if (ok && !ex && p->n_srcs) {
        hs_error(p, (hs_span){0, 0, 0, 0, 0}, "nothing is exported: add 'export model = MyModule(...)'");
        ok = false;
    }
    if (ok && opts && opts->weights) {
        size_t size;
        wbytes = hd_read_file(opts->weights, &size, HODU_MAX_MODEL_BYTES, d);
        ok = wbytes && hs_weights_parse(wbytes, size, opts->weights, &w, d);
        if (ok)
            c.w = &w;
    }
    ir_graph *g = NULL;
    if (ok && build) {
        g = ir_graph_new(ex->name, p->srcs[0].path);
        g->opset = 18;
        g->exact_slices = true; /* x[:, 1:] is T-1 long in every run */
        const char **files = hd_xcalloc(p->n_srcs, sizeof(char *));
        for (size_t i = 0; i < p->n_srcs; i++)
            files[i] = ir_graph_file(g, p->srcs[i].path);
        c.L.g = g;
        c.L.files = files;
        if (opts && opts->expect)
            c.expect = hd_xcalloc(1, sizeof(hs_expect));
    }
    if (ok) {
        build_entry(&c, ex, tr, opts);
        if (c.w && !hd_failed(d)) {
            hd_buf extra;
            hd_buf_init(&extra);
            size_t n_extra = 0;
            for (size_t i = 0; i < w.n; i++)
                if (!w.t[i].used) {
                    hd_buf_printf(&extra, "%s'%s'", n_extra ? ", " : "", w.t[i].name);
                    if (++n_extra == 20) {
                        hd_buf_puts(&extra, ", ...");
                        break;
                    }
                }
            if (n_extra)
                hd_error(d, "%s: the weights file holds tensors the model has no parameter for: %s", opts->weights,
                         extra.data);
            hd_buf_free(&extra);
        }
    }
    free((void *)c.L.files);
    if (c.w)
        hs_weights_free(&w);
    free(wbytes);
    free(c.dv);
    free(c.dp);
    free(c.pnames);
    hd_strmap_free(&c.modules);
    hd_strmap_free(&c.fns);
    if (hd_failed(d) || !build) {
        hs_expect_free(c.expect);
        ir_graph_free(g);
        return NULL;
    }
    if (c.expect)
        *opts->expect = c.expect;
    return g;
}

void hs_expect_free(hs_expect *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < e->n_syms; i++)
        free(e->syms[i]);
    free(e->syms);
    free(e->t);
    free(e);
}

bool hs_expect_check(const hs_expect *e, const ir_graph *g, hd_diag *d)
{
    /* what each dim name turned out to be: its first inferred dim */
    const char **sym = hd_xcalloc(e->n_syms + 1, sizeof(char *));
    ir_dim *seen = hd_xcalloc(e->n_syms + 1, sizeof(ir_dim));
    bool *has = hd_xcalloc(e->n_syms + 1, sizeof(bool));
    bool ok = true;
    for (size_t v = 0; v < e->n && v < g->n_values && ok; v++) {
        const hs_etype *t = &e->t[v];
        const ir_value *iv = &g->values[v];
        if (t->rank < 0)
            continue;
        bool same = iv->dtype == t->dt && iv->rank == t->rank;
        for (int k = 0; same && k < t->rank; k++) {
            const ir_dim *id = &iv->dims[k];
            if (t->dims[k].size >= 0) {
                same = id->size == t->dims[k].size && !id->rt;
                continue;
            }
            size_t s = 0;
            while (s < e->n_syms && e->syms[s] != t->dims[k].sym)
                s++;
            if (s == e->n_syms)
                continue;
            if (!has[s]) {
                has[s] = true;
                seen[s] = *id;
                sym[s] = e->syms[s];
            } else {
                same = seen[s].size == id->size && seen[s].rt == id->rt &&
                       (!seen[s].rt || (seen[s].sym && id->sym && strcmp(seen[s].sym, id->sym) == 0));
            }
        }
        if (!same) {
            hd_buf a, b;
            hd_buf_init(&a);
            hd_buf_init(&b);
            for (int k = 0; k < t->rank; k++) {
                if (t->dims[k].size >= 0)
                    hd_buf_printf(&a, "%s%lld", k ? "," : "", (long long)t->dims[k].size);
                else
                    hd_buf_printf(&a, "%s%s", k ? "," : "", t->dims[k].sym ? t->dims[k].sym : "?");
            }
            for (int k = 0; k < iv->rank; k++)
                hd_buf_printf(&b, "%s%lld%s", k ? "," : "", (long long)iv->dims[k].size, iv->dims[k].rt ? "(rt)" : "");
            char *where = ir_loc_format(&iv->loc);
            hd_error_at(d, where,
                        "internal error: the HoduScript checker and the IR's inference disagree on the type of '%s' "
                        "(checker: %s[%s]; IR: %s[%s])",
                        iv->name, ir_dtype_name(t->dt), a.data ? a.data : "", ir_dtype_name(iv->dtype),
                        b.data ? b.data : "");
            free(where);
            hd_buf_free(&a);
            hd_buf_free(&b);
            ok = false;
        }
    }
    free(sym);
    free(seen);
    free(has);
    return ok;
}

static void program_free(hs_program *p)
{
    for (size_t i = 0; i < p->n_srcs; i++) {
        free(p->srcs[i].path);
        free(p->srcs[i].text);
    }
    free(p->srcs);
    hs_arena_free(&p->arena);
}

static ir_graph *load(const char *name, char *text, size_t len, const hodu_script_options *opts, bool files, hd_diag *d)
{
    hs_program p = {.d = d};
    const char *stack[HS_MAX_IMPORT_DEPTH + 1], *shown[HS_MAX_IMPORT_DEPTH + 1];
    loader ld = {.p = &p, .stack = stack, .shown = shown, .allow_files = files};
    char *canon = files ? realpath(name, NULL) : NULL;
    if (canon) {
        char *slash = strrchr(canon, '/');
        ld.root = slash == canon ? hd_xstrdup("/") : hd_xstrndup(canon, (size_t)(slash - canon));
    }
    bool ok = load_file(&ld, name, canon ? canon : name, text, len, (hs_span){-1, 0, 0, 0, 0});
    free(canon);
    free(ld.root);
    for (size_t i = 0; i < ld.n_done; i++)
        free(ld.done[i]);
    free(ld.done);
    ir_graph *g = NULL;
    if (ok && !hd_failed(d))
        g = run(&p, opts, !(opts && opts->check_only), d);
    program_free(&p);
    return g;
}

ir_graph *hodu_load_script(const char *path, const hodu_script_options *opts, hd_diag *d)
{
    size_t len;
    uint8_t *bytes = hd_read_file(path, &len, HS_MAX_SOURCE_BYTES, d);
    if (!bytes)
        return NULL;
    char *text = hd_xrealloc(bytes, len + 1);
    text[len] = '\0';
    return load(path, text, len, opts, true, d);
}

bool hodu_check_script_text(const char *name, const char *text, size_t len, hd_diag *d)
{
    char *copy = hd_xmalloc(len + 1);
    memcpy(copy, text, len);
    copy[len] = '\0';
    hodu_script_options o = {.check_only = true};
    load(name, copy, len, &o, false, d);
    return !hd_failed(d);
}
