/*
 * ops/elementwise_grad.c - gradient rules of the elementwise ops
 * (ops.h, "gradient rules").  Derivatives are written with the result y
 * where that is cheaper than recomputing from x (exp, sigmoid, tanh,
 * sqrt); masks follow PyTorch at the kinks (relu'(0) = 0, clip passes the
 * gradient on its bounds).
 */
#include <math.h>
#include <string.h>

#include "ops_impl.h"

static int mul(op_grad_ctx *c, int a, int b) { return og_op2(c, "Mul", a, b); }
static int sub(op_grad_ctx *c, int a, int b) { return og_op2(c, "Sub", a, b); }
static int div_(op_grad_ctx *c, int a, int b) { return og_op2(c, "Div", a, b); }
static int add(op_grad_ctx *c, int a, int b) { return og_op2(c, "Add", a, b); }
static int num(op_grad_ctx *c, double v) { return og_scalar(c, v, og_y(c, 0)); }

/* dy where cond holds, else zero. */
static int mask(op_grad_ctx *c, int cond, int dy)
{
    int ins[3] = {cond, dy, num(c, 0)};
    return og_op(c, "Where", ins, 3);
}

/* The derivative of a unary op at x (with y = f(x)), or -1 when it has
 * none. */
static int unary_slope(op_grad_ctx *c, const ir_node *n, int x, int y)
{
    switch ((op_id)n->op) {
    case OP_NEG: return num(c, -1);
    case OP_ABS: return og_op1(c, "Sign", x);
    case OP_SQRT: return div_(c, num(c, 0.5), y);
    case OP_EXP: return y;
    case OP_LOG: return og_op1(c, "Reciprocal", x);
    case OP_RECIPROCAL: return og_op1(c, "Neg", mul(c, y, y));
    case OP_SIN: return og_op1(c, "Cos", x);
    case OP_COS: return og_op1(c, "Neg", og_op1(c, "Sin", x));
    case OP_TAN: return add(c, num(c, 1), mul(c, y, y));
    case OP_SINH: return og_op1(c, "Cosh", x);
    case OP_COSH: return og_op1(c, "Sinh", x);
    case OP_TANH: return sub(c, num(c, 1), mul(c, y, y));
    case OP_SIGMOID: return mul(c, y, sub(c, num(c, 1), y));
    case OP_ERF: /* 2/sqrt(pi) exp(-x^2) */
        return mul(c, num(c, 1.1283791670955126), og_op1(c, "Exp", og_op1(c, "Neg", mul(c, x, x))));
    case OP_ATAN: return og_op1(c, "Reciprocal", add(c, num(c, 1), mul(c, x, x)));
    case OP_SOFTPLUS: return og_op1(c, "Sigmoid", x);
    case OP_SOFTSIGN: {
        int d = add(c, num(c, 1), og_op1(c, "Abs", x));
        return og_op1(c, "Reciprocal", mul(c, d, d));
    }
    case OP_GELU: {
        const char *approx = ir_attr_string(n, "approximate", "none");
        if (strcmp(approx, "tanh") == 0) { /* 0.5 (1 + t) + 0.5 x (1 - t^2) k (1 + 3 a x^2), t = tanh(k (x + a x^3)) */
            double k = 0.7978845608028654, a = 0.044715;
            int x2 = mul(c, x, x);
            int t = og_op1(c, "Tanh", mul(c, num(c, k), mul(c, x, add(c, num(c, 1), mul(c, num(c, a), x2)))));
            int left = mul(c, num(c, 0.5), add(c, num(c, 1), t));
            int dt = mul(c, sub(c, num(c, 1), mul(c, t, t)), add(c, num(c, k), mul(c, num(c, 3 * a * k), x2)));
            return add(c, left, mul(c, mul(c, num(c, 0.5), x), dt));
        }
        /* Phi(x) + x phi(x) */
        int cdf = mul(c, num(c, 0.5), add(c, num(c, 1), og_op1(c, "Erf", mul(c, x, num(c, M_SQRT1_2)))));
        int pdf = mul(c, num(c, 0.3989422804014327), og_op1(c, "Exp", mul(c, num(c, -0.5), mul(c, x, x))));
        return add(c, cdf, mul(c, x, pdf));
    }
    case OP_ELU: { /* x > 0: 1, else y + alpha */
        int ins[3] = {og_op2(c, "Greater", x, num(c, 0)), num(c, 1), add(c, y, num(c, ir_attr_float(n, "alpha", 1.0)))};
        return og_op(c, "Where", ins, 3);
    }
    case OP_LEAKY_RELU: {
        int ins[3] = {og_op2(c, "Greater", x, num(c, 0)), num(c, 1), num(c, ir_attr_float(n, "alpha", 0.01))};
        return og_op(c, "Where", ins, 3);
    }
    case OP_SELU: { /* gamma (x > 0 ? 1 : alpha e^x) = x > 0 ? gamma : y + gamma alpha */
        double alpha = ir_attr_float(n, "alpha", 1.67326319217681884765625);
        double gamma = ir_attr_float(n, "gamma", 1.05070102214813232421875);
        int ins[3] = {og_op2(c, "Greater", x, num(c, 0)), num(c, gamma), add(c, y, num(c, gamma * alpha))};
        return og_op(c, "Where", ins, 3);
    }
    case OP_SWISH: { /* x sigmoid(a x): s + a x s (1 - s) */
        double a = ir_attr_float(n, "alpha", 1.0);
        int s = og_op1(c, "Sigmoid", mul(c, num(c, a), x));
        return add(c, s, mul(c, mul(c, num(c, a), x), mul(c, s, sub(c, num(c, 1), s))));
    }
    case OP_HARD_SIGMOID: { /* alpha inside 0 < alpha x + beta < 1 */
        double alpha = ir_attr_float(n, "alpha", 0.2), beta = ir_attr_float(n, "beta", 0.5);
        int z = add(c, mul(c, num(c, alpha), x), num(c, beta));
        int inside = og_op2(c, "And", og_op2(c, "Greater", z, num(c, 0)), og_op2(c, "Less", z, num(c, 1)));
        return mask(c, inside, num(c, alpha));
    }
    case OP_CELU: { /* x > 0: 1, else e^(x/alpha) = y/alpha + 1 */
        double alpha = ir_attr_float(n, "alpha", 1.0);
        int ins[3] = {og_op2(c, "Greater", x, num(c, 0)), num(c, 1), add(c, mul(c, y, num(c, 1 / alpha)), num(c, 1))};
        return og_op(c, "Where", ins, 3);
    }
    case OP_HARD_SWISH: { /* x clip(x/6 + 1/2, 0, 1): x/3 + 1/2 inside (-3, 3), 1 above, 0 below */
        int mid = add(c, mul(c, x, num(c, 1.0 / 3)), num(c, 0.5));
        int hi[3] = {og_op2(c, "Greater", x, num(c, 3)), num(c, 1), mid};
        int ins[3] = {og_op2(c, "Less", x, num(c, -3)), num(c, 0), og_op(c, "Where", hi, 3)};
        return og_op(c, "Where", ins, 3);
    }
    case OP_MISH: { /* x tanh(sp(x)): t + x (1 - t^2) sigmoid(x) */
        int t = og_op1(c, "Tanh", og_op1(c, "Softplus", x));
        int dt = mul(c, sub(c, num(c, 1), mul(c, t, t)), og_op1(c, "Sigmoid", x));
        return add(c, t, mul(c, x, dt));
    }
    case OP_THRESHOLDED_RELU:
        return mask(c, og_op2(c, "Greater", x, num(c, ir_attr_float(n, "alpha", 1.0))), num(c, 1));
    case OP_SHRINK: { /* 1 outside [-lambd, lambd] */
        int l = num(c, ir_attr_float(n, "lambd", 0.5));
        int out = og_op2(c, "Or", og_op2(c, "Greater", x, l), og_op2(c, "Less", x, og_op1(c, "Neg", l)));
        return mask(c, out, num(c, 1));
    }
    case OP_ASIN: return og_op1(c, "Reciprocal", og_op1(c, "Sqrt", sub(c, num(c, 1), mul(c, x, x))));
    case OP_ACOS: return og_op1(c, "Neg", og_op1(c, "Reciprocal", og_op1(c, "Sqrt", sub(c, num(c, 1), mul(c, x, x)))));
    case OP_ASINH: return og_op1(c, "Reciprocal", og_op1(c, "Sqrt", add(c, mul(c, x, x), num(c, 1))));
    case OP_ACOSH: return og_op1(c, "Reciprocal", og_op1(c, "Sqrt", sub(c, mul(c, x, x), num(c, 1))));
    case OP_ATANH: return og_op1(c, "Reciprocal", sub(c, num(c, 1), mul(c, x, x)));
    default: return -1;
    }
}

bool ew_grad(op_grad_ctx *c)
{
    /* A copy: appending nodes moves g->nodes (the attributes stay put). */
    const ir_node node = *ir_nd(c->g, c->node);
    const ir_node *n = &node;
    int x = og_x(c, 0), y = og_y(c, 0);
    switch ((op_id)n->op) {
    case OP_ADD:
    case OP_SUB: {
        int dy = og_dy(c, 0);
        og_set(c, 0, dy, y);
        if (c->want[1])
            og_set(c, 1, n->op == OP_ADD ? dy : og_op1(c, "Neg", dy), y);
        return true;
    }
    case OP_MUL: {
        int dy = og_dy(c, 0);
        if (c->want[0])
            og_set(c, 0, mul(c, dy, og_x(c, 1)), y);
        if (c->want[1])
            og_set(c, 1, mul(c, dy, x), y);
        return true;
    }
    case OP_DIV: { /* d/da = 1/b, d/db = -y/b */
        int dy = og_dy(c, 0), b = og_x(c, 1);
        int q = div_(c, dy, b);
        if (c->want[0])
            og_set(c, 0, q, y);
        if (c->want[1])
            og_set(c, 1, og_op1(c, "Neg", mul(c, q, y)), y);
        return true;
    }
    case OP_POW: { /* d/da = b a^(b-1), d/db = y ln a */
        int dy = og_dy(c, 0), b = og_x(c, 1);
        if (ir_val(c->g, b)->dtype != ir_val(c->g, x)->dtype)
            return og_none(c, "the exponent's type differs from the base's");
        if (c->want[0])
            og_set(c, 0, mul(c, dy, mul(c, b, og_op2(c, "Pow", x, sub(c, b, num(c, 1))))), y);
        if (c->want[1])
            og_set(c, 1, mul(c, dy, mul(c, y, og_op1(c, "Log", x))), y);
        return true;
    }
    case OP_PRELU: { /* x > 0: dy, else slope dy; the slope's: x dy where x <= 0 */
        int dy = og_dy(c, 0), slope = og_x(c, 1), pos = og_op2(c, "Greater", x, num(c, 0));
        if (c->want[0]) {
            int ins[3] = {pos, dy, mul(c, dy, slope)};
            og_set(c, 0, og_op(c, "Where", ins, 3), y);
        }
        if (c->want[1]) {
            int ins[3] = {pos, num(c, 0), mul(c, dy, x)};
            og_set(c, 1, og_op(c, "Where", ins, 3), y);
        }
        return true;
    }
    case OP_RELU: og_set(c, 0, mask(c, og_op2(c, "Greater", x, num(c, 0)), og_dy(c, 0)), y); return true;
    case OP_CLIP: { /* the gradient passes where min <= x <= max */
        int lo = og_x(c, 1), hi = og_x(c, 2);
        const ir_attr *alo = ir_attr_find(n, "min"), *ahi = ir_attr_find(n, "max");
        if (lo < 0 && alo)
            lo = num(c, alo->f);
        if (hi < 0 && ahi)
            hi = num(c, ahi->f);
        int dy = og_dy(c, 0), keep = -1;
        if (lo >= 0)
            keep = og_op2(c, "GreaterOrEqual", x, lo);
        if (hi >= 0) {
            int k2 = og_op2(c, "LessOrEqual", x, hi);
            keep = keep >= 0 ? og_op2(c, "And", keep, k2) : k2;
        }
        og_set(c, 0, keep >= 0 ? mask(c, keep, dy) : dy, y);
        return true;
    }
    case OP_WHERE: {
        int dy = og_dy(c, 0), zero = num(c, 0);
        if (c->want[1]) {
            int ins[3] = {x, dy, zero};
            og_set(c, 1, og_op(c, "Where", ins, 3), y);
        }
        if (c->want[2]) {
            int ins[3] = {x, zero, dy};
            og_set(c, 2, og_op(c, "Where", ins, 3), y);
        }
        return true;
    }
    case OP_CAST:
    case OP_CAST_LIKE:
        if (!ir_dtype_is_float(ir_val(c->g, y)->dtype))
            return true; /* through an integer: no gradient */
        og_set(c, 0, og_op2(c, "CastLike", og_dy(c, 0), x), y);
        return true;
    case OP_FLOOR:
    case OP_CEIL:
    case OP_ROUND:
    case OP_SIGN: return true; /* flat wherever it is differentiable: zero, as in PyTorch */
    case OP_DROPOUT: /* at inference, the identity */ og_set(c, 0, og_dy(c, 0), y); return true;
    case OP_SUM:
    case OP_MEAN: {
        int dy = og_dy(c, 0);
        if (n->op == OP_MEAN)
            dy = mul(c, dy, num(c, 1.0 / (double)n->n_inputs));
        for (size_t i = 0; i < n->n_inputs; i++)
            og_set(c, i, dy, y);
        return true;
    }
    case OP_MAX:
    case OP_MIN: { /* to the winner; a tie goes to the first operand */
        if (n->n_inputs != 2)
            return og_none(c, "only the two-operand form has a gradient rule");
        int dy = og_dy(c, 0), b = og_x(c, 1);
        int first = og_op2(c, n->op == OP_MAX ? "GreaterOrEqual" : "LessOrEqual", x, b);
        og_set(c, 0, mask(c, first, dy), y);
        if (c->want[1])
            og_set(c, 1, mask(c, og_op1(c, "Not", first), dy), y);
        return true;
    }
    default: break;
    }
    if (n->n_inputs != 1)
        return og_none(c, "the op has no gradient rule");
    int slope = unary_slope(c, n, x, y);
    if (slope < 0)
        return og_none(c, "the op has no gradient rule");
    og_set(c, 0, mul(c, og_dy(c, 0), slope), y);
    return true;
}
